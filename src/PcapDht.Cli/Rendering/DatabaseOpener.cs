using DuckDB.NET.Data;

namespace PcapDht.Cli.Rendering;

/// <summary>Opens the DuckDB file for a verb, turning failures into one-line messages.</summary>
public static class DatabaseOpener
{
    public const string DefaultPath = "dht.duckdb";

    /// <summary>Opens an existing database; null (with <paramref name="error"/>) if it is missing or cannot be opened.</summary>
    public static DuckDBConnection? Open(string path, bool readOnly, bool create, out string? error)
    {
        error = null;
        if (!create && !File.Exists(path))
        {
            error = $"no database at '{path}' (create one with pcapdht ingest or pcapdht asn import, or pass --db FILE)";
            return null;
        }
        var connection = new DuckDBConnection($"Data Source={path}{(readOnly ? ";ACCESS_MODE=READ_ONLY" : "")}");
        try
        {
            connection.Open();
            return connection;
        }
        catch (DuckDBException e)
        {
            connection.Dispose();
            error = $"cannot open '{path}': {OneLine(e.Message)}";
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
}
