using System.Globalization;
using System.Numerics;
using DuckDB.NET.Data;
using PcapDht.Enrich;
using PcapDht.Net;

namespace PcapDht.Analysis;

/// <summary>How <c>report size</c> groups its estimates.</summary>
public enum SizeGrouping
{
    /// <summary>One estimate per address family over the whole window.</summary>
    Window,
    /// <summary>One estimate per UTC day (of each lookup's first query) and family.</summary>
    Day,
    /// <summary>No estimate: every lookup with its k-th distance and why it was used or not.</summary>
    Lookup,
}

public sealed record SizeOptions
{
    public SizeGrouping By { get; init; } = SizeGrouping.Window;

    /// <summary>Converged lookups needed for an estimate (per family, and per day with <see cref="SizeGrouping.Day"/>).</summary>
    public int MinimumLookups { get; init; } = SizeEstimator.MinimumLookups;

    public PopulationRelations Relations { get; init; } = PopulationRelations.Store;
}

/// <summary>Why a lookup did or did not count.</summary>
public enum LookupStatus
{
    Used,
    /// <summary>Another converged lookup for the same target came first: it samples the same neighbourhood.</summary>
    RepeatedTarget,
    /// <summary>Its closest live ids did not all answer: it stopped (or the capture ended) before converging.</summary>
    NotConverged,
    /// <summary>Fewer than k distinct nodes answered it: Kademlia's stopping rule cannot have been met.</summary>
    TooFewAnswers,
}

/// <summary>
/// One lookup: the queries of one querier for one target, without a pause longer than <see cref="Reports.LookupGap"/>.
/// <see cref="Responders"/>: distinct node ids that answered; <see cref="Ids"/>: distinct ids it learnt (answering nodes
/// and contacts), counting only those as close as its k-th closest answering node unless every lookup is listed
/// (<see cref="SizeGrouping.Lookup"/>); <see cref="KthDistance"/>: the k-th smallest XOR distance to the target, a
/// fraction of the id space.
/// </summary>
public sealed record LookupSummary(
    int Family, IpAddr Querier, int QuerierPort, ulong TargetPrefix, DateTimeOffset Start,
    long Queries, long Answered, long Responders, long Ids, double? KthDistance, LookupStatus Status)
{
    /// <summary>The first 8 bytes of the k closest ids, closest first (what mark–recapture samples).</summary>
    public IReadOnlyList<ulong> Closest { get; init; } = [];
}

/// <summary>One estimate row of <c>report size</c>.</summary>
public sealed record SizeRow(
    DateTimeOffset? Day, int Family, string Method, Interval? Estimate,
    long? LookupsUsed, long? LookupsRejected, string Note);

/// <summary>What <c>report size</c> found: estimates, every lookup it looked at, and the window.</summary>
public sealed class SizeResult
{
    public required ReportWindow Window { get; init; }
    public List<SizeRow> Rows { get; } = [];
    public List<LookupSummary> Lookups { get; } = [];
    /// <summary>Set when no estimate can be given, with the reason in one line.</summary>
    public string? Unavailable { get; set; }
}

public static partial class Reports
{
    /// <summary>Queries of one querier for one target belong to one lookup unless this much time passes between two.</summary>
    public static readonly TimeSpan LookupGap = TimeSpan.FromSeconds(120);

    public const string XorMethod = "xor-distance";
    public const string ChapmanMethod = "mark-recapture";

