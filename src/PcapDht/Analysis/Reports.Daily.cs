using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Enrich;

namespace PcapDht.Analysis;

/// <summary>One UTC day of churn; <see cref="Asn"/> is set in the per-ASN breakdown. <see cref="Gone"/> is null on the last day of data.</summary>
public sealed record ChurnDay(DateTimeOffset Day, uint? Asn, string? AsName, long Ips, long New, long Returning, long? Gone);

public sealed class ChurnResult
{
    public required ReportWindow Window { get; init; }
    public List<ChurnDay> Days { get; } = [];
    /// <summary>The first day with any data: every address is new there, whatever came before the capture.</summary>
    public DateTimeOffset? FirstDayOfData { get; set; }
    public DateTimeOffset? LastDayOfData { get; set; }
    public string? Unavailable { get; set; }
}

public static partial class Reports
{
    private const long MicrosPerDay = Store.RollupSchema.MicrosPerDay;

    /// <summary>
    /// Churn per UTC day (docs/analysis.md, "Churn"): distinct addresses (node sightings and message
    /// senders, as <c>report asn</c> counts them), new ones (never seen on an earlier day of any data in
    /// the store), returning ones, and gone ones (never seen on a later day). Days are whole UTC days; the
    /// window picks the days it touches. With <paramref name="topAsns"/> &gt; 0, the same for each of the
    /// ASNs with the most addresses in the window.
    /// </summary>
    public static ChurnResult ChurnReport(DuckDBConnection db, ReportOptions options, int topAsns = 0, PopulationRelations? relations = null)
    {
        var rel = relations ?? PopulationRelations.Store;
        var window = ResolveWindow(db, options);
        var result = new ChurnResult { Window = window };
        bool hasNodes = RangeStore.RelationExists(db, rel.NodeSightings), hasMessages = RangeStore.RelationExists(db, rel.Messages);
        if (!hasNodes && !hasMessages)
        {
            result.Unavailable = "This database has no sightings yet: ingest a capture first (pcapdht ingest FILE --db FILE).";
            return result;
        }
        var parts = new List<string>();
        // Whole UTC days over all data: the rollups' (address, day) rows are exactly the detail's, pruned or not.
        if (rel == PopulationRelations.Store && ReadsRollups(db, options))
            parts.Add("SELECT ip_num, datediff('day', DATE '1970-01-01', day) AS day FROM address_days WHERE kind <> 'peer'");
        else if (DetailPrunedIn(db, null) is { } pruned)
        {
            result.Unavailable = pruned;
            return result;
        }
        else
        {
            if (hasNodes) parts.Add($"SELECT ip_num, epoch_us(ts) // {MicrosPerDay} AS day FROM {rel.NodeIds ?? NodeIps(db)} WHERE ip_num IS NOT NULL");
            if (hasMessages) parts.Add($"SELECT src_ip_num, epoch_us(ts) // {MicrosPerDay} FROM {rel.Messages} WHERE src_ip_num IS NOT NULL");
        }
        var (firstDay, lastDay) = DayNumbers(window);
        using var cmd = db.CreateCommand();
        cmd.CommandText = ChurnSql(string.Join("\n UNION ALL ", parts), firstDay, lastDay, topAsns);
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            if (r.IsDBNull(0)) continue;
            var day = FromMicros(r.GetInt64(0) * MicrosPerDay);
            result.FirstDayOfData ??= FromMicros(r.GetInt64(7) * MicrosPerDay);
            result.LastDayOfData ??= FromMicros(r.GetInt64(8) * MicrosPerDay);
            result.Days.Add(new ChurnDay(day, r.IsDBNull(1) ? null : Convert.ToUInt32(r.GetValue(1), CultureInfo.InvariantCulture), Str(r, 2),
                r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.IsDBNull(6) ? null : r.GetInt64(6)));
        }
        if (result.Days.Count == 0) result.Unavailable = $"No sightings in the window {window}.";
        return result;
    }

    public static ResultTable Daily(DuckDBConnection db, ReportOptions options, bool byAsn, PopulationRelations? relations = null)
    {
        int top = byAsn ? (options.Top > 0 ? options.Top : int.MaxValue) : 0;
        var r = ChurnReport(db, options, top, relations);
        var table = new ResultTable { Title = byAsn ? "Churn per day and ASN" : "Churn per day", Columns = DailyColumns(byAsn) };
        table.Window = r.Window;
        if (!HasSightingsIn(db, table, relations, detail: false)) return table;
        if (r.Unavailable is { } why)
        {
            table.Unavailable = why;
            return table;
        }
        table.Facts.Add(new("UTC days", (long)r.Days.Select(d => d.Day).Distinct().Count()));
        if (r.FirstDayOfData is { } f) table.Facts.Add(new("first day of data", DayText(f)));
        if (r.LastDayOfData is { } l) table.Facts.Add(new("last day of data", DayText(l)));
        table.Notes.Add("Days are whole UTC days touched by the window; addresses are node sightings and message senders, as report asn counts them.");
        table.Notes.Add("New: never seen on an earlier day of any data in the database; returning: seen on an earlier day; gone: not seen on any later day.");
        if (r.FirstDayOfData is { } first && r.Days.Any(d => d.Day == first))
            table.Notes.Add($"On {DayText(first)}, the first day of data, every address is new: nothing was captured before it.");
        if (r.LastDayOfData is { } last && r.Days.Any(d => d.Day == last))
            table.Notes.Add($"Gone is empty on {DayText(last)}, the last day of data: no later day can show who stayed.");
        if (byAsn) table.Notes.Add(top == int.MaxValue ? "ASNs: all." : $"ASNs: the {top} with the most addresses in the window (--top).");
        foreach (var d in r.Days)
        {
            var row = new List<object?> { DayText(d.Day) };
            if (byAsn) row.AddRange([d.Asn is { } a ? (long)a : null, d.AsName ?? (d.Asn is null ? "(no ASN range)" : null)]);
            row.AddRange([d.Ips, d.New, d.Returning, d.Gone]);
            table.Rows.Add([.. row]);
        }
        if (byAsn) AddDatasets(db, table, RangeKind.Asn);
        return table;
    }

    /// <summary>
    /// Addresses per day, for the page and <c>report daily --by asn --chart</c> alike: the rows of <c>report daily</c>
    /// (asn and as_name empty) followed by those of <c>report daily --by asn --top N</c>, so each line of the chart
    /// is a number those reports print.
    /// </summary>
    public static ResultTable DailyWithTopAsns(DuckDBConnection db, ReportOptions options, int topAsns)
    {
        var total = Daily(db, options, byAsn: false);
        var table = new ResultTable { Title = "Distinct IP addresses per day, all and for the top ASNs", Columns = DailyColumns(byAsn: true) };
        table.Window = total.Window;
        table.Unavailable = total.Unavailable;
        table.Facts.AddRange(total.Facts);
        table.Notes.AddRange(total.Notes);
        if (total.Unavailable is not null) return table;
        foreach (var row in total.Rows) table.Rows.Add([row[0], null, null, .. row[1..]]);
        if (topAsns <= 0) return table;
        if (RangeStore.RangeCount(db, RangeKind.Asn) == 0)
        {
            table.Notes.Add("No per-ASN lines: this database has no ASN data.");
            return table;
        }
        var byAsn = Daily(db, options with { Top = topAsns }, byAsn: true);
        table.Rows.AddRange(byAsn.Rows);
        table.Datasets.AddRange(byAsn.Datasets);
        table.Notes.Add($"ASN lines: the {topAsns} ASNs with the most addresses in the window, as report daily --by asn --top {topAsns} lists them.");
        return table;
    }

    private static List<ResultColumn> DailyColumns(bool byAsn)
    {
        var columns = new List<ResultColumn> { new("day", ColumnKind.Text) };
        if (byAsn) columns.AddRange([new("asn", ColumnKind.Number), new("as_name", ColumnKind.Text)]);
        columns.AddRange([new("ips", ColumnKind.Integer), new("new", ColumnKind.Integer), new("returning", ColumnKind.Integer), new("gone", ColumnKind.Integer)]);
        return columns;
    }

    /// <summary>
    /// One place for the churn SQL. <paramref name="seen"/> yields (ip_num, day) over all data: first and last
    /// days come from everything in the store, the window only picks which days are listed.
    /// </summary>
    internal static string ChurnSql(string seen, long firstDay, long lastDay, int topAsns)
    {
        string days = $"p.day BETWEEN {firstDay.ToString(CultureInfo.InvariantCulture)} AND {lastDay.ToString(CultureInfo.InvariantCulture)}";
        string common = $"""
            WITH per AS (SELECT ip_num, day FROM ({seen}) GROUP BY ALL),
            life AS (SELECT ip_num, min(day) AS first_day, max(day) AS last_day FROM per GROUP BY ip_num),
            span AS (SELECT min(day) AS first_data, max(day) AS last_data FROM per)
            """;
        string counts = """
            count(*), count(*) FILTER (WHERE l.first_day = p.day), count(*) FILTER (WHERE l.first_day < p.day),
            CASE WHEN p.day < any_value(s.last_data) THEN count(*) FILTER (WHERE l.last_day = p.day) END,
            any_value(s.first_data), any_value(s.last_data)
            """;
        if (topAsns <= 0)
            return $"""
                {common}
                SELECT p.day, NULL, NULL, {counts}
                FROM per p JOIN life l USING (ip_num), span s
                WHERE {days} GROUP BY p.day ORDER BY p.day
                """;
        return $"""
            {common},
            asn AS (
                SELECT l.ip_num, CASE WHEN l.ip_num <= a.end_num THEN a.asn END AS asn, CASE WHEN l.ip_num <= a.end_num THEN a.as_name END AS as_name
                FROM life l ASOF LEFT JOIN asn_ranges a ON l.ip_num >= a.start_num),
            top AS (
                SELECT x.asn FROM per p JOIN asn x USING (ip_num) WHERE {days}
                GROUP BY x.asn ORDER BY count(DISTINCT p.ip_num) DESC, x.asn NULLS LAST
                LIMIT {topAsns.ToString(CultureInfo.InvariantCulture)})
            SELECT p.day, x.asn, min(x.as_name), {counts}
            FROM per p JOIN life l USING (ip_num) JOIN asn x USING (ip_num) JOIN top t ON t.asn IS NOT DISTINCT FROM x.asn, span s
            WHERE {days}
            GROUP BY p.day, x.asn ORDER BY p.day, count(*) DESC, x.asn NULLS LAST
            """;
    }

    /// <summary>The UTC day numbers (days since 1970) of the window's first and last instant.</summary>
    private static (long First, long Last) DayNumbers(ReportWindow window) =>
        (Math.DivRem(ToMicros(window.Since), MicrosPerDay, out long rem) - (rem < 0 ? 1 : 0), Math.DivRem(ToMicros(window.Until), MicrosPerDay, out long r2) - (r2 < 0 ? 1 : 0));

    private static string DayText(DateTimeOffset d) => d.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
