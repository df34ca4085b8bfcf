using System.Globalization;
using System.Numerics;
using DuckDB.NET.Data;

namespace PcapDht.Analysis;

/// <summary>Runs user SQL and turns the result into a <see cref="ResultTable"/> of displayable values.</summary>
public static class SqlQuery
{
    public static ResultTable Run(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var columns = new List<ResultColumn>(r.FieldCount);
        for (int i = 0; i < r.FieldCount; i++) columns.Add(new ResultColumn(r.GetName(i), KindOf(r.GetFieldType(i))));
        var table = new ResultTable { Title = "query", Columns = columns };
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : Display(r.GetValue(i));
            table.Rows.Add(row);
        }
        return table;
    }

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
