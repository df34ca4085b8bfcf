using System.Data.Common;
using DuckDB.NET.Data;

namespace PcapDht.Store;

/// <summary>
/// Opens (or creates) a PcapDht DuckDB file, applies the schema and repairs what an interrupted
/// writer left behind. DuckDB lets one process open a file for writing, so a <c>running</c> capture
/// found at open time belongs to a process that died: it is marked failed (file ingest commits a
/// capture's rows only together with its final status, so such a capture has no rows) or partial
/// (live capture commits periodically, so its committed rows stay).
/// </summary>
public sealed class PcapDhtDatabase : IDisposable
{
    private readonly object _captureRows = new();

    private PcapDhtDatabase(string path, DuckDBConnection connection)
    {
        Path = path;
        Connection = connection;
    }

    public string Path { get; }

    /// <summary>The connection used for bookkeeping and queries. Writers get their own via <see cref="OpenConnection"/>.</summary>
    public DuckDBConnection Connection { get; }

    /// <summary>Number of captures found <c>running</c> at open time and marked failed/partial.</summary>
    public int RecoveredCaptures { get; private set; }

    public static PcapDhtDatabase Open(string path)
    {
        DuckDBConnection? connection = null;
        try
        {
            string full = path == ":memory:" ? path : System.IO.Path.GetFullPath(path);
            if (full != ":memory:")
            {
                string? dir = System.IO.Path.GetDirectoryName(full);
                if (dir != null && !Directory.Exists(dir))
                    throw new StoreException($"cannot create database {path}: directory {dir} does not exist");
            }
            connection = new DuckDBConnection($"DataSource={full}");
            connection.Open();
            var db = new PcapDhtDatabase(path, connection);
            db.ApplySchema();
            return db;
        }
        catch (Exception ex) when (ex is not StoreException)
        {
            connection?.Dispose();
            throw Translate(ex, $"cannot open database {path}");
        }
        catch
        {
            connection?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Caps DuckDB's buffer memory for this process (DuckDB's default is 80% of RAM, and a long
    /// ingest then keeps every written block cached: RSS grew with capture size, 1.1 GB for 2 M
    /// messages; with 512 MB it stays flat and DuckDB evicts or spills instead).
    /// </summary>
    public void SetMemoryLimit(string limit) => Execute($"SET memory_limit = '{limit.Replace("'", "")}'");

    /// <summary>A second connection to the same database (for a writer on another thread).</summary>
    public DuckDBConnection OpenConnection()
    {
        // DuckDB.NET shares one database instance per file among the process's connections.
        var c = new DuckDBConnection(Connection.ConnectionString);
        c.Open();
        return c;
    }

    private void ApplySchema()
    {
        Execute(StoreSchema.Tables);
        using (var cmd = Connection.CreateCommand())
        {
            cmd.CommandText = "SELECT value FROM pcapdht.meta WHERE key = 'schema_version'";
            var v = cmd.ExecuteScalar();
            if (v is string s && int.TryParse(s, out int version) && version > StoreSchema.Version)
                throw new StoreException($"database {Path} was written by a newer pcapdht (schema {version} > {StoreSchema.Version}); upgrade pcapdht");
        }
        Execute($"INSERT OR REPLACE INTO pcapdht.meta VALUES ('schema_version', '{StoreSchema.Version}')");
        Execute(StoreSchema.ClientMacro);
        Execute(StoreSchema.Views);
        using var recover = Connection.CreateCommand();
        recover.CommandText = """
            UPDATE pcapdht.capture SET
                status = CASE kind WHEN 'live' THEN 'partial' ELSE 'failed' END,
                error = coalesce(error, 'interrupted: the writing process ended before this capture was committed'),
                ingested_at = coalesce(ingested_at, now())
            WHERE status = 'running'
            """;
        RecoveredCaptures = recover.ExecuteNonQuery();
    }

    internal void Execute(string sql)
    {
        using var cmd = Connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>The complete (or partial) capture already stored for this file content, if any.</summary>
    public StoredCapture? FindBySha256(string sha256)
    {
        lock (_captureRows)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = """
                SELECT capture_id, status, source, krpc_messages FROM pcapdht.capture
                WHERE sha256 = $sha AND status IN ('complete', 'partial') ORDER BY capture_id DESC LIMIT 1
                """;
            cmd.Parameters.Add(new DuckDBParameter("sha", sha256));
            using var r = cmd.ExecuteReader();
            if (!r.Read()) return null;
            return new StoredCapture(r.GetInt32(0), r.GetString(1), r.GetString(2), r.GetInt64(3));
        }
    }

    /// <summary>Inserts and commits the <c>running</c> row so other readers see the capture in progress.</summary>
    internal int InsertRunningCapture(string source, string kind, string? sha256, long? fileSize)
    {
        lock (_captureRows)
        {
            try
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = """
                    INSERT INTO pcapdht.capture (capture_id, source, kind, sha256, file_size, status, started_at, tool_version)
                    VALUES (nextval('pcapdht.capture_ids'), $source, $kind, $sha, $size, 'running', now(), $tool)
                    RETURNING capture_id
                    """;
                cmd.Parameters.Add(new DuckDBParameter("source", source));
                cmd.Parameters.Add(new DuckDBParameter("kind", kind));
                cmd.Parameters.Add(new DuckDBParameter("sha", (object?)sha256 ?? DBNull.Value));
                cmd.Parameters.Add(new DuckDBParameter("size", (object?)fileSize ?? DBNull.Value));
                cmd.Parameters.Add(new DuckDBParameter("tool", typeof(PcapDhtDatabase).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"));
                return Convert.ToInt32(cmd.ExecuteScalar());
            }
            catch (Exception ex) when (ex is not StoreException)
            {
                throw Translate(ex, $"cannot record capture {source}");
            }
        }
    }

    /// <summary>Marks a capture failed outside its (rolled back) data transaction; best effort when the disk is full.</summary>
    internal void MarkFailed(int captureId, string error)
    {
        lock (_captureRows)
        {
            try
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = "UPDATE pcapdht.capture SET status = 'failed', error = $error, ingested_at = now() WHERE capture_id = $id";
                cmd.Parameters.Add(new DuckDBParameter("error", error));
                cmd.Parameters.Add(new DuckDBParameter("id", captureId));
                cmd.ExecuteNonQuery();
            }
            catch (DbException)
            {
                // The next open turns the row into 'failed' anyway (it is still 'running').
            }
        }
    }

    /// <summary>Removes a capture row that never got rows (e.g. a duplicate found only after reading stdin).</summary>
    internal void DeleteCapture(int captureId)
    {
        lock (_captureRows)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "DELETE FROM pcapdht.capture WHERE capture_id = $id";
            cmd.Parameters.Add(new DuckDBParameter("id", captureId));
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Turns a DuckDB/IO exception into a one-line <see cref="StoreException"/>.</summary>
    public static StoreException Translate(Exception ex, string what)
    {
        if (ex is DatabaseLockedException or DiskFullException) return (StoreException)ex;
        string msg = FirstLine(ex.Message);
        if (msg.Contains("Could not set lock", StringComparison.OrdinalIgnoreCase) || msg.Contains("Conflicting lock", StringComparison.OrdinalIgnoreCase))
        {
            string pid = "";
            int i = msg.IndexOf("PID ", StringComparison.Ordinal);
            if (i >= 0)
            {
                int j = i + 4;
                while (j < msg.Length && char.IsDigit(msg[j])) j++;
                pid = $" (PID {msg[(i + 4)..j]})";
            }
            return new DatabaseLockedException($"{what}: the database is locked by another process{pid}; wait for it to finish or use another --db", ex);
        }
        if (msg.Contains("No space left", StringComparison.OrdinalIgnoreCase) || msg.Contains("disk is full", StringComparison.OrdinalIgnoreCase)
            || (ex is IOException io && (io.HResult & 0xFFFF) == 28))
            return new DiskFullException($"{what}: no space left on the device holding the database; free space or use another --db (the database was left as it was before this capture)", ex);
        if (ex is StoreException se) return se;
        return new StoreException($"{what}: {msg}", ex);
    }

    internal static string FirstLine(string s)
    {
        s = s.Trim();
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }

    public void Dispose() => Connection.Dispose();
}

public sealed record StoredCapture(int CaptureId, string Status, string Source, long KrpcMessages);