    /// <summary>The passive DHT size estimate (docs/analysis.md, "How big is the DHT?").</summary>
    public static SizeResult SizeEstimate(DuckDBConnection db, ReportOptions options, SizeOptions size)
    {
        var rel = size.Relations;
        var window = ResolveWindow(db, options);
        var result = new SizeResult { Window = window };
        if (!RangeStore.RelationExists(db, rel.LookupQueries) || !RangeStore.RelationExists(db, rel.ReplyContacts))
        {
            result.Unavailable = $"This database has no {rel.LookupQueries} relation: ingest a capture with this pcapdht first (pcapdht ingest FILE --db FILE).";
            return result;
        }
        string where = WindowPredicate(window);
        ReadLookups(db, LookupsSql(rel, where, bounded: size.By != SizeGrouping.Lookup), result.Lookups);
        MarkUsed(result.Lookups);
        if (size.By == SizeGrouping.Lookup) return result;

        var groups = result.Lookups
            .GroupBy(l => (Day: size.By == SizeGrouping.Day ? Day(l.Start) : (DateTimeOffset?)null, l.Family))
            .OrderBy(g => g.Key.Day).ThenBy(g => g.Key.Family);
        foreach (var g in groups)
        {
            var used = g.Where(l => l.Status == LookupStatus.Used).Select(l => l.KthDistance!.Value).ToList();
            long rejected = g.LongCount() - used.Count;
            if (used.Count < size.MinimumLookups)
            {
                result.Rows.Add(new SizeRow(g.Key.Day, g.Key.Family, XorMethod, null, used.Count, rejected,
                    $"too few converged lookups ({used.Count}; {size.MinimumLookups} needed)"));
                continue;
            }
            result.Rows.Add(new SizeRow(g.Key.Day, g.Key.Family, XorMethod, SizeEstimator.FromKthDistances(used), used.Count, rejected,
                $"k = {SizeEstimator.K}, median of the {SizeEstimator.K}th-closest distance, 95% bootstrap interval"));
        }
        if (!result.Rows.Any(r => r.Estimate is not null))
        {
            result.Unavailable = RefusalReason(result.Lookups, size.MinimumLookups);
            return result;
        }
        AddChapman(result);
        return result;
    }

