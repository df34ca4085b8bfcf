using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Enrich;

namespace PcapDht.Analysis;

/// <summary>
/// The ready-made reports. Each counts distinct addresses seen in a window: every address in
/// node_sightings (a query or response sender, or a contact in nodes/nodes6 lists of others)
/// plus the source of every message, errors included. "Direct" addresses are those that sent a
/// message themselves. The ASN/country lookup runs on the
/// distinct addresses, not on every sighting, so its cost does not grow with traffic volume.
/// </summary>
public static partial class Reports
{
    private const string V4Low = "281470681743360";   // ::ffff:0.0.0.0
    private const string V4High = "281474976710655";  // ::ffff:255.255.255.255

    public static ResultTable Asn(DuckDBConnection db, ReportOptions options)
    {
        var table = new ResultTable
        {
            Title = "Distinct IP addresses per ASN",
            Columns =
            [
                new("rank", ColumnKind.Integer), new("asn", ColumnKind.Number), new("as_name", ColumnKind.Text),
                new("country", ColumnKind.Text), new("ips", ColumnKind.Integer), new("direct_ips", ColumnKind.Integer),
                new("share", ColumnKind.Share),
            ],
        };
        if (RangeStore.RangeCount(db, RangeKind.Asn) == 0)
        {
            table.Unavailable = "This database has no ASN data: import a data set first, e.g. `pcapdht asn import samples-pcap/asn/asn-ipv4.csv --db FILE` (see docs/analysis.md).";
            return table;
        }
        if (!Prepare(db, options, table, out var seen)) return table;
        string enriched = Enriched(seen, options.Ipv6Prefix);
        var (total, unmatched, groups) = Totals(db, enriched, "asn");
        AddTotals(table, total, unmatched, groups, "ASNs", "no ASN range");
        AddDatasets(db, table, RangeKind.Asn, RangeKind.Country);
        if (total > 0 && unmatched == total) WindowCoverage.ExplainUnmatched(db, table, total, "an ASN range");
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            WITH {enriched}
            SELECT asn, min(as_name), mode(country), count(*) AS ips, count(*) FILTER (WHERE direct) AS direct_ips
            FROM enriched WHERE asn IS NOT NULL
            GROUP BY asn ORDER BY ips DESC, asn {Limit(options.Top)}
            """;
        using var r = cmd.ExecuteReader();
        long rank = 0;
        while (r.Read())
        {
            long ips = r.GetInt64(3);
            table.Rows.Add([++rank, Convert.ToInt64(r.GetValue(0)), Str(r, 1), Str(r, 2), ips, r.GetInt64(4), Share(ips, total)]);
        }
        return table;
    }

    public static ResultTable Country(DuckDBConnection db, ReportOptions options)
    {
        var table = new ResultTable
        {
            Title = "Distinct IP addresses per country",
            Columns =
            [
                new("rank", ColumnKind.Integer), new("country", ColumnKind.Text), new("ips", ColumnKind.Integer),
                new("direct_ips", ColumnKind.Integer), new("asns", ColumnKind.Integer), new("share", ColumnKind.Share),
            ],
        };
        if (RangeStore.RangeCount(db, RangeKind.Country) == 0 && CountryInAsnRanges(db) == 0)
        {
            table.Unavailable = "This database has no country data: import an ASN data set with countries (iptoasn, IPinfo Lite) or a country data set (ip-location-db asn-country, GeoLite2-Country.mmdb) first, e.g. `pcapdht asn import samples-pcap/asn/asn-country-ipv4.csv --db FILE`.";
            return table;
        }
        if (!Prepare(db, options, table, out var seen)) return table;
        string enriched = Enriched(seen, options.Ipv6Prefix);
        var (total, unmatched, groups) = Totals(db, enriched, "country");
        AddTotals(table, total, unmatched, groups, "countries", "no country");
        AddDatasets(db, table, RangeKind.Country, RangeKind.Asn);
        if (total > 0 && unmatched == total) WindowCoverage.ExplainUnmatched(db, table, total, "a country range");
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            WITH {enriched}
            SELECT country, count(*) AS ips, count(*) FILTER (WHERE direct), count(DISTINCT asn)
            FROM enriched WHERE country IS NOT NULL
            GROUP BY country ORDER BY ips DESC, country {Limit(options.Top)}
            """;
        using var r = cmd.ExecuteReader();
        long rank = 0;
        while (r.Read())
        {
            long ips = r.GetInt64(1);
            table.Rows.Add([++rank, r.GetString(0), ips, r.GetInt64(2), r.GetInt64(3), Share(ips, total)]);
        }
        return table;
    }

