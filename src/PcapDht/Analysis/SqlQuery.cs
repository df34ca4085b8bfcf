using System.Globalization;
using System.Numerics;
using DuckDB.NET.Data;

namespace PcapDht.Analysis;

/// <summary>Runs user SQL and turns the results into <see cref="ResultTable"/>s of displayable values.</summary>
public static class SqlQuery
{
    /// <summary>
    /// Runs every statement of <paramref name="sql"/> in order, each in its own autocommit (unless the script
    /// says BEGIN), and yields one entry per statement as it completes: its results (none for a statement that
    /// returns no rows, such as DELETE or CREATE). The whole script is parsed first, so a syntax error anywhere
    /// runs nothing; a statement that fails stops the script. Both throw <see cref="SqlScriptException"/> naming
    /// the statement's position; what ran before it stays done.
    /// </summary>
    public static IEnumerable<(SqlStatement Statement, IReadOnlyList<ResultTable> Results)> RunScript(DuckDBConnection db, string sql)
    {
        var statements = SqlScript.Split(sql);
        foreach (var s in statements)
            if (SqlScript.CountStatements(db, s.Text, out string? error) is null)
                throw new SqlScriptException(s, statements.Count, error!);
        foreach (var s in statements)
        {
            List<ResultTable> results;
            try
            {
                results = RunStatements(db, s.Text);
            }
            catch (DuckDBException e)
            {
                throw new SqlScriptException(s, statements.Count, e.Message, e);
            }
            yield return (s, results);
        }
    }

    /// <summary>Runs every statement of <paramref name="sql"/>; the last result that has columns (an empty one when none has).</summary>
    public static ResultTable Run(DuckDBConnection db, string sql)
    {
        ResultTable? last = null;
        foreach (var (_, results) in RunScript(db, sql))
            if (results.Count > 0) last = results[^1];
        return last ?? new ResultTable { Title = "query", Columns = [] };
    }

    /// <summary>The results of every statement in <paramref name="sql"/> that returns columns (all of them run).</summary>
    private static List<ResultTable> RunStatements(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var tables = new List<ResultTable>();
        // DuckDB.NET runs the statements of a command as the reader reaches them: without NextResult() the ones
        // after the first that returns rows never ran.
        do
        {
            if (r.FieldCount == 0) continue;
            var columns = new List<ResultColumn>(r.FieldCount);
            for (int i = 0; i < r.FieldCount; i++) columns.Add(new ResultColumn(r.GetName(i), KindOf(r.GetFieldType(i))));
            var table = new ResultTable { Title = "query", Columns = columns };
            while (r.Read())
            {
                var row = new object?[r.FieldCount];
                for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : Display(r.GetValue(i));
                table.Rows.Add(row);
            }
            tables.Add(table);
        }
        while (r.NextResult());
        return tables;
    }

    /// <summary>
    /// From here on, SQL on this connection touches no file but the database (and DuckDB's own temporary files):
    /// no read_csv('/etc/shadow'), glob('/root/*'), COPY ... TO, EXPORT DATABASE, ATTACH or INSTALL; and the
    /// setting cannot be changed back. Connections opened without it (reports, a Parquet lake) are unaffected.
    /// </summary>
    public static void RestrictToDatabase(DuckDBConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SET enable_external_access = false; SET lock_configuration = true;";
        cmd.ExecuteNonQuery();
    }

    /// <summary>True for DuckDB's refusal of a file access that <see cref="RestrictToDatabase"/> disabled.</summary>
    public static bool IsFileAccessRefusal(string message) =>
        message.Contains("disabled by configuration", StringComparison.OrdinalIgnoreCase);

    private static ColumnKind KindOf(Type t) =>
        t == typeof(long) || t == typeof(int) || t == typeof(short) || t == typeof(sbyte) || t == typeof(byte)
        || t == typeof(ulong) || t == typeof(uint) || t == typeof(ushort) || t == typeof(BigInteger)
        || t == typeof(double) || t == typeof(float) || t == typeof(decimal)
            ? ColumnKind.Number : ColumnKind.Text;

    /// <summary>
    /// Values as JSON and CSV can carry them: numbers stay numbers, blobs become hex, times ISO 8601 UTC
    /// with the Z the reports print. The store's times are TIMESTAMPTZ, which DuckDB.NET hands over as a
    /// UTC DateTime without a kind; a plain TIMESTAMP is shown as UTC too, the store's convention.
    /// </summary>
    internal static object? Display(object value) => value switch
    {
        byte[] b => Convert.ToHexStringLower(b),
        Stream s => Hex(s),
        BigInteger bi => bi.ToString(CultureInfo.InvariantCulture),
        UInt128 u => u.ToString(CultureInfo.InvariantCulture),
        Int128 i => i.ToString(CultureInfo.InvariantCulture),
        DateTime d => (d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture),
        DateTimeOffset o => o.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture),
        bool or string or long or int or short or sbyte or byte or ulong or uint or ushort or double or float or decimal => value,
        System.Collections.IEnumerable e => string.Join(",", e.Cast<object?>().Select(x => x is null ? "NULL" : Convert.ToString(Display(x), CultureInfo.InvariantCulture))),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture),
    };

    private static string Hex(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return Convert.ToHexStringLower(ms.ToArray());
    }
}
