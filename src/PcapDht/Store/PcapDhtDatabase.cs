using System.Data.Common;
using DuckDB.NET.Data;

namespace PcapDht.Store;

/// <summary>
/// Opens (or creates) a PcapDht DuckDB file, applies the schema and repairs what an interrupted
/// writer left behind. DuckDB lets one process open a file for writing, so a <c>running</c> capture
/// found at open time belongs to a process that died: it is marked failed (file ingest commits a
/// capture's rows only together with its final status, so such a capture has no rows) or interrupted
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

    /// <summary>Number of captures found <c>running</c> at open time and marked failed/interrupted.</summary>
    public int RecoveredCaptures { get; private set; }

    /// <summary>
    /// How long <see cref="Open(string)"/> retries while another process holds the file. A running
    /// <c>sniff</c> holds it only for the second or so of each flush, so readers wait that out.
    /// </summary>
    public static TimeSpan LockWait { get; set; } = TimeSpan.FromSeconds(15);

    public static PcapDhtDatabase Open(string path) => Open(path, LockWait);

    public static PcapDhtDatabase Open(string path, TimeSpan lockWait) => Open(path, lockWait, viewsInBackground: false);

    /// <param name="viewsInBackground">
    /// Create (or update) the views on a second connection while the caller goes on, for <c>ingest</c>: on a
    /// fresh file binding them takes ~0.15 s, which otherwise delays the first frame (3 % of a 2M-packet
    /// ingest). They only read the tables, so appends do not wait for them; <see cref="WaitForViews"/> (or
    /// <see cref="Dispose"/>) waits for them.
    /// </param>
    public static PcapDhtDatabase Open(string path, TimeSpan lockWait, bool viewsInBackground) =>
        RetryLocked(() => OpenOnce(path, viewsInBackground), path, lockWait);

    /// <summary>
    /// The connection a reading verb (<c>report</c>, <c>query</c>, <c>asn</c>) uses: the same lock wait, schema
    /// check and crash repair as <see cref="Open(string)"/>, without creating the store's tables. A read-only
    /// open still marks captures of dead sniffers <c>interrupted</c>, through a short read-write open and only
    /// when there is something to repair.
    /// </summary>
    /// <param name="create">Create the file if it is missing (otherwise a missing file is a one-line error).</param>
    /// <param name="anySchema">
    /// Also open a file whose store another pcapdht version wrote (<c>query</c>: raw SQL still reads it), without
    /// repairing it; otherwise such a file is refused with a one-line reason, as ingest refuses it.
    /// </param>
    /// <exception cref="StoreException">missing file, another schema, locked past <see cref="LockWait"/>, unreadable.</exception>
    /// <param name="exactLength">
    /// Check the file's length against every block in use (<see cref="StoreCheck.VerifyLength"/>; seconds on a large
    /// store); default: when opened for writing. A report opens for writing only to create its views.
    /// </param>
    public static DuckDBConnection OpenConnection(string path, bool readOnly, bool create = false, bool anySchema = false, bool? exactLength = null)
    {
        if (!create && !File.Exists(path))
            throw new NoDatabaseException($"no database at '{path}' (create one with pcapdht ingest or pcapdht asn import, or pass --db FILE)");
        var connection = OpenPlain(path, readOnly);
        try
        {
            // A file cut short opens and answers from its metadata (count(*)); refuse it as every writing verb does.
            StoreCheck.VerifyLength(connection, path, exact: exactLength ?? !readOnly);
            if (SchemaMismatch(connection, path) is { } mismatch)
            {
                // The repair below and the reports speak this build's schema only.
                if (anySchema) return connection;
                throw new StoreException(mismatch);
            }
            if (StoredVersion(connection) < StoreSchema.Version)
            {
                // An older store this build upgrades (the reports read its rollups): one full open does it, then read on.
                connection.Dispose();
                using (Open(path)) { }
                connection = OpenPlain(path, readOnly);
            }
            return RecoverForReader(path, connection, readOnly);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A DuckDB connection to the file and nothing more (no schema, no repair: <c>pcapdht check</c> changes nothing),
    /// retried while another process holds the file like every open.
    /// </summary>
    internal static DuckDBConnection OpenPlain(string path, bool readOnly, TimeSpan? lockWait = null) =>
        RetryLocked(() =>
        {
            var c = new DuckDBConnection($"Data Source={path}{(readOnly ? ";ACCESS_MODE=READ_ONLY" : "")}");
            try
            {
                c.Open();
                return c;
            }
            catch
            {
                c.Dispose();
                throw;
            }
        }, path, lockWait);

    /// <summary>
    /// Runs an open, retrying while another process holds the file (a running <c>sniff</c> holds it only while
    /// it flushes) or the open raced that process closing it, for up to <see cref="LockWait"/>.
    /// </summary>
    private static T RetryLocked<T>(Func<T> open, string path, TimeSpan? lockWait = null)
    {
        var deadline = DateTime.UtcNow + (lockWait ?? LockWait);
        while (true)
        {
            try
            {
                return open();
            }
            catch (Exception ex)
            {
                var se = ex as StoreException ?? Translate(ex, $"cannot open database {path}");
                if ((se is DatabaseLockedException || IsOpenRace(se.Message)) && DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(100);
                    continue;
                }
                throw se;
            }
        }
    }

    private static DuckDBConnection RecoverForReader(string path, DuckDBConnection connection, bool readOnly)
    {
        try
        {
            if (!readOnly)
            {
                RecoverInterruptedCaptures(connection);
                return connection;
            }
            if (FindInterruptedCaptures(connection).Count == 0) return connection;
            connection.Dispose();
            using (var rw = new DuckDBConnection($"Data Source={path}"))
            {
                rw.Open();
                RecoverInterruptedCaptures(rw);
            }
            connection = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
            connection.Open();
            return connection;
        }
        catch (DbException)
        {
            // No capture table (an ASN-only database), or the repair could not get the file: show it as it is.
            if (connection.State != System.Data.ConnectionState.Open) connection.Open();
            return connection;
        }
    }

    /// <summary>
    /// An open that raced another process closing the file: DuckDB saw that process's WAL and, by the time it
    /// opened it, the close had checkpointed and deleted it. Transient like a lock (a sniffer closes the
    /// file after every flush); seen as "Cannot open file ".../x.duckdb.wal": No such file or directory".
    /// </summary>
    public static bool IsOpenRace(string message) => message.Contains(".wal\": No such file or directory", StringComparison.Ordinal);

    private static PcapDhtDatabase OpenOnce(string path, bool viewsInBackground)
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
            db.ApplySchema(viewsInBackground);
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
    /// messages; with a cap it stays flat and DuckDB evicts or spills instead).
    /// </summary>
    public void SetMemoryLimit(string limit)
    {
        StoreCheck.SetMemoryLimit(Connection, limit);
        MemoryLimit = limit;
    }

    /// <summary>
    /// DuckDB's memory limit for the statements that run beside or after the appends: the address index's refresh
    /// (a rebuild over 131 M rollup rows: 66 s at 2.4 GB resident, 48 s at 9.2 GB without it), a prune (30 days of the big
    /// store: 131 s at 2.9 GB, 177 s at 20.9 GB with DuckDB's default), check and compact (20.7 GB of 23 GB without it).
    /// DuckDB's default is 80 % of the machine's memory; the ingest's 128 MB per file is for its appends and too little.
    /// </summary>
    public const string MaintenanceMemoryLimit = "2GB";

    /// <summary>
    /// The limit <see cref="SetMemoryLimit"/> set, as given (null: DuckDB's default). Statements that raise the limit for a
    /// while put this back: DuckDB shows a limit rounded down to 0.1 MiB, and setting what it shows lowers it a little
    /// every time (a stream's prune after each commit would have shrunk the ingest's limit commit by commit).
    /// </summary>
    public string? MemoryLimit { get; private set; }

    /// <summary>
    /// DuckDB memory for an ingest of <paramref name="concurrentFiles"/> files at once: 128 MB each. Each
    /// file's writer holds one row group per table in flight; the rest of the buffer pool only caches
    /// blocks already written. Measured on 4 M packets: 128 MB took 15.3 CPU-s and 380 MB peak RSS,
    /// 512 MB 16.3 CPU-s and 690 MB (first-touch page faults of a pool that is never reused), 64 MB
    /// 18.3 CPU-s (DuckDB evicts and re-reads its own blocks).
    /// </summary>
    public static string IngestMemoryLimit(int concurrentFiles) => $"{128 * Math.Max(1, concurrentFiles)}MB";

    /// <summary>A second connection to the same database (for a writer on another thread).</summary>
    public DuckDBConnection OpenConnection()
    {
        // DuckDB.NET shares one database instance per file among the process's connections.
        var c = new DuckDBConnection(Connection.ConnectionString);
        c.Open();
        return c;
    }

    /// <summary>
    /// Connection for a <see cref="CaptureWriter"/>. The database instance runs DuckDB's work on one thread:
    /// our writer thread drives the appends and, with a second DuckDB worker, both threads spun on the
    /// task queue (measured on the 2M-packet ingest: 12.2 -> 9.9 CPU-seconds, 20% less, and faster wall
    /// time on 2 cores). Several files ingested in parallel still run in parallel, one writer thread each.
    /// Row groups are compressed and written one at a time as they fill (DuckDB's default buffers 5): a
    /// 5-group flush held the writer for ~0.5 s while the decoder, its queue full, stood still.
    /// Every compression method is tried, bitpacking included. Until the node lists' contacts moved into node_dim
    /// (schema 4) the writers turned bitpacking off: its analysis ran on every column of every row group and was
    /// the write path's largest cost, spent on the node rows' ids and addresses it cannot pack (8% of the ingest's
    /// CPU). With node_dim it costs 4% of the CPU of the 2M-packet ingest (5 alternating runs) and takes the file
    /// from 280 to 201 MiB: sorted and small columns (frame_no, ts, the node rows' keys, counts, flags) pack to a
    /// few bits (docs/benchmarks.md, "Node dimension").
    /// </summary>
    internal DuckDBConnection OpenWriterConnection()
    {
        var c = OpenConnection();
        try
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SET threads = 1; SET write_buffer_row_group_count = 1";
            cmd.ExecuteNonQuery();
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    private void ApplySchema(bool viewsInBackground)
    {
        // The version is read before any table is created: an older layout must not get half of a new one.
        Execute("CREATE SCHEMA IF NOT EXISTS pcapdht_store; CREATE TABLE IF NOT EXISTS pcapdht_store.meta (key VARCHAR PRIMARY KEY, value VARCHAR);");
        if (SchemaMismatch(Connection, Path) is { } mismatch) throw new StoreException(mismatch);
        if (StoredVersion(Connection) is int stored && stored < StoreSchema.Version) Upgrade(stored);
        // One transaction, not one per statement: each statement alone commits and syncs the WAL (~60 of them on
        // every open, ~0.3 s of a small file's ingest).
        Execute("BEGIN TRANSACTION");
        try
        {
            Execute(StoreSchema.Tables);
            Execute($"INSERT OR REPLACE INTO pcapdht_store.meta VALUES ('schema_version', '{StoreSchema.Version}')");
            Execute("COMMIT");
        }
        catch
        {
            try { Execute("ROLLBACK"); } catch (DuckDBException) { }
            throw;
        }
        // Re-creating the views costs seconds (measured 3.3 s of a 3.5 s open on a loaded 2-core machine) and
        // sniff opens the file at every flush: skip it when the stored views are exactly these.
        string viewsHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(StoreSchema.ClientMacro + StoreSchema.Views)));
        using (var cmd = Connection.CreateCommand())
        {
            cmd.CommandText = "SELECT value FROM pcapdht_store.meta WHERE key = 'views_sha256'";
            if (cmd.ExecuteScalar() as string != viewsHash)
            {
                if (viewsInBackground)
                {
                    var connection = OpenConnection();
                    _views = Task.Factory.StartNew(() =>
                    {
                        using (connection) CreateViews(connection, viewsHash);
                    }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                }
                else CreateViews(Connection, viewsHash);
            }
        }
        RecoveredCaptures = Recover();
    }

    private Task? _views;

    /// <summary>
    /// Upgrades a file of an older schema (<see cref="StoreSchema.UpgradableFrom"/> or later) in one transaction: the new
    /// tables; from schema 3 or older, the node lists' contacts moved into node_dim; from schema 4 or older, the messages'
    /// endpoints moved into endpoint_dim; from schema 2, the daily rollups of
    /// every capture computed from its detail rows (one capture at a time, so memory stays that of one capture); the new
    /// version. A failure (disk full, Ctrl-C) leaves the file as it was.
    /// </summary>
    private void Upgrade(int from)
    {
        try
        {
            Execute("BEGIN");
            if (from < 4) Execute("ALTER TABLE pcapdht_store.node RENAME TO node_v3; ALTER TABLE pcapdht_store.node6 RENAME TO node6_v3;");
            if (from < 5) Execute("ALTER TABLE pcapdht_store.msg RENAME TO msg_v4;");
            Execute(StoreSchema.Tables);
            var ids = new List<int>();
            using (var cmd = Connection.CreateCommand())
            {
                cmd.CommandText = "SELECT capture_id FROM pcapdht_store.capture ORDER BY capture_id";
                using var r = cmd.ExecuteReader();
                while (r.Read()) ids.Add(r.GetInt32(0));
            }
            if (from < 4)
            {
                foreach (int id in ids) Execute(StoreSchema.ContactsFromV3(id));
                RequireSameRows("pcapdht_store.node_v3", "pcapdht_store.node");
                RequireSameRows("pcapdht_store.node6_v3", "pcapdht_store.node6");
                Execute("DROP TABLE pcapdht_store.node_v3; DROP TABLE pcapdht_store.node6_v3;");
            }
            if (from < 5)
            {
                foreach (int id in ids) Execute(StoreSchema.EndpointsFromV4(id));
                RequireSameRows("pcapdht_store.msg_v4", "pcapdht_store.msg");
                Execute("DROP TABLE pcapdht_store.msg_v4;");
            }
            if (from < 3)
                foreach (int id in ids) RollupSchema.InsertAllFromCommit(Connection, RollupSchema.CaptureFrames(id, long.MinValue));
            Execute($"INSERT OR REPLACE INTO pcapdht_store.meta VALUES ('schema_version', '{StoreSchema.Version}')");
            Execute("COMMIT");
        }
        catch (Exception ex)
        {
            try { Execute("ROLLBACK"); } catch (DbException) { /* the transaction is gone with the error */ }
            throw Translate(ex, $"cannot upgrade {Path} from store schema {from} to {StoreSchema.Version} (the file is unchanged)");
        }
    }

    /// <summary>
    /// Before an upgrade drops an old table: the new one must hold as many rows (the rewrite joins each old row to its
    /// dimension row; a row that matched none would be lost). Throws, and the upgrade's transaction rolls back.
    /// </summary>
    private void RequireSameRows(string old, string rewritten)
    {
        long before = StoreCheck.Scalar<long>(Connection, $"SELECT count(*) FROM {old}"), after = StoreCheck.Scalar<long>(Connection, $"SELECT count(*) FROM {rewritten}");
        if (before != after)
            throw new InvalidOperationException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"the rewrite kept {after:N0} of the {before:N0} rows of {old} (a row matched no dimension row)"));
    }

    /// <summary>The schema version the file's store records; null when it has no store yet.</summary>
    internal static int? StoredVersion(DuckDBConnection connection)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'pcapdht_store' AND table_name = 'meta'";
        if (Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 0) return null;
        cmd.CommandText = "SELECT value FROM pcapdht_store.meta WHERE key = 'schema_version'";
        return cmd.ExecuteScalar() is string s && int.TryParse(s, out int version) ? version : null;
    }

    private static void CreateViews(DuckDBConnection connection, string viewsHash)
    {
        foreach (var sql in new[] { StoreSchema.ClientMacro, StoreSchema.Views, $"INSERT OR REPLACE INTO pcapdht_store.meta VALUES ('views_sha256', '{viewsHash}')" })
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Waits for views being created in the background (see <see cref="Open(string, TimeSpan, bool)"/>).</summary>
    /// <exception cref="StoreException">they could not be created (the next open tries again).</exception>
    public void WaitForViews()
    {
        var views = _views;
        if (views == null) return;
        _views = null;
        try
        {
            views.GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is not StoreException)
        {
            throw Translate(ex, $"creating the views in {Path} failed (the next open tries again)");
        }
    }

    /// <summary>
    /// Null when the file has no store yet or holds this build's schema; otherwise the one-line reason this
    /// build cannot use it (an older or newer store schema).
    /// </summary>
    public static string? SchemaMismatch(DuckDBConnection connection, string path)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'pcapdht_store' AND table_name = 'meta'";
        if (Convert.ToInt64(cmd.ExecuteScalar()) == 0) return null;
        cmd.CommandText = "SELECT value FROM pcapdht_store.meta WHERE key = 'schema_version'";
        if (cmd.ExecuteScalar() is not string s || !int.TryParse(s, out int version)
            || version is >= StoreSchema.UpgradableFrom and <= StoreSchema.Version) return null;
        return version > StoreSchema.Version
            ? $"database {path} was written by a newer pcapdht (schema {version} > {StoreSchema.Version}); upgrade pcapdht"
            : $"database {path} holds store schema {version}, this pcapdht writes schema {StoreSchema.Version}: ingest into a new database file (or query it with the pcapdht that wrote it)";
    }

    /// <summary>
    /// A <c>running</c> file capture always belongs to a dead process (ingest holds the file until it commits).
    /// A <c>running</c> live capture may belong to a sniffer that is alive and merely between two flushes
    /// (it closes the file so readers can open it); only one whose process is gone becomes <c>interrupted</c>,
    /// keeping the rows it committed.
    /// </summary>
    private int Recover() => RecoverInterruptedCaptures(Connection);

    /// <summary>The <c>running</c> captures on this connection's database whose writing process is gone.</summary>
    public static List<int> FindInterruptedCaptures(DuckDBConnection connection)
    {
        var dead = new List<int>();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT capture_id, kind, pid, host FROM pcapdht_store.capture WHERE status = 'running'";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            bool live = r.GetString(1) == "live";
            int? pid = r.IsDBNull(2) ? null : r.GetInt32(2);
            string? host = r.IsDBNull(3) ? null : r.GetString(3);
            if (!(live && pid is int p && host == Environment.MachineName && LiveWriterAlive(p))) dead.Add(r.GetInt32(0));
        }
        return dead;
    }

    /// <summary>Marks what <see cref="FindInterruptedCaptures"/> finds: live or stream → <c>interrupted</c> (its committed rows stay), file → <c>failed</c>.</summary>
    public static int RecoverInterruptedCaptures(DuckDBConnection connection)
    {
        var dead = FindInterruptedCaptures(connection);
        foreach (int id in dead)
        {
            using var cmd = connection.CreateCommand();
            // A file capture is written in transactions that commit at its end (its sightings may have
            // committed just before a crash): none of its rows may stay. A live capture or a stream keeps what it committed.
            cmd.CommandText = "BEGIN; " + DeleteRowsSql("(SELECT capture_id FROM pcapdht_store.capture WHERE capture_id = $id AND kind = 'file' AND status = 'running')") + """
                UPDATE pcapdht_store.capture SET
                    status = CASE WHEN kind IN ('live', 'stream') THEN 'interrupted' ELSE 'failed' END,
                    error = coalesce(error, $message),
                    ingested_at = coalesce(ingested_at, now())
                WHERE capture_id = $id AND status = 'running';
                COMMIT;
                """;
            cmd.Parameters.Add(new DuckDBParameter("id", id));
            cmd.Parameters.Add(new DuckDBParameter("message", InterruptedMessage));
            cmd.ExecuteNonQuery();
        }
        return dead.Count;
    }

    /// <summary>
    /// The error of a capture whose writer died (kill -9, power loss, OOM). Its uncommitted rows leave free space in
    /// the file that DuckDB reuses but never gives back: the message says how to get it back.
    /// </summary>
    public const string InterruptedMessage =
        "interrupted: the writing process ended before this capture was completed; pcapdht check --compact gives back the disk space it used";

    /// <summary>Whether the pid runs pcapdht (a reused pid of another program does not count).</summary>
    private static bool LiveWriterAlive(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline");
            return cmdline.Contains("pcapdht", StringComparison.OrdinalIgnoreCase);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return true; }
    }

    /// <summary>Live capture: records the sniffing process (for <see cref="Recover"/>) on the capture row.</summary>
    public void SetLiveProcess(int captureId, int pid, string host)
    {
        lock (_captureRows)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "UPDATE pcapdht_store.capture SET pid = $pid, host = $host WHERE capture_id = $id";
            cmd.Parameters.Add(new DuckDBParameter("pid", pid));
            cmd.Parameters.Add(new DuckDBParameter("host", host));
            cmd.Parameters.Add(new DuckDBParameter("id", captureId));
            cmd.ExecuteNonQuery();
        }
    }

    internal void Execute(string sql)
    {
        using var cmd = Connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// What identifies the complete (or partial) captures already stored, read once per <c>ingest</c> run:
    /// their content hashes (the newest capture per hash) and their file sizes (a file of such a size is
    /// hashed before it is read, so a copy already stored is skipped without decoding it).
    /// </summary>
    public StoredCaptures StoredCaptures()
    {
        lock (_captureRows)
        {
            try
            {
                using var cmd = Connection.CreateCommand();
                cmd.CommandText = """
                    SELECT capture_id, sha256, file_size FROM pcapdht_store.capture
                    WHERE status IN ('complete', 'partial') ORDER BY capture_id
                    """;
                using var r = cmd.ExecuteReader();
                var stored = new StoredCaptures();
                while (r.Read())
                {
                    if (!r.IsDBNull(1)) stored.ByHash[r.GetString(1)] = r.GetInt32(0);
                    if (!r.IsDBNull(2)) stored.Sizes.Add(r.GetInt64(2));
                }
                return stored;
            }
            catch (DbException ex)
            {
                throw Translate(ex, $"cannot read {Path}");
            }
        }
    }

    /// <summary>
    /// Inserts and commits <c>running</c> rows for the captures (one commit for all), so readers see them in
    /// progress and a crash leaves a row the next open repairs. Returns their ids in order.
    /// </summary>
    internal int[] InsertRunningCaptures(IReadOnlyList<CaptureSource> sources)
    {
        lock (_captureRows)
        {
            var ids = new int[sources.Count];
            bool began = false;
            try
            {
                if (sources.Count > 1) { Execute("BEGIN"); began = true; }
                // One statement for the ids and one for all rows (a batch registers up to 256 files): a statement
                // per file cost ~9 ms each (100-file benchmark, loaded machine).
                using (var next = Connection.CreateCommand())
                {
                    next.CommandText = $"SELECT nextval('pcapdht_store.capture_ids') FROM range({sources.Count}) ORDER BY 1";
                    using var r = next.ExecuteReader();
                    for (int i = 0; i < sources.Count && r.Read(); i++) ids[i] = Convert.ToInt32(r.GetValue(0), System.Globalization.CultureInfo.InvariantCulture);
                }
                using var cmd = Connection.CreateCommand();
                var sql = new System.Text.StringBuilder("INSERT INTO pcapdht_store.capture (capture_id, source, kind, sha256, file_size, status, started_at, tool_version) VALUES ");
                cmd.Parameters.Add(new DuckDBParameter("tool", typeof(PcapDhtDatabase).Assembly.GetName().Version?.ToString(3) ?? "0.0.0"));
                for (int i = 0; i < sources.Count; i++)
                {
                    var source = sources[i];
                    string n = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    sql.Append(i == 0 ? "" : ", ").Append($"($id{n}, $source{n}, $kind{n}, $sha{n}::VARCHAR, $size{n}::BIGINT, 'running', now(), $tool)");
                    cmd.Parameters.Add(new DuckDBParameter("id" + n, ids[i]));
                    cmd.Parameters.Add(new DuckDBParameter("source" + n, source.Source));
                    cmd.Parameters.Add(new DuckDBParameter("kind" + n, source.Kind switch { CaptureKind.Live => "live", CaptureKind.Stream => "stream", _ => "file" }));
                    cmd.Parameters.Add(new DuckDBParameter("sha" + n, (object?)source.Sha256 ?? DBNull.Value));
                    cmd.Parameters.Add(new DuckDBParameter("size" + n, (object?)source.FileSize ?? DBNull.Value));
                }
                cmd.CommandText = sql.ToString();
                cmd.ExecuteNonQuery();
                if (began) Execute("COMMIT");
                return ids;
            }
            catch (Exception ex) when (ex is not StoreException)
            {
                if (began) try { Execute("ROLLBACK"); } catch (DbException) { /* the transaction is gone with the error */ }
                throw Translate(ex, $"cannot record capture {sources[0].Source}");
            }
        }
    }

    /// <summary>Marks a capture failed outside its (rolled back) data transaction; best effort when the disk is full.</summary>
    /// <summary>
    /// Marks a capture whose transaction was rolled back: <c>failed</c>, or <c>interrupted</c> when the user stopped
    /// it (Ctrl-C, SIGTERM). Either way none of its rows are stored, and reports do not count it (docs/schema.md).
    /// </summary>
    internal void MarkAborted(int captureId, string status, string error, bool deleteRows = false)
    {
        lock (_captureRows)
        {
            try
            {
                using var cmd = Connection.CreateCommand();
                // deleteRows: part of the capture was committed (its sightings) before the rest failed.
                cmd.CommandText = (deleteRows ? "BEGIN; " + DeleteRowsSql("$id") : "")
                    + "UPDATE pcapdht_store.capture SET status = $status, error = $error, ingested_at = now() WHERE capture_id = $id"
                    + (deleteRows ? "; COMMIT" : "");
                cmd.Parameters.Add(new DuckDBParameter("status", status));
                cmd.Parameters.Add(new DuckDBParameter("error", error));
                cmd.Parameters.Add(new DuckDBParameter("id", captureId));
                cmd.ExecuteNonQuery();
            }
            catch (DbException)
            {
                // The next open settles the row anyway (it is still 'running').
            }
        }
    }

    /// <summary>Deletes every detail and rollup row of a capture (not its capture row); <paramref name="id"/> is SQL.</summary>
    internal static string DeleteRowsSql(string id)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var t in StoreSchema.CaptureTables) sb.Append($"DELETE FROM pcapdht_store.{t} WHERE capture_id = {id}; ");
        return sb.ToString();
    }

    /// <summary>Removes a capture row that never got rows (e.g. a duplicate found only after reading stdin).</summary>
    internal void DeleteCapture(int captureId)
    {
        lock (_captureRows)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "DELETE FROM pcapdht_store.capture WHERE capture_id = $id";
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
        if (IsCorruption(ex.Message))
            return new CorruptDatabaseException($"{what}: the database file is damaged ({msg}); {CorruptionAdvice}", ex);
        if (ex is StoreException se) return se;
        return new StoreException($"{what}: {msg}", ex);
    }

    /// <summary>What to do about a damaged file, in the one-line message of every verb that meets one.</summary>
    public const string CorruptionAdvice =
        "restore it from a backup, or copy out what still reads (pcapdht query --allow-files \"COPY messages TO 'messages.parquet'\"); pcapdht check shows what is damaged";

    /// <summary>
    /// DuckDB's words for a damaged file: a block whose checksum does not match, a file shorter than its blocks,
    /// metadata that does not deserialize, a file that is not DuckDB's, or an instance invalidated by one of these.
    /// </summary>
    public static bool IsCorruption(string message) =>
        message.Contains("Corrupt database file", StringComparison.OrdinalIgnoreCase)
        || message.Contains("does not match stored checksum", StringComparison.OrdinalIgnoreCase)
        || message.Contains("Could not read enough bytes from file", StringComparison.OrdinalIgnoreCase)
        || message.Contains("is not a valid DuckDB database file", StringComparison.OrdinalIgnoreCase)
        || message.Contains("Failed to deserialize", StringComparison.OrdinalIgnoreCase)
        || message.Contains("Serialization Error", StringComparison.OrdinalIgnoreCase)
        || (message.Contains("invalidated", StringComparison.OrdinalIgnoreCase) && message.Contains("fatal", StringComparison.OrdinalIgnoreCase));

    internal static string FirstLine(string s)
    {
        s = s.Trim();
        int nl = s.IndexOfAny(['\r', '\n']);
        return nl < 0 ? s : s[..nl];
    }

    private WriteBehind? _writeBehind;

    /// <summary>
    /// Starts writing the file back in the background while it is written (see <see cref="WriteBehind"/>); once
    /// per database, stopped by <see cref="Dispose"/>. Its descriptor is closed only after DuckDB has closed the
    /// file: POSIX drops all of a process's record locks on a file when any descriptor of it is closed, and
    /// DuckDB's lock (fcntl) is what keeps other processes from reading the file while it is being written.
    /// </summary>
    internal void StartWriteBehind()
    {
        lock (_captureRows) _writeBehind ??= WriteBehind.Open(Path);
    }

    public void Dispose()
    {
        try { WaitForViews(); }
        catch (StoreException) { /* reported by callers that wait; the next open creates them */ }
        Connection.Dispose();
        // After the last connection: DuckDB has checkpointed and closed the file, its lock is gone anyway.
        _writeBehind?.Dispose();
    }
}

/// <summary>The stored complete/partial captures' content hashes (newest capture id per hash) and file sizes.</summary>
public sealed class StoredCaptures
{
    public Dictionary<string, int> ByHash { get; } = [];
    public HashSet<long> Sizes { get; } = [];
}