    /// <summary><see cref="SizeEstimate"/> as a table (what the CLI renders).</summary>
    public static ResultTable Size(DuckDBConnection db, ReportOptions options, SizeOptions size)
    {
        var r = SizeEstimate(db, options, size);
        bool byDay = size.By == SizeGrouping.Day;
        var table = size.By == SizeGrouping.Lookup
            ? new ResultTable
            {
                Title = "Lookups seen (report size --by lookup)",
                Columns =
                [
                    new("family", ColumnKind.Text), new("querier", ColumnKind.Text), new("target", ColumnKind.Text),
                    new("start", ColumnKind.Text), new("queries", ColumnKind.Integer), new("answered", ColumnKind.Integer),
                    new("answering_nodes", ColumnKind.Integer), new("ids", ColumnKind.Integer), new("kth_distance", ColumnKind.Other), new("estimate", ColumnKind.Integer),
                    new("status", ColumnKind.Text),
                ],
            }
            : new ResultTable
            {
                Title = "DHT size (nodes), estimated from the lookups in the traffic",
                Columns =
                [
                    .. byDay ? new[] { new ResultColumn("day", ColumnKind.Text) } : [],
                    new("family", ColumnKind.Text), new("method", ColumnKind.Text), new("estimate", ColumnKind.Integer),
                    new("ci_low", ColumnKind.Integer), new("ci_high", ColumnKind.Integer), new("lookups_used", ColumnKind.Integer),
                    new("lookups_rejected", ColumnKind.Integer), new("note", ColumnKind.Text),
                ],
            };
        table.Window = r.Window;
        if (!HasSightingsIn(db, table, size.Relations)) return table;
        AddLookupFacts(table, r.Lookups);
        if (r.Unavailable is { } why && size.By != SizeGrouping.Lookup)
        {
            table.Unavailable = why;
            return table;
        }
        if (size.By == SizeGrouping.Lookup)
        {
            foreach (var l in r.Lookups)
                table.Rows.Add([Family(l.Family), $"{l.Querier}:{l.QuerierPort}", l.TargetPrefix.ToString("x16", CultureInfo.InvariantCulture) + "…",
                    ReportWindow.Format(l.Start), l.Queries, l.Answered, l.Responders, l.Ids, l.KthDistance,
                    l.KthDistance is { } d ? (long)Math.Round(SizeEstimator.PerLookup(d)) : null, StatusText(l.Status)]);
            return table;
        }
        foreach (var row in r.Rows)
        {
            var cells = new List<object?>();
            if (byDay) cells.Add(row.Day is { } day ? day.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null);
            cells.AddRange([Family(row.Family), row.Method, Round(row.Estimate?.Estimate), Round(row.Estimate?.Low), Round(row.Estimate?.High),
                row.LookupsUsed, row.LookupsRejected, row.Note]);
            table.Rows.Add([.. cells]);
        }
        table.Notes.Add($"Method ({XorMethod}): for each converged lookup the XOR distance d of the {SizeEstimator.K}th-closest id to the target (as a fraction of 2^160); N = {SizeEstimator.MedianOfGamma(SizeEstimator.K).ToString("0.####", CultureInfo.InvariantCulture)} / median(d); 95% percentile bootstrap interval over lookups ({SizeEstimator.Resamples} resamples).");
        table.Notes.Add($"Converged: the {SizeEstimator.K} closest ids of a lookup that did not time out all answered it (Kademlia's own stopping rule); only the last converged lookup per target counts.");
        table.Notes.Add("Assumes ids uniform over the id space and independent of the targets; IPv4 and IPv6 are separate DHTs (BEP 32); counts routable nodes other than the querier; churn during the window averages in.");
        if (r.Rows.Any(x => x.Method == ChapmanMethod))
            table.Notes.Add($"Method ({ChapmanMethod}): Chapman (1951); the ids within XOR distance {RecaptureBall:0}/N of each used lookup's target are a sample in which every node has the same chance; the earlier half of the lookups (by start time) marks, the later half recaptures. Assumes a closed population between the halves (churn inflates it) and targets independent of the ids.");
        return table;
    }

    /// <summary>One place for the lookup SQL: every lookup with its id count, k-th distance and convergence counters.</summary>
    /// <param name="bounded">
    /// Only look at ids as close to the target as the lookup's k-th closest answering node (the estimate
    /// needs nothing farther: the k closest ids, live or not, all lie within that distance), and skip
    /// lookups with fewer than k answering nodes (they cannot have converged). Off for <c>--by lookup</c>,
    /// which shows every lookup's k-th distance, converged or not.
    /// </param>
    internal static string LookupsSql(PopulationRelations r, string where, bool bounded = true)
    {
        string gapNs = ((long)LookupGap.TotalMilliseconds * 1_000_000).ToString(CultureInfo.InvariantCulture);
        string k = SizeEstimator.K.ToString(CultureInfo.InvariantCulture);
        string bound = bounded ? $"CASE WHEN count(*) >= {k} THEN list_max(min_by(dist, dist, {k})) END" : "18446744073709551615::UBIGINT";
        return $"""
            WITH lq AS (
                SELECT capture_id, ts, ts_ns, querier_ip_num, querier_port, querier_id_prefix, family, target_prefix,
                    node_ip_num, node_port, response_frame_no, responder_id_prefix
                FROM {r.LookupQueries} WHERE {where} AND target_prefix IS NOT NULL),
            -- A lookup is (querier, family, target, session); its number is a 64-bit hash of that key (a collision
            -- among a million lookups has probability 10^-7), which spares a join back from the lookups to their
            -- queries. Most (querier, family, target) keys span less than the gap and hold one session; only the
            -- others are sorted to find their pauses.
            keys AS (
                SELECT querier_ip_num, querier_port, family, target_prefix, max(ts_ns) - min(ts_ns) > {gapNs} AS several
                FROM lq GROUP BY ALL),
            lqk AS (SELECT lq.*, k.several FROM lq JOIN keys k USING (querier_ip_num, querier_port, family, target_prefix)),
            gaps AS (
                SELECT *, CASE WHEN lag(ts_ns) OVER w IS NULL OR ts_ns - lag(ts_ns) OVER w > {gapNs} THEN 1 ELSE 0 END AS starts
                FROM lqk WHERE several WINDOW w AS (PARTITION BY querier_ip_num, querier_port, family, target_prefix ORDER BY ts_ns)),
            ql AS (
                SELECT * EXCLUDE (several), hash(querier_ip_num, querier_port, family, target_prefix, 1) AS lookup_id FROM lqk WHERE NOT several
                UNION ALL
                SELECT * EXCLUDE (several, starts), hash(querier_ip_num, querier_port, family, target_prefix,
                    sum(starts) OVER (PARTITION BY querier_ip_num, querier_port, family, target_prefix ORDER BY ts_ns ROWS UNBOUNDED PRECEDING)) AS lookup_id
                FROM gaps),
            -- The querier's own ids (one, rarely two: min and max) are not counted among the ids a lookup finds.
            l AS (
                SELECT lookup_id, any_value(querier_ip_num) AS querier_ip_num, any_value(querier_port) AS querier_port,
                    any_value(family) AS family, any_value(target_prefix) AS target_prefix,
                    coalesce(min(querier_id_prefix), any_value(target_prefix)) AS own_a, coalesce(max(querier_id_prefix), any_value(target_prefix)) AS own_b, min(epoch_us(ts)) AS first_us, count(*) AS queries, count(response_frame_no) AS answered
                FROM ql GROUP BY lookup_id),
            -- Each queried endpoint of a lookup: did it ever answer (under any id)?
            endpoints AS (
                SELECT lookup_id, node_ip_num AS ip_num, node_port AS port, count(response_frame_no) > 0 AS answered_any
                FROM ql GROUP BY ALL),
            responders AS (
                SELECT DISTINCT ql.lookup_id, ql.responder_id_prefix AS id, xor(ql.responder_id_prefix, ql.target_prefix) AS dist
                FROM ql JOIN l USING (lookup_id)
                WHERE ql.response_frame_no IS NOT NULL AND ql.responder_id_prefix NOT IN (ql.target_prefix, l.own_a, l.own_b)),
            bound AS (SELECT lookup_id, count(*) AS responders, {bound} AS bound FROM responders GROUP BY lookup_id),
            answered AS (
                SELECT ql.capture_id, ql.response_frame_no, ql.family, ql.lookup_id, ql.target_prefix, b.bound
                FROM ql JOIN bound b USING (lookup_id) WHERE ql.response_frame_no IS NOT NULL AND b.bound IS NOT NULL),
            seen AS (
                SELECT s.lookup_id, s.id, true AS answered, NULL::UHUGEINT AS ip_num, NULL::USMALLINT AS port
                FROM responders s JOIN bound b USING (lookup_id) WHERE s.dist <= b.bound
                UNION ALL
                SELECT a.lookup_id, c.id_prefix, false, c.ip_num, c.port
                FROM answered a
                JOIN {r.ReplyContacts} c ON c.capture_id = a.capture_id AND c.frame_no = a.response_frame_no AND c.family = a.family
                    AND xor(c.id_prefix, a.target_prefix) <= a.bound),
            -- One row per (lookup, id), with an endpoint a contact list gave for it.
            ids AS (
                SELECT s.lookup_id, s.id, bool_or(s.answered) AS answered, min(s.ip_num) AS ip_num, min(s.port) AS port
                FROM seen s GROUP BY s.lookup_id, s.id),
            -- The 2k closest ids per lookup in one top-n aggregate (no window sort), then their status: an id whose
            -- endpoint answered this lookup under another id is gone (the node restarted with a new id) and does not
            -- count; an id whose endpoint was queried and never answered timed out. More than k gone or timed out among
            -- the 2k closest leaves fewer than k: not converged.
            near AS (
                SELECT i.lookup_id, count(*) AS ids,
                    unnest(min_by(struct_pack(dist := xor(i.id, l.target_prefix), id := i.id, answered := i.answered, ip_num := i.ip_num, port := i.port),
                        xor(i.id, l.target_prefix), {2 * SizeEstimator.K}), recursive := true)
                FROM ids i JOIN l USING (lookup_id)
                WHERE i.id NOT IN (l.target_prefix, l.own_a, l.own_b)
                GROUP BY i.lookup_id),
            per AS (
                SELECT n.lookup_id, any_value(n.ids) AS ids,
                    list(struct_pack(dist := n.dist, id := n.id, answered := n.answered,
                        timed_out := NOT n.answered AND e.answered_any IS NOT DISTINCT FROM false) ORDER BY n.dist)
                        FILTER (WHERE n.answered OR NOT coalesce(e.answered_any, false)) AS near
                FROM near n LEFT JOIN endpoints e ON e.lookup_id = n.lookup_id AND e.ip_num = n.ip_num AND e.port = n.port
                GROUP BY n.lookup_id)
            SELECT l.family, l.querier_ip_num, l.querier_port, l.target_prefix, l.first_us, l.queries, l.answered,
                coalesce(b.responders, 0), coalesce(per.ids, 0), per.near[{k}].dist::DOUBLE / 18446744073709551616.0,
                coalesce(len(list_filter(per.near, x -> NOT x.timed_out)), 0),
                coalesce(len(list_filter(list_filter(per.near, x -> NOT x.timed_out)[1:{k}], x -> x.answered)), 0),
                {string.Join(", ", Enumerable.Range(1, SizeEstimator.K).Select(i => $"per.near[{i}].id"))}
            FROM l LEFT JOIN bound b USING (lookup_id) LEFT JOIN per USING (lookup_id)
            ORDER BY l.family, l.first_us, l.querier_ip_num, l.querier_port, l.target_prefix
            """;
    }

    private static void ReadLookups(DuckDBConnection db, string sql, List<LookupSummary> into)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        int k = SizeEstimator.K;
        while (r.Read())
        {
            long responders = r.GetInt64(7), ids = r.GetInt64(8), live = r.GetInt64(10), closest = r.GetInt64(11);
            var status = responders < k ? LookupStatus.TooFewAnswers
                : live >= k && closest == k ? LookupStatus.Used : LookupStatus.NotConverged;
            into.Add(new LookupSummary(
                Convert.ToInt32(r.GetValue(0), CultureInfo.InvariantCulture), new IpAddr(ToUInt128(r.GetValue(1))),
                Convert.ToInt32(r.GetValue(2), CultureInfo.InvariantCulture), Convert.ToUInt64(r.GetValue(3), CultureInfo.InvariantCulture),
                FromMicros(r.GetInt64(4)), r.GetInt64(5), r.GetInt64(6), responders, ids,
                ids >= k && !r.IsDBNull(9) ? r.GetDouble(9) : null, status)
            {
                Closest = Closest(r, 12),
            });
        }
    }

