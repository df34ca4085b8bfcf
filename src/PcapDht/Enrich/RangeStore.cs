using DuckDB.NET.Data;

namespace PcapDht.Enrich;

/// <summary>One imported file as recorded in the <c>datasets</c> table.</summary>
/// <param name="SourceDate">The data's own date (MMDB build, package version, file name); null when it carries none.</param>
/// <param name="SourceDateBasis">Where <paramref name="SourceDate"/> comes from, for the reader.</param>
public sealed record DatasetInfo(
    RangeKind Kind, string FileName, string Format, long RowCount, long BadRows, long EmptyRows,
    DateTimeOffset? SourceDate, DateTimeOffset ImportedAt, string Attribution, string? SourceDateBasis = null)
{
    /// <summary>"data of 2026-06-17 (@ip-location-db package version 2.3.2026061719)", or "imported 2026-12-07 (no date in the data)".</summary>
    public string DateText => SourceDate is { } d
        ? $"data of {Day(d)}" + (SourceDateBasis is { } b ? $" ({b})" : "")
        : $"imported {Day(ImportedAt)} (no date in the data)";

    private static string Day(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What an import stored, per kind of data set.</summary>
public sealed record ImportSummary(IReadOnlyList<RangeFile> Files, IReadOnlyDictionary<RangeKind, long> RangesStored, IReadOnlyDictionary<RangeKind, long> OverlapsDropped);

/// <summary>
/// The ASN and country range tables, their <c>datasets</c> record, and the enriched views over
/// the store's relations. Everything here is created on demand and independent of the store's
/// schema, so ranges can be imported before or after any capture.
/// </summary>
public static class RangeStore
{
    /// <summary>The store relations that get an enriched view, with the address column to look up.</summary>
    public static readonly IReadOnlyList<(string Relation, string IpColumn)> EnrichedRelations =
    [
        ("node_sightings", "ip_num"),
        ("messages", "src_ip_num"),
        ("peer_sightings", "ip_num"),
    ];

    public static void EnsureSchema(DuckDBConnection connection)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS asn_ranges(
                start_num UHUGEINT NOT NULL, end_num UHUGEINT NOT NULL,
                asn UINTEGER, as_name VARCHAR, country VARCHAR);
            CREATE TABLE IF NOT EXISTS country_ranges(
                start_num UHUGEINT NOT NULL, end_num UHUGEINT NOT NULL, country VARCHAR NOT NULL);
            CREATE TABLE IF NOT EXISTS datasets(
                kind VARCHAR NOT NULL, file_name VARCHAR NOT NULL, format VARCHAR NOT NULL,
                row_count BIGINT NOT NULL, bad_rows BIGINT NOT NULL, empty_rows BIGINT NOT NULL,
                source_date TIMESTAMPTZ, imported_at TIMESTAMPTZ NOT NULL, attribution VARCHAR NOT NULL);
            ALTER TABLE datasets ADD COLUMN IF NOT EXISTS source_date_basis VARCHAR;
            """);
    }

    /// <summary>
    /// Replaces the ASN data set, the country data set, or both (whichever kinds the files carry)
    /// in one transaction: a reader sees the old set or the new one, never a mix or nothing.
    /// </summary>
    public static ImportSummary Import(DuckDBConnection connection, IReadOnlyList<RangeFile> files, DateTimeOffset importedAt)
    {
        EnsureSchema(connection);
        var stored = new Dictionary<RangeKind, long>();
        var dropped = new Dictionary<RangeKind, long>();
        var kinds = files.Select(f => f.Kind).Distinct().ToList();
        var normalized = new Dictionary<RangeKind, List<IpRange>>();
        foreach (var kind in kinds)
        {
            var all = new List<IpRange>();
            foreach (var f in files) if (f.Kind == kind) all.AddRange(f.Ranges);
            normalized[kind] = Normalize(all, out long overlaps);
            dropped[kind] = overlaps;
            stored[kind] = normalized[kind].Count;
        }

        Execute(connection, """
            CREATE OR REPLACE TEMP TABLE asn_ranges_staging(start_num UHUGEINT, end_num UHUGEINT, asn UINTEGER, as_name VARCHAR, country VARCHAR);
            CREATE OR REPLACE TEMP TABLE country_ranges_staging(start_num UHUGEINT, end_num UHUGEINT, country VARCHAR);
            """);
        foreach (var (kind, ranges) in normalized)
        {
            string staging = kind == RangeKind.Asn ? "asn_ranges_staging" : "country_ranges_staging";
            using var appender = connection.CreateAppender("temp", "main", staging);
            foreach (var r in ranges)
            {
                var row = appender.CreateRow().AppendValue(r.Start.Value).AppendValue(r.End.Value);
                if (kind == RangeKind.Asn)
                {
                    if (r.Asn is { } asn) row.AppendValue(asn); else row.AppendNullValue();
                    row.AppendValue(r.AsName).AppendValue(r.Country).EndRow();
                }
                else
                {
                    row.AppendValue(r.Country).EndRow();
                }
            }
        }

        using var tx = connection.BeginTransaction();
        foreach (var kind in kinds)
        {
            string table = kind == RangeKind.Asn ? "asn_ranges" : "country_ranges";
            Execute(connection, $"DELETE FROM {table}; INSERT INTO {table} SELECT * FROM {table}_staging ORDER BY start_num;");
            using var del = connection.CreateCommand();
            del.CommandText = "DELETE FROM datasets WHERE kind = $kind";
            del.Parameters.Add(new DuckDBParameter("kind", KindName(kind)));
            del.ExecuteNonQuery();
            foreach (var f in files)
            {
                if (f.Kind != kind) continue;
                using var ins = connection.CreateCommand();
                ins.CommandText = """
                    INSERT INTO datasets (kind, file_name, format, row_count, bad_rows, empty_rows, source_date, imported_at, attribution, source_date_basis)
                    VALUES ($kind, $file, $format, $rows, $bad, $empty, $source, $imported, $attribution, $basis)
                    """;
                ins.Parameters.Add(new DuckDBParameter("kind", KindName(kind)));
                ins.Parameters.Add(new DuckDBParameter("file", f.FileName));
                ins.Parameters.Add(new DuckDBParameter("format", RangeFormats.Name(f.Format)));
                ins.Parameters.Add(new DuckDBParameter("rows", (long)f.Ranges.Count));
                ins.Parameters.Add(new DuckDBParameter("bad", f.BadRowCount));
                ins.Parameters.Add(new DuckDBParameter("empty", f.EmptyRows));
                ins.Parameters.Add(new DuckDBParameter("source", f.SourceDate is { } d ? d.UtcDateTime : DBNull.Value));
                ins.Parameters.Add(new DuckDBParameter("imported", importedAt.UtcDateTime));
                ins.Parameters.Add(new DuckDBParameter("attribution", f.Attribution));
                ins.Parameters.Add(new DuckDBParameter("basis", (object?)f.SourceDateBasis ?? DBNull.Value));
                ins.ExecuteNonQuery();
            }
        }
        tx.Commit();
        Execute(connection, "DROP TABLE IF EXISTS asn_ranges_staging; DROP TABLE IF EXISTS country_ranges_staging;");
        EnsureEnrichedViews(connection);
        // The address index holds each address's AS and country: resolve them again from the new ranges.
        Store.AddressIndex.Refresh(connection);
        return new ImportSummary(files, stored, dropped);
    }

    /// <summary>
    /// Sorts ranges and drops any that overlap an earlier kept one (duplicates from importing
    /// v4 and combined files together, MMDB ::ffff:0:0/96 aliases). The ASOF lookup finds the
    /// last range starting at or below an address, which is only right when ranges are disjoint.
    /// At equal starts the narrower range wins.
    /// </summary>
    internal static List<IpRange> Normalize(List<IpRange> ranges, out long dropped)
    {
        ranges.Sort(static (a, b) =>
        {
            int c = a.Start.Value.CompareTo(b.Start.Value);
            return c != 0 ? c : a.End.Value.CompareTo(b.End.Value);
        });
        var kept = new List<IpRange>(ranges.Count);
        dropped = 0;
        foreach (var r in ranges)
        {
            if (kept.Count > 0 && r.Start.Value <= kept[^1].End.Value) { dropped++; continue; }
            kept.Add(r);
        }
        return kept;
    }

    public static IReadOnlyList<DatasetInfo> Datasets(DuckDBConnection connection)
    {
        var list = new List<DatasetInfo>();
        if (!RelationExists(connection, "datasets")) return list;
        using var cmd = connection.CreateCommand();
        bool basis = ColumnExists(connection, "datasets", "source_date_basis");
        cmd.CommandText = $"SELECT kind, file_name, format, row_count, bad_rows, empty_rows, source_date, imported_at, attribution, {(basis ? "source_date_basis" : "NULL")} FROM datasets ORDER BY kind, file_name";
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            list.Add(new DatasetInfo(
                r.GetString(0) == "country" ? RangeKind.Country : RangeKind.Asn, r.GetString(1), r.GetString(2),
                r.GetInt64(3), r.GetInt64(4), r.GetInt64(5),
                r.IsDBNull(6) ? null : ToUtc(r.GetValue(6)), ToUtc(r.GetValue(7)), r.GetString(8), r.IsDBNull(9) ? null : r.GetString(9)));
        }
        return list;
    }

    /// <summary>Rows in the range table of a kind (0 when the table does not exist yet).</summary>
    public static long RangeCount(DuckDBConnection connection, RangeKind kind)
    {
        string table = kind == RangeKind.Asn ? "asn_ranges" : "country_ranges";
        if (!RelationExists(connection, table)) return 0;
        using var cmd = connection.CreateCommand();
        cmd.CommandText = $"SELECT count(*) FROM {table}";
        return Convert.ToInt64(cmd.ExecuteScalar());
    }

    /// <summary>
    /// (Re)creates <c>node_sightings_enriched</c>, <c>messages_enriched</c> and
    /// <c>peer_sightings_enriched</c> for whichever store relations exist. The lookup is an ASOF
    /// join (greatest start_num at or below the address, then a check against end_num): it sorts
    /// both sides once instead of testing every range per address, see docs/benchmarks.md.
    /// </summary>
    public static IReadOnlyList<string> EnsureEnrichedViews(DuckDBConnection connection)
    {
        EnsureSchema(connection);
        var created = new List<string>();
        foreach (var (relation, ip) in EnrichedRelations)
        {
            if (!RelationExists(connection, relation)) continue;
            Execute(connection, $"CREATE OR REPLACE VIEW {relation}_enriched AS {EnrichedSelect(relation, ip)}");
            created.Add(relation + "_enriched");
        }
        // ip_profiles reads the store's population relations (lookup contacts); older or foreign files lack them.
        if (RelationExists(connection, "messages") && RelationExists(connection, "reply_contacts"))
        {
            Execute(connection, IpProfiles.ViewSql());
            created.Add(IpProfiles.Relation);
        }
        return created;
    }

    /// <summary>
    /// The one lookup of <c>asn</c>, <c>as_name</c> and <c>country</c> for every row of <paramref name="source"/> (a
    /// relation or a parenthesised query) by its address column <paramref name="ip"/>: the enriched views and
    /// <c>export</c> both use it. The country comes from the country data set, else from the ASN data set's.
    /// </summary>
    public static string EnrichedSelect(string source, string ip) => $"""
        SELECT s.*,
               CASE WHEN s.{ip} <= a.end_num THEN a.asn END AS asn,
               CASE WHEN s.{ip} <= a.end_num THEN a.as_name END AS as_name,
               coalesce(CASE WHEN s.{ip} <= c.end_num THEN c.country END,
                        CASE WHEN s.{ip} <= a.end_num THEN a.country END) AS country
        FROM {source} s
        ASOF LEFT JOIN asn_ranges a ON s.{ip} >= a.start_num
        ASOF LEFT JOIN country_ranges c ON s.{ip} >= c.start_num
        """;

    public static bool RelationExists(DuckDBConnection connection, string name)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $name";
        cmd.Parameters.Add(new DuckDBParameter("name", name));
        return Convert.ToInt64(cmd.ExecuteScalar()) > 0;
    }

    internal static bool ColumnExists(DuckDBConnection connection, string table, string column)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'main' AND table_name = $t AND column_name = $c";
        cmd.Parameters.Add(new DuckDBParameter("t", table));
        cmd.Parameters.Add(new DuckDBParameter("c", column));
        return Convert.ToInt64(cmd.ExecuteScalar()) > 0;
    }

    public static string KindName(RangeKind kind) => kind == RangeKind.Asn ? "asn" : "country";

    private static DateTimeOffset ToUtc(object value) => value switch
    {
        DateTimeOffset o => o.ToUniversalTime(),
        DateTime d => new DateTimeOffset(DateTime.SpecifyKind(d, d.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : d.Kind).ToUniversalTime()),
        _ => throw new InvalidCastException($"unexpected timestamp type {value.GetType().Name}"),
    };

    internal static void Execute(DuckDBConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
