using DuckDB.NET.Data;

namespace PcapDht.Cli.Rendering;

/// <summary>Opens the DuckDB file for a verb, turning failures into one-line messages.</summary>
public static class DatabaseOpener
{
    public const string DefaultHelp = "Default: $PCAPDHT_DB, else pcapdht.duckdb in the working directory";

    /// <summary>The database every verb uses without --db: $PCAPDHT_DB, else pcapdht.duckdb here.</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("PCAPDHT_DB") is { Length: > 0 } env ? env : "pcapdht.duckdb";

    /// <summary>Opens an existing database; null (with <paramref name="error"/>) if it is missing or cannot be opened.</summary>
    /// <param name="anySchema">
    /// Also open a file whose store another pcapdht version wrote (<c>query</c>: raw SQL still reads it), without
    /// repairing it; otherwise such a file is refused with a one-line reason, as ingest refuses it.
    /// </param>
    public static DuckDBConnection? Open(string path, bool readOnly, bool create, out string? error, bool anySchema = false)
    {
        error = null;
        if (!create && !File.Exists(path))
        {
            error = $"no database at '{path}' (create one with pcapdht ingest or pcapdht asn import, or pass --db FILE)";
            return null;
        }
        // A running `pcapdht sniff` holds the file only while it flushes (about a second every --flush-interval):
        // wait that out rather than fail, and retry an open that raced its close (PcapDhtDatabase.IsOpenRace).
        var deadline = DateTime.UtcNow + LockWait;
        while (true)
        {
            var connection = new DuckDBConnection($"Data Source={path}{(readOnly ? ";ACCESS_MODE=READ_ONLY" : "")}");
            try
            {
                connection.Open();
                // A file cut short opens and answers from its metadata (count(*)); refuse it as every other verb does.
                PcapDht.Store.StoreCheck.VerifyLength(connection, path);
                if (PcapDht.Store.PcapDhtDatabase.SchemaMismatch(connection, path) is { } mismatch)
                {
                    // The repair below and the reports speak this build's schema only.
                    if (anySchema) return connection;
                    connection.Dispose();
                    error = mismatch;
                    return null;
                }
                return RecoverInterrupted(path, connection, readOnly);
            }
            catch (DuckDBException e) when ((IsLock(e) || PcapDht.Store.PcapDhtDatabase.IsOpenRace(e.Message)) && DateTime.UtcNow < deadline)
            {
                connection.Dispose();
                Thread.Sleep(100);
            }
            catch (PcapDht.Store.CorruptDatabaseException e)
            {
                connection.Dispose();
                error = e.Message;
                return null;
            }
            catch (DuckDBException e)
            {
                connection.Dispose();
                error = PcapDht.Store.PcapDhtDatabase.IsCorruption(e.Message)
                    ? PcapDht.Store.PcapDhtDatabase.Translate(e, $"cannot open '{path}'").Message
                    : $"cannot open '{path}': {OneLine(e.Message)}";
                return null;
            }
        }
    }

    public static TimeSpan LockWait { get; set; } = TimeSpan.FromSeconds(15);

    private static bool IsLock(DuckDBException e) => e.Message.Contains("lock", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// A live capture whose sniffer died (kill -9, power loss) still says <c>running</c>; mark it
    /// <c>interrupted</c> on this open, as the store does, even for a read-only verb (through a short
    /// read-write open, only when there is something to repair).
    /// </summary>
    private static DuckDBConnection RecoverInterrupted(string path, DuckDBConnection connection, bool readOnly)
    {
        try
        {
            if (!readOnly)
            {
                PcapDht.Store.PcapDhtDatabase.RecoverInterruptedCaptures(connection);
                return connection;
            }
            if (PcapDht.Store.PcapDhtDatabase.FindInterruptedCaptures(connection).Count == 0) return connection;
            connection.Dispose();
            using (var rw = new DuckDBConnection($"Data Source={path}"))
            {
                rw.Open();
                PcapDht.Store.PcapDhtDatabase.RecoverInterruptedCaptures(rw);
            }
            connection = new DuckDBConnection($"Data Source={path};ACCESS_MODE=READ_ONLY");
            connection.Open();
            return connection;
        }
        catch (DuckDBException)
        {
            // No capture table (an ASN-only database), or the repair could not get the file: show it as it is.
            if (connection.State != System.Data.ConnectionState.Open) connection.Open();
            return connection;
        }
    }

    /// <summary>DuckDB messages span lines (a caret under the SQL, a "Did you mean" hint): keep the first and the hint.</summary>
    public static string OneLine(string message)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0) return message;
        string first = lines[0];
        foreach (var l in lines.Skip(1))
            if (l.StartsWith("Did you mean", StringComparison.Ordinal)) return $"{first} ({l})";
        return first;
    }
}
