using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Enrich;
using PcapDht.Store;

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
        if (!PrepareCounted(db, options, table, out string counted)) return table;
        // One pass: a group per ASN and one for the addresses no range holds (asn NULL), ordered as the rows are shown.
        // An AS's country is the most common one of its addresses (ties: the first in byte order).
        var groups = new List<(long? Asn, string? Name, string? Country, long Ips, long Direct)>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"""
                WITH {counted},
                modes AS (SELECT asn, first(country ORDER BY m DESC, country) AS country
                          FROM (SELECT asn, country, sum(n) AS m FROM counted WHERE country IS NOT NULL GROUP BY ALL) GROUP BY asn)
                SELECT c.asn, min(c.as_name), any_value(modes.country), sum(c.n)::BIGINT AS ips, sum(c.d)::BIGINT
                FROM counted c LEFT JOIN modes USING (asn) GROUP BY c.asn ORDER BY c.asn IS NULL, ips DESC, c.asn
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
                groups.Add((r.IsDBNull(0) ? null : Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), Str(r, 1), Str(r, 2), r.GetInt64(3), r.GetInt64(4)));
        }
        long total = groups.Sum(g => g.Ips), unmatched = groups.Where(g => g.Asn is null).Sum(g => g.Ips);
        AddTotals(table, total, unmatched, groups.Count(g => g.Asn is not null), "ASNs", "no ASN range");
        AddDatasets(db, table, RangeKind.Asn, RangeKind.Country);
        if (total > 0 && unmatched == total) WindowCoverage.ExplainUnmatched(db, table, total, "an ASN range");
        long rank = 0;
        foreach (var g in groups)
        {
            if (g.Asn is null || (options.Top > 0 && rank >= options.Top)) break;
            table.Rows.Add([++rank, g.Asn.Value, g.Name, g.Country, g.Ips, g.Direct, Share(g.Ips, total)]);
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
        if (!PrepareCounted(db, options, table, out string counted)) return table;
        // One pass: a group per country and ASN (the ASNs a country's addresses are in), summed per country here.
        var byCountry = new Dictionary<string, (long Ips, long Direct, long Asns)>(StringComparer.Ordinal);
        long total = 0, unmatched = 0;
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"""
                WITH {counted}
                SELECT country, asn IS NOT NULL, sum(n)::BIGINT, sum(d)::BIGINT FROM counted GROUP BY country, asn
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                long ips = r.GetInt64(2);
                total += ips;
                if (r.IsDBNull(0))
                {
                    unmatched += ips;
                    continue;
                }
                var c = byCountry.GetValueOrDefault(r.GetString(0));
                byCountry[r.GetString(0)] = (c.Ips + ips, c.Direct + r.GetInt64(3), c.Asns + (r.GetBoolean(1) ? 1 : 0));
            }
        }
        AddTotals(table, total, unmatched, byCountry.Count, "countries", "no country");
        AddDatasets(db, table, RangeKind.Country, RangeKind.Asn);
        if (total > 0 && unmatched == total) WindowCoverage.ExplainUnmatched(db, table, total, "a country range");
        long rank = 0;
        // ORDER BY ips DESC, country: DuckDB orders VARCHAR by bytes, as the ordinal comparison of these codes does.
        foreach (var (country, c) in byCountry.OrderByDescending(kv => kv.Value.Ips).ThenBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (options.Top > 0 && rank >= options.Top) break;
            table.Rows.Add([++rank, country, c.Ips, c.Direct, c.Asns, Share(c.Ips, total)]);
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
        if (!Prepare(db, options, table, out _, out bool rollups)) return table;
        var window = table.Window!.Value;
        // One row per message (detail) or per sender, day and capture (rollups): the same distinct addresses and ids,
        // and the same messages where the window cuts no day whose detail rows were pruned.
        WindowRows senders = rollups
            ? RowsIn(db, window, "sender_days", "ip_num AS ip, node_id, version, messages AS n", "messages", "src_ip_num, node_id, version, 1")
            : Detail($"SELECT src_ip_num AS ip, node_id, version, 1 AS n FROM messages WHERE {WindowPredicate(window)}");
        long totalIps = Scalar(db, $"SELECT count(DISTINCT ip) FROM ({senders.Upper})");
        table.Facts.Add(new("distinct sender addresses", totalIps));
        const string shape = "CASE WHEN version IS NULL THEN 0 WHEN octet_length(version) = 4 THEN 1 ELSE 2 END";
        const string hexV = "CASE WHEN octet_length(version) = 4 THEN hex(version) END";
        var lower = new Dictionary<(int, string?), long>();
        if (!senders.Exact)
        {
            using var lo = db.CreateCommand();
            lo.CommandText = $"SELECT {shape}, {hexV}, CAST(sum(n) AS BIGINT) FROM ({senders.Lower}) GROUP BY 1, 2";
            using var lr = lo.ExecuteReader();
            while (lr.Read()) lower[(lr.GetInt32(0), lr.IsDBNull(1) ? null : lr.GetString(1))] = lr.GetInt64(2);
        }
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT {shape} AS shape, {hexV} AS v, count(DISTINCT ip) AS ips, count(DISTINCT node_id), CAST(sum(n) AS BIGINT)
            FROM ({senders.Upper})
            GROUP BY 1, 2 ORDER BY ips DESC, v
            """;
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        long messagesLow = 0, messagesHigh = 0;
        while (r.Read())
        {
            int shapeOf = r.GetInt32(0);
            string client, code = "", version = "";
            if (shapeOf == 0) client = "(no v key)";
            else if (shapeOf == 2) client = "(v of another length)";
            else if (ClientVersion.TryDecode(Convert.FromHexString(r.GetString(1)), out code, out version))
                client = ClientVersion.ClientName(code) ?? "(unlisted code)";
            else
            {
                client = "(not ASCII)";
                version = r.GetString(1);
            }
            long ips = r.GetInt64(2), high = r.GetInt64(4);
            long low = senders.Exact ? high : lower.GetValueOrDefault((shapeOf, r.IsDBNull(1) ? null : r.GetString(1)));
            messagesLow += low;
            messagesHigh += high;
            rows.Add([0L, client, code, version, ips, r.GetInt64(3), low == high ? high : null, Share(ips, totalIps)]);
        }
        if (!senders.Exact)
        {
            table.Facts.Add(new("messages (bounds)", Bounds(messagesLow, messagesHigh, senders.Pruned!)));
            table.Notes.Add($"An empty messages cell is not known exactly: {senders.Pruned}. The ips and node_ids are exact.");
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
        ReportWindow? window = null;
        bool rollups;
        if (explicitWindow)
        {
            if (!Prepare(db, options, table, out _, out rollups)) return table;
            window = table.Window!.Value;
        }
        else if (WindowCoverage.Span(db, rollups = ReadsRollups(db, options)) is { } span)
        {
            table.Window = span;
            table.WindowIsAllData = true;
            if (!rollups && DetailPrunedBefore(db) is not null)
            {
                table.Unavailable = DetailPrunedIn(db, null);
                return table;
            }
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
        string where = window is { } w ? WindowPredicate(w) : "true";
        // Over the rollups: the rows with a sighting in the window (exact for distinct counts, RollupSchema's rule).
        string inWindow = window is { } rw ? RollupPredicate(rw) : "true";
        if (hasMessages)
        {
            WindowRows messages = rollups
                ? RowsIn(db, window, "message_days", "y, method, messages AS n, first_us, last_us", "messages", "y, method, 1, epoch_us(ts), epoch_us(ts)")
                : Detail($"SELECT y, method, 1 AS n, epoch_us(ts) AS first_us, epoch_us(ts) AS last_us FROM messages WHERE {where}");
            AddMessageTimes(db, messages, window, Add);
            Add("messages", Sum(db, messages));
            var byTypeLow = new Dictionary<string, long>(StringComparer.Ordinal);
            const string typeSql = "SELECT coalesce(CAST(y AS VARCHAR), '?'), coalesce(CAST(method AS VARCHAR), '-'), CAST(sum(n) AS BIGINT) AS n FROM ({0}) GROUP BY 1, 2";
            if (!messages.Exact)
            {
                using var lo = db.CreateCommand();
                lo.CommandText = string.Format(CultureInfo.InvariantCulture, typeSql, messages.Lower);
                using var lr = lo.ExecuteReader();
                while (lr.Read()) byTypeLow[$"messages y={lr.GetString(0)} {lr.GetString(1)}"] = lr.GetInt64(2);
            }
            using (var byType = db.CreateCommand())
            {
                byType.CommandText = string.Format(CultureInfo.InvariantCulture, typeSql, messages.Upper) + " ORDER BY 1, 3 DESC, 2";
                using var r = byType.ExecuteReader();
                while (r.Read())
                {
                    string metric = $"messages y={r.GetString(0)} {r.GetString(1)}";
                    Add(metric, Bounds(messages.Exact ? r.GetInt64(2) : byTypeLow.GetValueOrDefault(metric), r.GetInt64(2), messages.Pruned));
                }
            }
            string senders = rollups ? $"SELECT ip_num AS ip, node_id FROM sender_days WHERE {inWindow}" : $"SELECT src_ip_num AS ip, node_id FROM messages WHERE {where}";
            Add("distinct sender IPs", Scalar(db, $"SELECT count(DISTINCT ip) FROM ({senders})"));
            Add("distinct sender node ids", Scalar(db, $"SELECT count(DISTINCT node_id) FROM ({senders})"));
        }
        if (hasSightings)
        {
            string nodes = rollups ? $"(SELECT ip_num FROM address_days WHERE node AND {inWindow})" : $"(SELECT ip_num FROM {NodeIps(db)} WHERE {where})";
            string ids = rollups ? $"(SELECT id_key FROM node_id_days WHERE {inWindow})" : $"(SELECT id_key FROM {NodeIps(db)} WHERE {where})";
            Add("distinct IPs in node sightings", Scalar(db, $"SELECT count(DISTINCT ip_num) FROM {nodes}"));
            Add("distinct node ids in node sightings", Scalar(db, $"SELECT count(DISTINCT id_key) FROM {ids}"));
        }
        if (RangeStore.RelationExists(db, "peer_sightings"))
            Add("distinct peer IPs (values, announce_peer)", Scalar(db, rollups
                ? $"SELECT count(DISTINCT ip_num) FROM address_days WHERE kind = 'peer' AND {inWindow}"
                : $"SELECT count(DISTINCT ip_num) FROM peer_sightings WHERE {where}"));
        // One malformed count: the datagrams themselves (windowed like every other row). The per-capture
        // sum in `captures` counts the same datagrams, so showing both only invited comparing them.
        if (RangeStore.RelationExists(db, "malformed_krpc"))
        {
            WindowRows malformed = rollups
                ? RowsIn(db, window, "malformed_days", "datagrams AS n", "malformed_krpc", "1")
                : Detail($"SELECT 1 AS n FROM malformed_krpc WHERE {where}");
            Add("malformed KRPC datagrams", Sum(db, malformed));
        }
        // The data sets are listed once, under the table with their attribution, not as rows too.
        AddDatasets(db, table, RangeKind.Asn, RangeKind.Country);
        return table;
    }

    /// <summary>
    /// The first and last message of the window: exact, or, where a cut day's detail rows were pruned, bounds (a cut row's
    /// sighting in the window lies between the window's edge and the row's last, or first, sighting).
    /// </summary>
    private static void AddMessageTimes(DuckDBConnection db, WindowRows rows, ReportWindow? window, Action<string, object?> add)
    {
        using var span = db.CreateCommand();
        string s = window is { } w ? Num(ToMicros(w.Since)) : "first_us", u = window is { } x ? Num(ToMicros(x.Until)) : "last_us";
        span.CommandText = $"""
            SELECT min(greatest(first_us, {s})), min(CASE WHEN first_us >= {s} THEN first_us ELSE last_us END),
                   max(CASE WHEN last_us <= {u} THEN last_us ELSE first_us END), max(least(last_us, {u}))
            FROM ({rows.Upper})
            """;
        using var r = span.ExecuteReader();
        r.Read();
        add("first message", TimeBounds(r, 0, rows.Pruned));
        add("last message", TimeBounds(r, 2, rows.Pruned));
    }

    private static object? TimeBounds(System.Data.Common.DbDataReader r, int i, string? why)
    {
        if (r.IsDBNull(i)) return null;
        long lo = Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture), hi = Convert.ToInt64(r.GetValue(i + 1), CultureInfo.InvariantCulture);
        if (lo == hi) return FromMicros(lo);
        return $"{ReportWindow.Format(FromMicros(lo))} to {ReportWindow.Format(FromMicros(hi))} (bounds: {why})";
    }

    /// <summary>A count, or where it cannot be exact its bounds, labelled as such with the reason.</summary>
    private static object Bounds(long low, long high, string? why) =>
        low == high || why is null ? high : $"{low.ToString("#,0", CultureInfo.InvariantCulture)} to {high.ToString("#,0", CultureInfo.InvariantCulture)} (bounds: {why})";

    /// <summary>The sum of the rows' <c>n</c>: exact, or its bounds.</summary>
    private static object Sum(DuckDBConnection db, WindowRows rows)
    {
        long high = Scalar(db, $"SELECT sum(n) FROM ({rows.Upper})");
        return rows.Exact ? high : Bounds(Scalar(db, $"SELECT sum(n) FROM ({rows.Lower})"), high, rows.Pruned);
    }

    /// <summary>Detail rows of a window: exact, the same SQL for both bounds.</summary>
    private static WindowRows Detail(string sql) => new(sql, sql, null);

    internal const string NoSightings = "This database has no sightings yet: ingest a capture first (pcapdht ingest FILE --db FILE).";

    /// <summary>
    /// Resolves the window, records it, and builds the sightings union; false (with <see cref="ResultTable.Unavailable"/>
    /// saying why) when there is nothing to count: no sightings at all, or none in the window (then it also says
    /// what lies outside the window and which --since/--until would include it), or the detail rows it needs were pruned.
    /// The union has the columns ip and direct (and day, the UTC day number, with <paramref name="withDay"/>): from the
    /// daily rollups when <paramref name="rollups"/> comes back true, else from the detail rows.
    /// </summary>
    /// <param name="detailOnly">The report reads the detail rows itself (the union is then built from them too).</param>
    private static bool Prepare(DuckDBConnection db, ReportOptions options, ResultTable table, out string seen, out bool rollups,
        bool withDay = false, bool detailOnly = false)
    {
        seen = "";
        rollups = !detailOnly && ReadsRollups(db, options);
        var parts = new List<string>();
        var span = WindowCoverage.Span(db, rollups);
        if (span is null)
        {
            table.Unavailable = NoSightings;
            return false;
        }
        var window = ReportWindow.Resolve(span.Value.Until, options.Days, options.Since, options.Until, options.UntilIsDay);
        table.Window = window;
        if (options.Ipv6Prefix is { } p) table.Facts.Add(new("IPv6 prefix length", (long)p));
        // A window within one UTC day that is not the whole day: the rollups cannot tell which of the day's rows
        // fall in it, so the detail rows answer (and where they were pruned, nothing can).
        if (rollups && !RollupExact(window)) rollups = false;
        if (!rollups && DetailPrunedIn(db, window) is { } pruned)
        {
            table.Unavailable = pruned;
            return false;
        }
        if (rollups)
        {
            string day = withDay ? ", datediff('day', DATE '1970-01-01', day) AS day" : "";
            parts.Add($"SELECT ip_num AS ip, direct{day} FROM address_days WHERE kind <> 'peer' AND {RollupPredicate(window)}");
        }
        else
        {
            string where = WindowPredicate(window);
            string columns = withDay ? $", epoch_us(ts) // {MicrosPerDay} AS day" : "";
            if (RangeStore.RelationExists(db, "node_sightings"))
                parts.Add($"SELECT ip_num AS ip, direct{columns} FROM {NodeIps(db)} WHERE ip_num IS NOT NULL AND {where}");
            if (RangeStore.RelationExists(db, "messages"))
                parts.Add($"SELECT src_ip_num AS ip, true AS direct{columns} FROM messages WHERE src_ip_num IS NOT NULL AND {where}");
        }
        if (window.Until < span.Value.Since || window.Since > span.Value.Until || !AnyIn(db, parts))
        {
            table.Unavailable = WindowCoverage.ExplainEmpty(db, window, span.Value);
            return false;
        }
        seen = string.Join("\n UNION ALL ", parts);
        return true;
    }

    /// <summary>
    /// <see cref="Prepare"/> for the reports over the CTE <c>counted</c> (asn, as_name, country; n addresses, d of them
    /// seen directly): from the address index when it is current and answers the window (Store/AddressIndex.cs), one row
    /// per pair of ranges; otherwise from <see cref="Prepare"/>'s union (rollups or detail) through
    /// <see cref="Enriched(string, int?)"/>, one row per (asn, as_name, country).
    /// </summary>
    private static bool PrepareCounted(DuckDBConnection db, ReportOptions options, ResultTable table, out string counted)
    {
        counted = "";
        if (options.Source is ReportSource.Auto or ReportSource.Index)
        {
            string? why = null;
            if (options.Ipv6Prefix is not null) why = "it holds addresses, not --ipv6-prefix prefixes";
            else if (AddressIndex.Current(db) is not { } state) why = "it is missing or older than the store's captures or ranges (ingest and asn import bring it up to date)";
            else if (state.LastUs < state.FirstUs)
            {
                table.Unavailable = NoSightings;
                return false;
            }
            else
            {
                var span = new ReportWindow(FromMicros(state.FirstUs), FromMicros(state.LastUs));
                var window = ReportWindow.Resolve(span.Until, options.Days, options.Since, options.Until, options.UntilIsDay);
                if (AddressIndex.CountedIn(state, ToMicros(window.Since), ToMicros(window.Until)) is { } sql)
                {
                    table.Window = window;
                    if (window.Until < span.Since || window.Since > span.Until || Scalar(db, $"WITH {sql} SELECT count(*) FROM (SELECT 1 FROM counted LIMIT 1)") == 0)
                    {
                        table.Unavailable = WindowCoverage.ExplainEmpty(db, window, span);
                        return false;
                    }
                    counted = sql;
                    return true;
                }
                why = $"its days reach back to {DayText(state.Anchor - AddressIndex.DaysCovered + 1)} and a window within one day must be that whole day";
            }
            if (options.Source == ReportSource.Index) throw new ArgumentException($"--source index: the address index cannot answer this report: {why}");
        }
        if (!Prepare(db, options, table, out var seen, out _)) return false;
        counted = $"""
            {Enriched(seen, options.Ipv6Prefix)},
            counted AS (SELECT asn, as_name, country, count(*) AS n, count(*) FILTER (WHERE direct) AS d FROM enriched GROUP BY ALL)
            """;
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
        ReportWindow.Resolve(options.Until is null ? WindowCoverage.Span(db, options.Source != ReportSource.Detail && HasRollups(db))?.Until : null, options.Days, options.Since, options.Until, options.UntilIsDay);

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
