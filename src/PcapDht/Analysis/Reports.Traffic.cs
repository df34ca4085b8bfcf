using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Enrich;

namespace PcapDht.Analysis;

/// <summary>
/// Reports over time and traffic (addresses per day, messages by method, response times, malformed
/// datagrams, capture health): what `report html` shows beside the ASN and country tables. Each one
/// counts the same window and the same addresses as the reports in Reports.cs.
/// </summary>
public static partial class Reports
{
    /// <summary>
    /// Distinct addresses per UTC day: one row per day of the window for all addresses (asn NULL),
    /// zeros included, then one row per day for each of the <paramref name="topAsns"/> ASNs with the
    /// most addresses in the whole window (the first rows of <see cref="Asn"/>), on days they were seen.
    /// </summary>
    public static ResultTable AddressesPerDay(DuckDBConnection db, ReportOptions options, int topAsns = 5)
    {
        var table = new ResultTable
        {
            Title = "Distinct IP addresses per day",
            Columns =
            [
                new("day", ColumnKind.Text), new("asn", ColumnKind.Number), new("as_name", ColumnKind.Text),
                new("ips", ColumnKind.Integer), new("direct_ips", ColumnKind.Integer),
            ],
        };
        const long microsPerDay = TimeSpan.TicksPerDay / 10;
        // UTC days since the epoch (captures are after 1970, where // and the floor below agree).
        if (!Prepare(db, options, table, out var seen, out _, withDay: true)) return table;
        var window = table.Window!.Value;
        long since = ToMicros(window.Since), until = ToMicros(window.Until);
        long firstDay = (long)Math.Floor(since / (double)microsPerDay), lastDay = (long)Math.Floor(until / (double)microsPerDay);
        bool partial = since != firstDay * microsPerDay || until != (lastDay + 1) * microsPerDay - 1;
        table.Facts.Add(new("UTC days", lastDay - firstDay + 1));
        if (partial) table.Notes.Add("The first and last days are partial: the window starts or ends within them.");
        string key = AddressKey(options.Ipv6Prefix);
        bool withAsns = topAsns > 0 && RangeStore.RangeCount(db, RangeKind.Asn) > 0;
        string perAsn = withAsns
            ? $"""
              UNION ALL
              SELECT d.day, e.asn, t.as_name, count(*), count(*) FILTER (WHERE d.direct), t.rank
              FROM daily d JOIN enriched e ON d.k = e.k JOIN top t ON e.asn = t.asn
              GROUP BY d.day, e.asn, t.as_name, t.rank
              """
            : "";
        string top = withAsns
            ? $"""
              , top AS (SELECT asn, min(as_name) AS as_name, row_number() OVER (ORDER BY count(*) DESC, asn) AS rank
                       FROM enriched WHERE asn IS NOT NULL GROUP BY asn ORDER BY rank LIMIT {topAsns.ToString(CultureInfo.InvariantCulture)})
              """
            : "";
        if (!withAsns && topAsns > 0) table.Notes.Add("No per-ASN lines: this database has no ASN data.");
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            WITH {Enriched(seen, options.Ipv6Prefix)},
            daily AS (SELECT day, {key} AS k, bool_or(direct) AS direct FROM seen GROUP BY ALL),
            days AS (SELECT range AS day FROM range({firstDay.ToString(CultureInfo.InvariantCulture)}, {(lastDay + 1).ToString(CultureInfo.InvariantCulture)}))
            {top}
            SELECT days.day, NULL::BIGINT AS asn, NULL::VARCHAR AS as_name, count(d.k), count(*) FILTER (WHERE d.direct), 0 AS rank
            FROM days LEFT JOIN daily d ON d.day = days.day GROUP BY days.day
            {perAsn}
            ORDER BY rank, 1
            """;
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            string day = DateTimeOffset.UnixEpoch.AddDays(r.GetInt64(0)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            table.Rows.Add([day, r.IsDBNull(1) ? null : Convert.ToInt64(r.GetValue(1)), Str(r, 2), r.GetInt64(3), r.GetInt64(4)]);
        }
        if (withAsns) AddDatasets(db, table, RangeKind.Asn);
        return table;
    }

    /// <summary>KRPC messages in the window per method, split into queries, responses and errors.</summary>
    public static ResultTable MessageKinds(DuckDBConnection db, ReportOptions options)
    {
        var table = new ResultTable
        {
            Title = "KRPC messages by method",
            Columns =
            [
                new("method", ColumnKind.Text), new("queries", ColumnKind.Integer), new("responses", ColumnKind.Integer),
                new("errors", ColumnKind.Integer), new("messages", ColumnKind.Integer), new("share", ColumnKind.Share),
            ],
        };
        if (!HasMessages(db, table) || !Prepare(db, options, table, out _, out _, detailOnly: true)) return table;
        string where = WindowPredicate(table.Window!.Value);
        long total = 0, unmatched = 0;
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"""
                SELECT coalesce(method, '') AS m, count(*) FILTER (WHERE y = 'q'), count(*) FILTER (WHERE y = 'r'),
                       count(*) FILTER (WHERE y = 'e'), count(*) AS n
                FROM messages WHERE {where} GROUP BY 1 ORDER BY n DESC, m
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                string method = r.GetString(0);
                long n = r.GetInt64(4);
                total += n;
                if (method.Length == 0) unmatched += n;
                table.Rows.Add([method.Length == 0 ? "(query not captured)" : method, r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), n, 0.0]);
            }
        }
        foreach (var row in table.Rows) row[5] = Share((long)row[4]!, total);
        if (options.Top > 0 && table.Rows.Count > options.Top) table.Rows.RemoveRange(options.Top, table.Rows.Count - options.Top);
        table.Facts.Add(new("messages", total));
        table.Facts.Add(new("answers whose query is not in the capture", unmatched));
        return table;
    }

    /// <summary>Upper bin edges of <see cref="ResponseTimes"/>, in microseconds: 1-2-5 steps from 0.1 ms to 10 s.</summary>
    internal static readonly long[] RttEdgesUs =
        [100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000];

    /// <summary>
    /// How long answers took: responses and errors matched to their query in the same capture
    /// (<c>messages.rtt_us</c>), in bins on a 1-2-5 scale; the bins from the first to the last non-empty one.
    /// </summary>
    public static ResultTable ResponseTimes(DuckDBConnection db, ReportOptions options)
    {
        var table = new ResultTable
        {
            Title = "Response times (query to answer, as seen at the capture point)",
            Columns =
            [
                new("bin", ColumnKind.Text), new("from_ms", ColumnKind.Other), new("to_ms", ColumnKind.Other),
                new("answers", ColumnKind.Integer), new("share", ColumnKind.Share),
            ],
        };
        if (!HasMessages(db, table) || !Prepare(db, options, table, out _, out _, detailOnly: true)) return table;
        string where = WindowPredicate(table.Window!.Value);
        var bin = new System.Text.StringBuilder("CASE");
        for (int i = 0; i < RttEdgesUs.Length; i++)
            bin.Append(CultureInfo.InvariantCulture, $" WHEN rtt_us < {RttEdgesUs[i]} THEN {i}");
        bin.Append(CultureInfo.InvariantCulture, $" ELSE {RttEdgesUs.Length} END");
        var counts = new long[RttEdgesUs.Length + 1];
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"SELECT {bin} AS b, count(*) FROM messages WHERE y IN ('r', 'e') AND rtt_us IS NOT NULL AND {where} GROUP BY 1";
            using var r = cmd.ExecuteReader();
            while (r.Read()) counts[r.GetInt32(0)] = r.GetInt64(1);
        }
        long matched = counts.Sum();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"""
                SELECT count(*) FILTER (WHERE rtt_us IS NULL), quantile_cont(rtt_us, 0.5), quantile_cont(rtt_us, 0.9)
                FROM messages WHERE y IN ('r', 'e') AND {where}
                """;
            using var r = cmd.ExecuteReader();
            r.Read();
            table.Facts.Add(new("answers matched to their query", matched));
            table.Facts.Add(new("answers without their query in the capture", r.GetInt64(0)));
            if (!r.IsDBNull(1))
            {
                table.Facts.Add(new("median ms", Math.Round(r.GetDouble(1) / 1000, 3)));
                table.Facts.Add(new("90th percentile ms", Math.Round(r.GetDouble(2) / 1000, 3)));
            }
        }
        int first = Array.FindIndex(counts, c => c > 0), last = Array.FindLastIndex(counts, c => c > 0);
        for (int i = first; i >= 0 && i <= last; i++)
        {
            double? from = i == 0 ? null : RttEdgesUs[i - 1] / 1000.0;
            double? to = i == RttEdgesUs.Length ? null : RttEdgesUs[i] / 1000.0;
            string label = from is null ? $"< {Ms(to!.Value)}" : to is null ? $"≥ {Ms(from.Value)}" : $"{Ms(from.Value)}–{Ms(to.Value)}";
            table.Rows.Add([label, from, to, counts[i], Share(counts[i], matched)]);
        }
        return table;
    }

    /// <summary>Datagrams in the window that looked like KRPC but did not decode, by reason.</summary>
    public static ResultTable MalformedReasons(DuckDBConnection db, ReportOptions options)
    {
        var table = new ResultTable
        {
            Title = "Malformed KRPC datagrams by reason",
            Columns = [new("reason", ColumnKind.Text), new("datagrams", ColumnKind.Integer), new("share", ColumnKind.Share)],
        };
        if (!RangeStore.RelationExists(db, "malformed_krpc"))
        {
            table.Unavailable = "This database has no malformed_krpc relation: ingest a capture first (pcapdht ingest FILE --db FILE).";
            return table;
        }
        if (!Prepare(db, options, table, out _, out _, detailOnly: true)) return table;
        string where = WindowPredicate(table.Window!.Value);
        long total = Scalar(db, $"SELECT count(*) FROM malformed_krpc WHERE {where}");
        table.Facts.Add(new("malformed datagrams", total));
        if (RangeStore.RelationExists(db, "messages"))
            table.Facts.Add(new("KRPC messages decoded", Scalar(db, $"SELECT count(*) FROM messages WHERE {where}")));
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT coalesce(reason, '?') AS reason, count(*) AS n FROM malformed_krpc WHERE {where} GROUP BY 1 ORDER BY n DESC, reason {Limit(options.Top)}";
        using var r = cmd.ExecuteReader();
        while (r.Read()) table.Rows.Add([r.GetString(0), r.GetInt64(1), Share(r.GetInt64(1), total)]);
        return table;
    }

    /// <summary>
    /// The captures whose time span overlaps the window (and those that stored no frame at all), with
    /// their status, counts, the damage or error that stopped them, and live captures' packet drops. The
    /// <c>captures</c> fact counts those whose rows are stored (<see cref="CapturesWithRows"/>), as the overview does.
    /// </summary>
    public static ResultTable CaptureHealth(DuckDBConnection db, ReportOptions options)
    {
        var table = new ResultTable
        {
            Title = "Captures in the window",
            Columns =
            [
                new("capture_id", ColumnKind.Number), new("source", ColumnKind.Text), new("kind", ColumnKind.Text),
                new("status", ColumnKind.Text), new("first_ts", ColumnKind.Text), new("last_ts", ColumnKind.Text),
                new("frames", ColumnKind.Integer), new("krpc_messages", ColumnKind.Integer), new("malformed_krpc", ColumnKind.Integer),
                new("dropped", ColumnKind.Integer), new("error", ColumnKind.Text),
            ],
        };
        if (!RangeStore.RelationExists(db, "captures"))
        {
            table.Unavailable = "This database has no captures yet: ingest one first (pcapdht ingest FILE --db FILE).";
            return table;
        }
        var window = ResolveWindow(db, options);
        table.Window = window;
        // pcap_dropped (the kernel buffer was full) and if_dropped (the interface dropped) are libpcap's
        // counters of a live capture; files have none.
        string dropped = HasColumn(db, "captures", "pcap_dropped") && HasColumn(db, "captures", "if_dropped")
            ? "CASE WHEN pcap_dropped IS NULL AND if_dropped IS NULL THEN NULL ELSE coalesce(pcap_dropped, 0) + coalesce(if_dropped, 0) END"
            : "NULL::BIGINT";
        string since = ToMicros(window.Since).ToString(CultureInfo.InvariantCulture), until = ToMicros(window.Until).ToString(CultureInfo.InvariantCulture);
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT capture_id, source, kind, status, epoch_us(first_ts), epoch_us(last_ts), frames, krpc_messages, malformed_krpc, {dropped}, error,
                {CapturesWithRows} AS counted
            FROM captures
            WHERE (first_ts IS NULL AND status <> 'complete') OR (epoch_us(first_ts) <= {until} AND epoch_us(coalesce(last_ts, first_ts)) >= {since})
            ORDER BY first_ts NULLS LAST, capture_id
            """;
        using var r = cmd.ExecuteReader();
        var byStatus = new SortedDictionary<string, int>(StringComparer.Ordinal);
        long drops = 0, withRows = 0;
        while (r.Read())
        {
            string source = r.GetString(1);
            string status = r.GetString(3);
            byStatus[status] = byStatus.GetValueOrDefault(status) + 1;
            if (r.GetBoolean(11)) withRows++;
            long? drop = r.IsDBNull(9) ? null : Convert.ToInt64(r.GetValue(9));
            drops += drop ?? 0;
            table.Rows.Add([
                Convert.ToInt64(r.GetValue(0)), SourceName(source), Str(r, 2), status,
                r.IsDBNull(4) ? null : ReportWindow.Format(FromMicros(r.GetInt64(4))),
                r.IsDBNull(5) ? null : ReportWindow.Format(FromMicros(r.GetInt64(5))),
                r.IsDBNull(6) ? null : Convert.ToInt64(r.GetValue(6)), r.IsDBNull(7) ? null : Convert.ToInt64(r.GetValue(7)),
                r.IsDBNull(8) ? null : Convert.ToInt64(r.GetValue(8)), drop, Str(r, 10),
            ]);
        }
        table.Facts.Add(new("captures", withRows));
        if (withRows < table.Rows.Count) table.Facts.Add(new("captures without rows (failed or interrupted, not counted)", table.Rows.Count - withRows));
        foreach (var (status, n) in byStatus) table.Facts.Add(new(status, (long)n));
        table.Facts.Add(new("packets dropped by live captures", drops));
        table.Notes.Add("The counts are per whole capture, including any part outside the window.");
        return table;
    }

    /// <summary>A file's name without its directories (a shared report should not carry local paths); live:IFACE and - as they are.</summary>
    private static string SourceName(string source) =>
        source.StartsWith("live:", StringComparison.Ordinal) || source == "-" ? source : Path.GetFileName(source);

    private static bool HasMessages(DuckDBConnection db, ResultTable table)
    {
        if (RangeStore.RelationExists(db, "messages")) return true;
        table.Unavailable = "This database has no messages yet: ingest a capture first (pcapdht ingest FILE --db FILE).";
        return false;
    }

    private static string Ms(double ms) => ms switch
    {
        >= 1000 => (ms / 1000).ToString("0.##", CultureInfo.InvariantCulture) + " s",
        >= 1 => ms.ToString("0.#", CultureInfo.InvariantCulture) + " ms",
        _ => ms.ToString("0.###", CultureInfo.InvariantCulture) + " ms",
    };
}