    /// <summary>The k closest ids, read from k columns (a LIST column costs a boxed object per element).</summary>
    private static ulong[] Closest(System.Data.Common.DbDataReader r, int first)
    {
        int n = 0;
        while (n < SizeEstimator.K && !r.IsDBNull(first + n)) n++;
        var ids = new ulong[n];
        for (int i = 0; i < n; i++) ids[i] = r.GetFieldValue<ulong>(first + i);
        return ids;
    }

    /// <summary>
    /// Keeps one converged lookup per (family, target), the last: repeated lookups sample the same
    /// neighbourhood (they are not independent), and routing tables fill up after a node starts, so the
    /// latest lookup sees the neighbourhood most completely. Time, not the distance found, decides,
    /// so the choice does not bias the estimate.
    /// </summary>
    private static void MarkUsed(List<LookupSummary> lookups)
    {
        var targets = new HashSet<(int, ulong)>();
        for (int i = lookups.Count - 1; i >= 0; i--)
        {
            var l = lookups[i];
            if (l.Status != LookupStatus.Used) continue;
            if (!targets.Add((l.Family, l.TargetPrefix))) lookups[i] = l with { Status = LookupStatus.RepeatedTarget };
        }
    }

    /// <summary>Expected nodes per mark–recapture ball: 4 keeps a ball inside the 8 known closest ids in 98 % of lookups.</summary>
    public const double RecaptureBall = 4;

