using DuckDB.NET.Data;
using PcapDht.Store;

namespace PcapDht.Cli.Rendering;

/// <summary>Where a verb's database is, and its open errors as one line (the opening itself is the library's).</summary>
public static class DatabaseOpener
{
    public const string DefaultHelp = "Default: $PCAPDHT_DB, else pcapdht.duckdb in the working directory";

    /// <summary>The database every verb uses without --db: $PCAPDHT_DB, else pcapdht.duckdb here.</summary>
    public static string DefaultPath =>
        Environment.GetEnvironmentVariable("PCAPDHT_DB") is { Length: > 0 } env ? env : "pcapdht.duckdb";

    /// <summary><see cref="PcapDhtDatabase.OpenConnection"/>; null with the one-line <paramref name="error"/> when it fails.</summary>
    public static DuckDBConnection? Open(string path, bool readOnly, bool create, out string? error, bool anySchema = false, bool? exactLength = null)
    {
        try
        {
            error = null;
            var connection = PcapDhtDatabase.OpenConnection(path, readOnly, create, anySchema, exactLength);
            UseUtc(connection);
            return connection;
        }
        catch (StoreException ex)
        {
            error = ex.Message;
            return null;
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

    /// <summary>
    /// Every time the CLI prints is UTC (reports, query's 'Z'); DuckDB's session zone is the machine's, so a
    /// query's date_trunc('day', ts) or ts::TIMESTAMP would otherwise change with where it runs.
    /// </summary>
    private static void UseUtc(DuckDBConnection connection)
    {
        try
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SET TimeZone = 'UTC'";
            cmd.ExecuteNonQuery();
        }
        catch (DuckDBException) { } // a build without ICU has no TimeZone setting and is UTC already
    }
}