    public static ResultTable Clients(DuckDBConnection db, ReportOptions options)
    {
        var table = new ResultTable
        {
            Title = "Nodes per client (KRPC 'v' key)",
            Columns =
            [
                new("rank", ColumnKind.Integer), new("client", ColumnKind.Text), new("code", ColumnKind.Text),
                new("version", ColumnKind.Text), new("ips", ColumnKind.Integer), new("node_ids", ColumnKind.Integer),
                new("messages", ColumnKind.Integer), new("share", ColumnKind.Share),
            ],
        };
        if (!RangeStore.RelationExists(db, "messages"))
        {
            table.Unavailable = "This database has no messages yet: ingest a capture first (pcapdht ingest FILE --db FILE).";
            return table;
        }
        if (!Prepare(db, options, table, out _)) return table;
        string where = WindowPredicate(table.Window!.Value);
        long totalIps = Scalar(db, $"SELECT count(DISTINCT src_ip_num) FROM messages WHERE {where}");
        table.Facts.Add(new("distinct sender addresses", totalIps));
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT CASE WHEN version IS NULL THEN 0 WHEN octet_length(version) = 4 THEN 1 ELSE 2 END AS shape,
                   CASE WHEN octet_length(version) = 4 THEN hex(version) END AS v,
                   count(DISTINCT src_ip_num) AS ips, count(DISTINCT node_id), count(*)
            FROM messages WHERE {where}
            GROUP BY 1, 2 ORDER BY ips DESC, v
            """;
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            int shape = r.GetInt32(0);
            string client, code = "", version = "";
            if (shape == 0) client = "(no v key)";
            else if (shape == 2) client = "(v of another length)";
            else if (ClientVersion.TryDecode(Convert.FromHexString(r.GetString(1)), out code, out version))
                client = ClientVersion.ClientName(code) ?? "(unlisted code)";
            else
            {
                client = "(not ASCII)";
                version = r.GetString(1);
            }
            long ips = r.GetInt64(2);
            rows.Add([0L, client, code, version, ips, r.GetInt64(3), r.GetInt64(4), Share(ips, totalIps)]);
        }
        int top = options.Top <= 0 ? int.MaxValue : options.Top;
        for (int i = 0; i < rows.Count && i < top; i++)
        {
            rows[i][0] = (long)(i + 1);
            table.Rows.Add(rows[i]);
        }
        return table;
    }

    public static ResultTable Overview(DuckDBConnection db, ReportOptions options, bool explicitWindow)
    {
        var table = new ResultTable
        {
            Title = "Overview",
            Columns = [new("metric", ColumnKind.Text), new("value", ColumnKind.Other)],
        };
        bool hasMessages = RangeStore.RelationExists(db, "messages");
        bool hasSightings = RangeStore.RelationExists(db, "node_sightings");
        if (!hasMessages && !hasSightings)
        {
            table.Unavailable = "This database has no captures yet: ingest one first (pcapdht ingest FILE --db FILE).";
            return table;
        }
        string where = "true";
        if (explicitWindow)
        {
            if (!Prepare(db, options, table, out _)) return table;
            where = WindowPredicate(table.Window!.Value);
        }
        else if (WindowCoverage.Span(db) is { } span)
        {
            table.Window = span;
            table.WindowIsAllData = true;
        }
        else
        {
            table.Unavailable = NoSightings;
            return table;
        }
        void Add(string metric, object? value) => table.Rows.Add([metric, value]);
        if (RangeStore.RelationExists(db, "captures"))
        {
            using var counts = db.CreateCommand();
            counts.CommandText = $"SELECT count(*) FILTER (WHERE {CapturesWithRows}), count(*) FILTER (WHERE NOT {CapturesWithRows}) FROM captures";
            using var c = counts.ExecuteReader();
            c.Read();
            Add("captures", c.GetInt64(0));
            if (c.GetInt64(1) > 0) Add("captures without rows (failed or interrupted, not counted)", c.GetInt64(1));
        }
        if (hasMessages)
        {
            using (var span = db.CreateCommand())
            {
                span.CommandText = $"SELECT min(epoch_us(ts)), max(epoch_us(ts)) FROM messages WHERE {where}";
                using var r = span.ExecuteReader();
                r.Read();
                Add("first message", r.IsDBNull(0) ? null : FromMicros(r.GetInt64(0)));
                Add("last message", r.IsDBNull(1) ? null : FromMicros(r.GetInt64(1)));
            }
            Add("messages", Scalar(db, $"SELECT count(*) FROM messages WHERE {where}"));
            using (var byType = db.CreateCommand())
            {
                byType.CommandText = $"""
                    SELECT coalesce(CAST(y AS VARCHAR), '?'), coalesce(CAST(method AS VARCHAR), '-'), count(*)
                    FROM messages WHERE {where} GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2
                    """;
                using var r = byType.ExecuteReader();
                while (r.Read()) Add($"messages y={r.GetString(0)} {r.GetString(1)}", r.GetInt64(2));
            }
            Add("distinct sender IPs", Scalar(db, $"SELECT count(DISTINCT src_ip_num) FROM messages WHERE {where}"));
            Add("distinct sender node ids", Scalar(db, $"SELECT count(DISTINCT node_id) FROM messages WHERE {where}"));
        }
        if (hasSightings)
        {
            string nodes = NodeIps(db);
            Add("distinct IPs in node sightings", Scalar(db, $"SELECT count(DISTINCT ip_num) FROM {nodes} WHERE {where}"));
            Add("distinct node ids in node sightings", Scalar(db, $"SELECT count(DISTINCT id_key) FROM {nodes} WHERE {where}"));
        }
        if (RangeStore.RelationExists(db, "peer_sightings"))
            Add("distinct peer IPs (values, announce_peer)", Scalar(db, $"SELECT count(DISTINCT ip_num) FROM peer_sightings WHERE {where}"));
        // One malformed count: the datagrams themselves (windowed like every other row). The per-capture
        // sum in `captures` counts the same datagrams, so showing both only invited comparing them.
        if (RangeStore.RelationExists(db, "malformed_krpc"))
            Add("malformed KRPC datagrams", Scalar(db, $"SELECT count(*) FROM malformed_krpc WHERE {where}"));
        // The data sets are listed once, under the table with their attribution, not as rows too.
        AddDatasets(db, table, RangeKind.Asn, RangeKind.Country);
        return table;
    }

    internal const string NoSightings = "This database has no sightings yet: ingest a capture first (pcapdht ingest FILE --db FILE).";

    /// <summary>
    /// Resolves the window, records it, and builds the sightings union; false (with <see cref="ResultTable.Unavailable"/>
    /// saying why) when there is nothing to count: no sightings at all, or none in the window (then it also says
    /// what lies outside the window and which --since/--until would include it).
    /// </summary>
    /// <param name="columns">More columns for every sighting (", expr AS name"), e.g. its day.</param>
    private static bool Prepare(DuckDBConnection db, ReportOptions options, ResultTable table, out string seen, string columns = "")
    {
        seen = "";
        var parts = new List<string>();
        var span = WindowCoverage.Span(db);
        if (span is null)
        {
            table.Unavailable = NoSightings;
            return false;
        }
        var window = ReportWindow.Resolve(span.Value.Until, options.Days, options.Since, options.Until, options.UntilIsDay);
        table.Window = window;
        if (options.Ipv6Prefix is { } p) table.Facts.Add(new("IPv6 prefix length", (long)p));
        string where = WindowPredicate(window);
        if (RangeStore.RelationExists(db, "node_sightings"))
            parts.Add($"SELECT ip_num AS ip, direct{columns} FROM {NodeIps(db)} WHERE ip_num IS NOT NULL AND {where}");
        if (RangeStore.RelationExists(db, "messages"))
            parts.Add($"SELECT src_ip_num AS ip, true AS direct{columns} FROM messages WHERE src_ip_num IS NOT NULL AND {where}");
        if (window.Until < span.Value.Since || window.Since > span.Value.Until || !AnyIn(db, parts))
        {
            table.Unavailable = WindowCoverage.ExplainEmpty(db, window, span.Value);
            return false;
        }
        seen = string.Join("\n UNION ALL ", parts);
        return true;
    }

    private static bool AnyIn(DuckDBConnection db, List<string> parts)
    {
        foreach (var part in parts)
            if (Scalar(db, $"SELECT count(*) FROM ({part} LIMIT 1)") > 0) return true;
        return false;
    }

    /// <summary>
    /// The relation to count node sightings from, with columns ts, ip_num, direct, id_key: the store's
    /// join-free <c>pcapdht_store.node_ips</c> (node_sightings without the reporter columns), or the same
    /// columns projected from node_sightings in a database without it.
    /// </summary>
    internal static string NodeIps(DuckDBConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pcapdht_store' AND table_name = 'node_ips'";
        return Convert.ToInt64(cmd.ExecuteScalar()) > 0
            ? "pcapdht_store.node_ips"
            : "(SELECT ts, ip_num, source = 'sender' AS direct, node_id AS id_key FROM node_sightings)";
    }

    public static ReportWindow ResolveWindow(DuckDBConnection db, ReportOptions options) =>
        ReportWindow.Resolve(options.Until is null ? WindowCoverage.Span(db)?.Until : null, options.Days, options.Since, options.Until, options.UntilIsDay);

    // Integer microseconds keep the inclusive ends exact (the newest sighting is in the window)
    // and do not depend on the session's TimeZone setting.
    internal static string WindowPredicate(ReportWindow w) =>
        $"epoch_us(ts) BETWEEN {ToMicros(w.Since).ToString(CultureInfo.InvariantCulture)} AND {ToMicros(w.Until).ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The CTEs seen → keyed (one row per address or IPv6 prefix) → enriched (with asn, as_name, country).</summary>
    private static string Enriched(string seen, int? ipv6Prefix)
    {
        string key = AddressKey(ipv6Prefix);
        return $"""
            seen AS ({seen}),
            keyed AS (SELECT {key} AS k, bool_or(direct) AS direct FROM seen GROUP BY 1),
            enriched AS (
                SELECT k.k, k.direct,
                       CASE WHEN k.k <= a.end_num THEN a.asn END AS asn,
                       CASE WHEN k.k <= a.end_num THEN a.as_name END AS as_name,
                       coalesce(CASE WHEN k.k <= c.end_num THEN c.country END,
                                CASE WHEN k.k <= a.end_num THEN a.country END) AS country
                FROM keyed k
                ASOF LEFT JOIN asn_ranges a ON k.k >= a.start_num
                ASOF LEFT JOIN country_ranges c ON k.k >= c.start_num)
            """;
    }

    /// <summary>What one counted address is, over a sighting's <c>ip</c>: the address, or its IPv6 prefix.</summary>
    private static string AddressKey(int? ipv6Prefix)
    {
        if (ipv6Prefix is not { } p) return "ip";
        int shift = 128 - p;
        return $"CASE WHEN ip BETWEEN {V4Low} AND {V4High} THEN ip ELSE (ip >> {shift}) << {shift} END";
    }

    private static (long Total, long Unmatched, long Groups) Totals(DuckDBConnection db, string enriched, string column)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"WITH {enriched} SELECT count(*), count(*) FILTER (WHERE {column} IS NULL), count(DISTINCT {column}) FROM enriched";
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
    }

    private static void AddTotals(ResultTable table, long total, long unmatched, long groups, string groupName, string unmatchedName)
    {
        table.Facts.Add(new("distinct addresses", total));
        table.Facts.Add(new(groupName, groups));
        table.Facts.Add(new($"addresses with {unmatchedName}", new CountShare(unmatched, total)));
    }

    /// <summary>Lists the imported data sets of these kinds (with their dates and attribution) under the result.</summary>
    internal static void AddDatasets(DuckDBConnection db, ResultTable table, params RangeKind[] kinds)
    {
        foreach (var d in RangeStore.Datasets(db))
            if (Array.IndexOf(kinds, d.Kind) >= 0) table.Datasets.Add(d);
    }

    private static bool HasColumn(DuckDBConnection db, string table, string column) => RangeStore.ColumnExists(db, table, column);

    private static long CountryInAsnRanges(DuckDBConnection db) =>
        RangeStore.RangeCount(db, RangeKind.Asn) == 0 ? 0 : Scalar(db, "SELECT count(*) FROM asn_ranges WHERE country IS NOT NULL");

    /// <summary>
    /// SQL over <c>captures</c>: the captures whose rows are in the store and counted by reports — all but the
    /// failed ones and those interrupted before their first commit (no frames stored; an interrupted live
    /// capture keeps its flushed frames and counts). docs/schema.md.
    /// </summary>
    internal const string CapturesWithRows = "NOT (status = 'failed' OR (status = 'interrupted' AND coalesce(frames, 0) = 0))";

    internal static long Scalar(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        var v = cmd.ExecuteScalar();
        return v switch
        {
            null or DBNull => 0,
            System.Numerics.BigInteger b => (long)b, // sum() of BIGINT is a HUGEINT
            _ => Convert.ToInt64(v, CultureInfo.InvariantCulture),
        };
    }

    private static string Limit(int top) => top > 0 ? $"LIMIT {top.ToString(CultureInfo.InvariantCulture)}" : "";

    private static string? Str(System.Data.Common.DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static double Share(long part, long total) => total == 0 ? 0 : (double)part / total;

    internal static long ToMicros(DateTimeOffset t) => (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    internal static DateTimeOffset FromMicros(long us) => DateTimeOffset.UnixEpoch.AddTicks(us * 10);
}