    /// <summary>
    /// Mark–recapture over lookup neighbourhoods. Around a random target, the ball of XOR radius λ/N̂ holds
    /// each node with the same probability λ/N (the 8 closest ids would not: a node in a sparse stretch of
    /// the id space is among the 8 closest of more targets, and that unequal catchability biases Chapman
    /// low by about 8 %, measured in docs/analysis.md). The balls of the earlier half of the used lookups
    /// mark, those of the later half recapture. N̂ only sets the radius: any radius gives an unbiased
    /// Chapman estimate, so the two estimates stay independent in their errors.
    /// </summary>
    private static void AddChapman(SizeResult result)
    {
        foreach (var row in result.Rows.ToList())
        {
            if (row.Method != XorMethod || row.Estimate is null) continue;
            var used = result.Lookups
                .Where(l => l.Status == LookupStatus.Used && l.Family == row.Family && (row.Day is null || Day(l.Start) == row.Day))
                .OrderBy(l => l.Start).ToList();
            double radius = RecaptureBall / row.Estimate.Estimate * 18446744073709551616.0;
            IReadOnlyList<ulong> Ball(LookupSummary l) => l.Closest.Where(id => (double)(id ^ l.TargetPrefix) < radius).ToArray();
            // The earlier half of the lookups marks, the later half recaptures (halves by count: equal samples).
            int half = used.Count / 2;
            var (est, n1, n2, both) = SizeEstimator.Chapman(used.Take(half).Select(Ball).ToList(), used.Skip(half).Select(Ball).ToList());
            string seen = string.Create(CultureInfo.InvariantCulture,
                $"ids within {RecaptureBall:0} / N of each used lookup's target: {n1} in the earlier half, {n2} in the later, {both} in both");
            string note = est is null
                ? seen + $"; fewer than {SizeEstimator.MinimumRecaptures} in both: no estimate (it needs about {(int)Math.Ceiling(Math.Sqrt(10 * row.Estimate.Estimate) / RecaptureBall)} lookups per half)"
                : seen + "; 95% bootstrap interval over lookups";
            result.Rows.Insert(result.Rows.IndexOf(row) + 1, new SizeRow(row.Day, row.Family, ChapmanMethod, est, used.Count, null, note));
        }
    }

