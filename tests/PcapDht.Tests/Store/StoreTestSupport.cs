using DuckDB.NET.Data;

namespace PcapDht.Tests.Store;

/// <summary>A temporary directory removed after the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pcapdht-store-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }
    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

internal static class Sql
{
    /// <summary>
    /// The rows of a detail table that a prune at <paramref name="cutoffUs"/> keeps, computed from the store before it:
    /// those at or after the cutoff; of node_dim, the contacts that the kept node and node6 rows name (also those first
    /// seen before the cutoff), and of endpoint_dim the endpoints the kept msg rows name, once their capture is no longer running.
    /// </summary>
    public static string KeptDetail(string table, long cutoffUs) => table switch
    {
        "node_dim" => $"""
            SELECT * FROM pcapdht_store.node_dim d WHERE EXISTS (SELECT 1 FROM (SELECT capture_id, ts, n FROM pcapdht_store.node
                UNION ALL SELECT capture_id, ts, n FROM pcapdht_store.node6) x WHERE x.capture_id = d.capture_id AND x.n.k = d.n.k AND epoch_us(x.ts) >= {cutoffUs})
            """,
        "endpoint_dim" => $"""
            SELECT * FROM pcapdht_store.endpoint_dim ep WHERE EXISTS (SELECT 1 FROM (SELECT capture_id, ts, d.src_k AS k FROM pcapdht_store.msg
                UNION ALL SELECT capture_id, ts, d.dst_k FROM pcapdht_store.msg) x WHERE x.capture_id = ep.capture_id AND x.k = ep.e.k AND epoch_us(x.ts) >= {cutoffUs})
            """,
        _ => $"SELECT * FROM pcapdht_store.{table} WHERE epoch_us(ts) >= {cutoffUs}",
    };

    public static object? Scalar(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    public static long Long(DuckDBConnection c, string sql) => Convert.ToInt64(Scalar(c, sql));

    public static string? String(DuckDBConnection c, string sql) => Scalar(c, sql)?.ToString();

    public static List<object?[]> Rows(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    public static string Hex(object? blob) => blob switch
    {
        null => "null",
        byte[] b => Convert.ToHexString(b).ToLowerInvariant(),
        Stream s => ReadHex(s),
        _ => throw new InvalidOperationException($"not a blob: {blob.GetType()}"),
    };

    private static string ReadHex(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return Convert.ToHexString(ms.ToArray()).ToLowerInvariant();
    }
}
