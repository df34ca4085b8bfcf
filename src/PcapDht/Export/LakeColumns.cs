using System.Text;
using DuckDB.NET.Data;

namespace PcapDht.Export;

/// <summary>One column of a relation as DuckDB describes it.</summary>
public readonly record struct LakeColumn(string Name, string Type);

/// <summary>
/// How columns are written to Parquet and read back. Parquet has no 128-bit integer (DuckDB writes a
/// UHUGEINT as a DOUBLE, losing the low bits), so each 128-bit address number <c>X</c> (the
/// <c>*_ip_num</c> columns) becomes two signed 64-bit columns <c>X_hi</c> and <c>X_lo</c>: the upper and
/// lower halves, each with its top bit flipped (the unsigned half minus 2^63). Signed order then equals
/// unsigned order, so sorting and comparing <c>(X_hi, X_lo)</c> as a pair in any engine orders addresses
/// exactly as the 128-bit number does (range joins work on the pair); every engine reads plain INT64, and
/// min/max statistics prune row groups. Everything else keeps its DuckDB type: text addresses, BLOB ids,
/// TIMESTAMPTZ as TIMESTAMP(µs, isAdjustedToUTC).
/// </summary>
public static class LakeColumns
{
    public const string HiSuffix = "_hi";
    public const string LoSuffix = "_lo";

    public const string AddressEncodingNote =
        "every 128-bit address number X (IPv4 as IPv4-mapped IPv6) is stored as X_hi = (X >> 64) - 2^63 and X_lo = (X & (2^64-1)) - 2^63, both INT64: signed order of (X_hi, X_lo) = unsigned order of X";

    private const string Offset = "9223372036854775808";

    /// <summary>SQL for the stored upper half of a UHUGEINT expression.</summary>
    public static string Hi(string expr) => $"CAST(CAST(({expr}) >> 64 AS HUGEINT) - {Offset} AS BIGINT)";

    /// <summary>SQL for the stored lower half of a UHUGEINT expression.</summary>
    public static string Lo(string expr) => $"CAST(CAST(({expr}) & 18446744073709551615::UHUGEINT AS HUGEINT) - {Offset} AS BIGINT)";

    /// <summary>SQL that rebuilds the 128-bit number from its two stored halves.</summary>
    public static string Join(string hi, string lo) =>
        $"(CAST(CAST({hi} AS HUGEINT) + {Offset} AS UHUGEINT) << 64 | CAST(CAST({lo} AS HUGEINT) + {Offset} AS UHUGEINT))";

    public static bool IsAddressNumber(LakeColumn c) => c.Type == "UHUGEINT";

    /// <summary>The text twin of an address number column: <c>ip_num</c> → <c>ip</c>, <c>src_ip_num</c> → <c>src_ip</c>.</summary>
    public static string TextTwin(string numberColumn) =>
        numberColumn.EndsWith("_num", StringComparison.Ordinal) ? numberColumn[..^4] : numberColumn + "_text";

    /// <summary>The columns of a relation or query, in order.</summary>
    public static List<LakeColumn> Describe(DuckDBConnection db, string relationOrQuery)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"DESCRIBE {relationOrQuery}";
        using var r = cmd.ExecuteReader();
        var list = new List<LakeColumn>();
        while (r.Read()) list.Add(new LakeColumn(r.GetString(0), r.GetString(1)));
        return list;
    }

    /// <summary>
    /// The SELECT list that rebuilds a relation from its Parquet columns: each <c>X_hi</c>/<c>X_lo</c> pair becomes
    /// <c>X</c> again (at the place of <c>X_hi</c>), everything else passes as it is but the columns in <paramref name="replace"/>.
    /// </summary>
    public static string ReadList(IReadOnlyList<LakeColumn> parquet, IReadOnlyDictionary<string, string>? replace = null, ISet<string>? drop = null)
    {
        var names = new HashSet<string>(parquet.Select(c => c.Name), StringComparer.Ordinal);
        var sb = new StringBuilder();
        foreach (var c in parquet)
        {
            if (drop?.Contains(c.Name) == true) continue;
            string item;
            if (replace is not null && replace.TryGetValue(c.Name, out var expr)) item = $"{expr} AS {Quote(c.Name)}";
            else if (c.Name.EndsWith(HiSuffix, StringComparison.Ordinal) && c.Type == "BIGINT"
                     && names.Contains(c.Name[..^HiSuffix.Length] + LoSuffix))
            {
                string x = c.Name[..^HiSuffix.Length];
                item = $"{Join(Quote(c.Name), Quote(x + LoSuffix))} AS {Quote(x)}";
            }
            else if (c.Name.EndsWith(LoSuffix, StringComparison.Ordinal) && c.Type == "BIGINT"
                     && names.Contains(c.Name[..^LoSuffix.Length] + HiSuffix)) continue;
            else item = Quote(c.Name);
            if (sb.Length > 0) sb.Append(", ");
            sb.Append(item);
        }
        return sb.ToString();
    }

    public static string Quote(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";

    public static string Literal(string text) => "'" + text.Replace("'", "''") + "'";
}