    private static string RefusalReason(List<LookupSummary> lookups, int minimum)
    {
        long used = lookups.Count(l => l.Status == LookupStatus.Used);
        long early = lookups.Count(l => l.Status == LookupStatus.NotConverged);
        long few = lookups.Count(l => l.Status == LookupStatus.TooFewAnswers);
        long repeated = lookups.Count(l => l.Status == LookupStatus.RepeatedTarget);
        return string.Create(CultureInfo.InvariantCulture,
            $"too few converged lookups for a size estimate: {used} usable of {lookups.Count} (not converged {early}, fewer than {SizeEstimator.K} answering nodes {few}, repeated target {repeated}); at least {minimum} per address family are needed. Short captures hold mostly unfinished lookups: capture longer, at a node that runs its own lookups (see `report size --by lookup`).");
    }

    /// <summary>Per address family: lookups seen, used, and rejected by reason (numbers, as JSON facts too).</summary>
    private static void AddLookupFacts(ResultTable table, List<LookupSummary> lookups)
    {
        foreach (int family in lookups.Select(l => l.Family).Distinct().Order())
        {
            var f = lookups.Where(l => l.Family == family).ToList();
            string name = Family(family);
            table.Facts.Add(new($"{name} lookups", (long)f.Count));
            table.Facts.Add(new($"{name} lookups used", (long)f.Count(l => l.Status == LookupStatus.Used)));
            table.Facts.Add(new($"{name} lookups not converged", (long)f.Count(l => l.Status == LookupStatus.NotConverged)));
            table.Facts.Add(new($"{name} lookups with fewer than {SizeEstimator.K} answering nodes", (long)f.Count(l => l.Status == LookupStatus.TooFewAnswers)));
            table.Facts.Add(new($"{name} lookups repeating a target", (long)f.Count(l => l.Status == LookupStatus.RepeatedTarget)));
        }
        if (lookups.Count == 0)
        {
            table.Facts.Add(new("lookups", 0L));
            table.Notes.Add("No lookups in the window: no find_node, get_peers, get or sample_infohashes query with a target.");
        }
    }

    private static string StatusText(LookupStatus s) => s switch
    {
        LookupStatus.Used => "used",
        LookupStatus.RepeatedTarget => "repeated target",
        LookupStatus.NotConverged => "not converged",
        _ => $"fewer than {SizeEstimator.K} answers",
    };

    internal static string Family(int family) => family == 4 ? "IPv4" : "IPv6";

    private static long? Round(double? v) => v is { } x ? (long)Math.Round(x) : null;

    internal static DateTimeOffset Day(DateTimeOffset t) => new(t.UtcDateTime.Date, TimeSpan.Zero);

    internal static UInt128 ToUInt128(object v) => v switch
    {
        UInt128 u => u,
        BigInteger b => (UInt128)b,
        _ => (UInt128)Convert.ToUInt64(v, CultureInfo.InvariantCulture),
    };
}
