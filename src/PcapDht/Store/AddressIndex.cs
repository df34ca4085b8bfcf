using System.Globalization;
using DuckDB.NET.Data;

namespace PcapDht.Store;

/// <summary>
/// The address index (docs/schema.md, "Address index"): one row per DHT node address seen in the last
/// <see cref="DaysCovered"/> UTC days of the store's data, with a bit per day it was seen (as a node or a message
/// sender: the rows of <c>addr_day</c> that are not peers), a bit per day it was seen directly, its last (direct)
/// sighting, and the ASN and country ranges that hold it. <c>report asn</c> and <c>report country</c> read it instead
/// of the daily rollups: one scan of ~11–15 M narrow rows counted per pair of ranges, instead of a distinct count over
/// ~120 M (day, address) rows and a range join.
/// <para>
/// It is derived: a function of <c>addr_day</c> and of the ranges, brought up to date by <see cref="Refresh"/> after an
/// ingest, when a sniff stops, and after a range import (a prune changes neither). It says what it was built from in
/// <c>meta</c>: every capture's status and counters (which every commit that adds rollup rows changes, and every
/// deletion of a capture's rows changes or removes) and a fingerprint of the ranges. A report uses it only when both
/// still match (<see cref="Current"/>), so a stale index is never read; the report then reads the rollups as before.
/// </para>
/// <para>
/// Bit <c>p</c> of the day bits (<c>days_lo</c> 0–63, <c>days_hi</c> 64–127) is the UTC day <c>anchor - p</c>, where
/// <c>anchor</c> is the newest day with such a sighting. A window is answered when it starts on or after
/// <c>anchor - 127</c>. One that reaches the newest sighting (every <c>--days N</c> window) holds an address exactly
/// when its last sighting (<c>last_us</c>) is at or after the start, and counts it as seen directly when its last
/// direct sighting is. Any other window tests the bits of the days it holds whole (and the days between its first and
/// last); where it starts or ends inside a day, the addresses seen on that day and on no whole day of the window are
/// checked against that day's <c>addr_day</c> rows (first/last µs), exactly as the rollup reports do, and so are
/// addresses whose only direct sighting in the window is on such a day.
/// </para>
/// </summary>
public static class AddressIndex
{
    /// <summary>The days a row covers (the bits of two UBIGINT).</summary>
    public const int DaysCovered = 128;

    internal const string Table = "pcapdht_store.addr_index";
    private const string CapturesKey = "addr_index_captures";
    private const string RangesKey = "addr_index_ranges";
    private const string StateKey = "addr_index_state";
    /// <summary>The layout of the table, first in <see cref="StateKey"/>'s value: an index of another layout is rebuilt.</summary>
    private const string Layout = "5";
    private const long MicrosPerDay = RollupSchema.MicrosPerDay;

    /// <summary>What the index covers: its anchor day (days since 1970) and the first and last non-peer sighting (µs).</summary>
    public readonly record struct State(long Anchor, long FirstUs, long LastUs);

    /// <summary>
    /// The fingerprint of the captures: every capture's status and counters, in id order (kept whole, so a refresh sees
    /// which captures are new). A commit that adds rows to a capture raises its counters; a capture whose rows are
    /// deleted changes status or is gone.
    /// </summary>
    private const string CapturesFingerprint = """
        SELECT coalesce(string_agg(concat_ws(':', capture_id, status, frames, krpc_messages, node_sightings, peer_sightings,
            malformed_krpc, first_ts_ns, last_ts_ns), ',' ORDER BY capture_id), '') FROM pcapdht_store.capture
        """;

    /// <summary>The fingerprint of the imported ranges: the data sets and a hash of every range row.</summary>
    private const string RangesFingerprint = """
        SELECT md5(concat(
            (SELECT coalesce(string_agg(concat_ws('|', kind, file_name, row_count, imported_at), ',' ORDER BY kind, file_name, imported_at), '') FROM main.datasets),
            '/', (SELECT count(*) || ':' || coalesce(sum(hash(start_num, end_num, asn, as_name, country)), 0) FROM main.asn_ranges),
            '/', (SELECT count(*) || ':' || coalesce(sum(hash(start_num, end_num, country)), 0) FROM main.country_ranges)))
        """;

    /// <summary>
    /// The index's state when it matches the store's captures and ranges now, else null (missing, stale, or a
    /// database without the tables it needs: an older store, a lake).
    /// </summary>
    public static State? Current(DuckDBConnection c)
    {
        if (!Exists(c)) return null;
        var meta = Meta(c);
        if (!meta.TryGetValue(StateKey, out var state) || !meta.TryGetValue(CapturesKey, out var captures) || !meta.TryGetValue(RangesKey, out var ranges))
            return null;
        if (captures != StoreCheck.Scalar<string>(c, CapturesFingerprint) || ranges != RangesFingerprintOf(c)) return null;
        return ParseState(state);
    }

    /// <summary>What <see cref="Refresh"/> did.</summary>
    public enum Refreshed
    {
        /// <summary>Nothing: the database has no rollups to build it from (no index; reports read what they read before).</summary>
        NoRollups,
        /// <summary>Nothing: it matched the captures and ranges.</summary>
        Current,
        /// <summary>AS and country resolved again (only the ranges changed).</summary>
        Resolved,
        /// <summary>The captures added since merged in (the others unchanged, the ranges too).</summary>
        Merged,
        /// <summary>Rebuilt from every <c>addr_day</c> row (a capture changed or went, or no index yet).</summary>
        Built,
    }

    /// <summary>
    /// Brings the index up to date with the store, in one transaction (a failure or Ctrl-C leaves it as it was, and
    /// reports then see it is stale): nothing when it matches; the AS and country columns alone when only the ranges
    /// changed; the new captures merged in when captures were only added; otherwise a rebuild from <c>addr_day</c>.
    /// </summary>
    /// <param name="rebuild">Rebuild it whatever it matches (<c>check --compact</c> after <c>check</c> found it differs from the rollups).</param>
    /// <param name="restoreMemoryLimit">The memory limit to put back afterwards (<see cref="PcapDhtDatabase.MemoryLimit"/>), else the one DuckDB shows.</param>
    public static Refreshed Refresh(DuckDBConnection c, CancellationToken cancellationToken = default, bool rebuild = false, string? restoreMemoryLimit = null)
    {
        if (!StoreRetention.TableExists(c, "addr_day") || !StoreRetention.TableExists(c, "capture") || !StoreRetention.TableExists(c, "meta"))
            return Refreshed.NoRollups;
        // The database's memory limit is the ingest's (128 MB per file, for its appends): a rebuild aggregates ~10 M
        // addresses per 100 M sightings and spills what does not fit; unlimited, DuckDB takes 80 % of the machine.
        using var memory = StoreCheck.MemoryLimitScope(c, PcapDhtDatabase.MaintenanceMemoryLimit, restoreMemoryLimit);
        StoreCheck.Execute(c, "BEGIN TRANSACTION");
        try
        {
            string captures = StoreCheck.Scalar<string>(c, CapturesFingerprint)!;
            string ranges = RangesFingerprintOf(c);
            var relations = RangeRelations.Of(c);
            var meta = Exists(c) ? Meta(c) : [];
            State? built = meta.TryGetValue(StateKey, out var b) ? ParseState(b) : null;
            string? indexedCaptures = built is null || rebuild ? null : meta.GetValueOrDefault(CapturesKey);
            bool sameRanges = !rebuild && meta.GetValueOrDefault(RangesKey) == ranges;
            if (indexedCaptures == captures && sameRanges)
            {
                StoreCheck.Execute(c, "ROLLBACK");
                return Refreshed.Current;
            }
            Refreshed done;
            if (indexedCaptures == captures)
            {
                SnapshotRanges(c, relations, cancellationToken);
                Run(c, $"CREATE OR REPLACE TABLE {Table} AS {Resolved($"SELECT (ip_hi::UHUGEINT << 64) | ip_lo::UHUGEINT AS ip, {DayColumns} FROM {Table}")};", cancellationToken);
                done = Refreshed.Resolved;
            }
            else if (sameRanges && indexedCaptures is not null && AddedCaptures(indexedCaptures, captures) is { } added)
            {
                Merge(c, built!.Value, added, cancellationToken);
                done = Refreshed.Merged;
            }
            else
            {
                Build(c, relations, cancellationToken);
                done = Refreshed.Built;
            }
            SetMeta(c, CapturesKey, captures);
            SetMeta(c, RangesKey, ranges);
            StoreCheck.Execute(c, "COMMIT");
            return done;
        }
        catch
        {
            try { StoreCheck.Execute(c, "ROLLBACK"); } catch (DuckDBException) { }
            throw;
        }
    }

    /// <summary>
    /// Compares a current index with its recomputation from the rollups (<c>address_days</c>, the ranges now): per address
    /// the day and direct-day bits, the last and last direct sighting, AS number, AS name and country. Returns how many
    /// addresses differ (in both with other values, or in only one) and the lowest of them, or null when there is no current
    /// index. Reports trust a current index, so a difference here is a wrong number in a report.
    /// </summary>
    public static (long Count, string? Example)? Mismatches(DuckDBConnection c)
    {
        if (Current(c) is not { } state || !StoreRetention.TableExists(c, "addr_day")) return null;
        string anchor = state.Anchor.ToString(System.Globalization.CultureInfo.InvariantCulture);
        const string Low = "CASE WHEN p < 64 THEN 1::UBIGINT << p::UBIGINT ELSE 0::UBIGINT END";
        const string High = "CASE WHEN p >= 64 THEN 1::UBIGINT << (p - 64)::UBIGINT ELSE 0::UBIGINT END";
        var ranges = RangeRelations.Of(c);
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            WITH want AS (
                SELECT ip_num AS ip, bit_or({Low}) AS days_lo, bit_or({High}) AS days_hi,
                       coalesce(bit_or({Low}) FILTER (WHERE direct), 0) AS direct_lo, coalesce(bit_or({High}) FILTER (WHERE direct), 0) AS direct_hi,
                       max(last_us) AS last_us, max(last_us) FILTER (WHERE direct) AS last_direct_us
                FROM (SELECT ip_num, direct, last_us, {anchor} - (day - DATE '1970-01-01') AS p FROM main.address_days WHERE kind <> 'peer')
                WHERE p < {DaysCovered} GROUP BY ip_num),
            resolved AS (SELECT w.*, CASE WHEN w.ip <= a.end_num THEN a.asn END AS asn, CASE WHEN w.ip <= a.end_num THEN a.as_name END AS as_name,
                        coalesce(CASE WHEN w.ip <= k.end_num THEN k.country END, CASE WHEN w.ip <= a.end_num THEN a.country END) AS country
                    FROM want w ASOF LEFT JOIN {ranges.Asn} a ON w.ip >= a.start_num ASOF LEFT JOIN {ranges.Country} k ON w.ip >= k.start_num),
            got AS (SELECT (ip_hi::UHUGEINT << 64) | ip_lo::UHUGEINT AS ip, days_lo, days_hi, direct_lo, direct_hi, last_us, last_direct_us,
                        a.asn, a.as_name, coalesce(k.country, a.country) AS country
                    FROM {Table} LEFT JOIN pcapdht_store.addr_index_asn a USING (a_key) LEFT JOIN pcapdht_store.addr_index_country k USING (c_key)),
            differ AS (SELECT ip FROM resolved w FULL JOIN got g USING (ip)
                WHERE w.days_lo IS DISTINCT FROM g.days_lo OR w.days_hi IS DISTINCT FROM g.days_hi OR w.direct_lo IS DISTINCT FROM g.direct_lo
                   OR w.direct_hi IS DISTINCT FROM g.direct_hi OR w.last_us IS DISTINCT FROM g.last_us OR w.last_direct_us IS DISTINCT FROM g.last_direct_us
                   OR w.asn IS DISTINCT FROM g.asn OR w.as_name IS DISTINCT FROM g.as_name OR w.country IS DISTINCT FROM g.country)
            SELECT count(*), pcapdht_ip_text(min(ip)) FROM differ
            """;
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetInt64(0), r.IsDBNull(1) ? null : r.GetString(1));
    }

    /// <summary>
    /// <see cref="Refresh"/> after a writer's run (ingest, sniff), on a connection of its own, with the writer's memory limit
    /// (<see cref="PcapDhtDatabase.MemoryLimit"/>) put back exactly; a DuckDB error becomes a one-line <see cref="StoreException"/>.
    /// Returns what it did and how long it took.
    /// </summary>
    public static (Refreshed Done, TimeSpan Took) RefreshAfterWrite(PcapDhtDatabase db, CancellationToken cancellationToken)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            using var c = db.OpenConnection();
            return (Refresh(c, cancellationToken, restoreMemoryLimit: db.MemoryLimit), sw.Elapsed);
        }
        catch (System.Data.Common.DbException ex)
        {
            throw PcapDhtDatabase.Translate(ex, "updating the address index failed");
        }
    }

    /// <summary>The index from all of <c>addr_day</c>.</summary>
    private static void Build(DuckDBConnection c, RangeRelations relations, CancellationToken ct)
    {
        // Without a node sighting the same statement makes the empty table (and "0,-1,0" says there is none).
        var span = Span(c, "true");
        SnapshotRanges(c, relations, ct);
        Run(c, $"CREATE OR REPLACE TABLE {Table} AS {Resolved(Aggregate(span?.Anchor ?? 0, span is null ? "false" : "true"))};", ct);
        SetMeta(c, StateKey, span is { } s ? StateText(s) : $"{Layout},0,-1,0");
    }

    /// <summary>
    /// Adds the rollups of captures that are new since the index was built (the others unchanged): their addresses
    /// aggregated alone and merged into the index, whose day bits move up when the newest day moves (bits that leave
    /// the 128 days go, and addresses left without one). One rewrite of the index instead of a rebuild from every rollup row.
    /// </summary>
    private static void Merge(DuckDBConnection c, State old, IReadOnlyList<string> added, CancellationToken ct)
    {
        string captures = $"capture_id IN ({string.Join(", ", added)})";
        if (Span(c, captures) is not { } delta) return; // no node address in them: the index already holds everything
        var now = old.LastUs < old.FirstUs ? delta
            : new State(Math.Max(old.Anchor, delta.Anchor), Math.Min(old.FirstUs, delta.FirstUs), Math.Max(old.LastUs, delta.LastUs));
        int shift = (int)Math.Min(now.Anchor - old.Anchor, DaysCovered);
        Run(c, $"""
            CREATE OR REPLACE TABLE {Table} AS SELECT * FROM (
                SELECT coalesce(d.ip_hi, o.ip_hi) AS ip_hi, coalesce(d.ip_lo, o.ip_lo) AS ip_lo,
                    coalesce(o.days_lo, 0::UBIGINT) | coalesce(d.days_lo, 0::UBIGINT) AS days_lo, coalesce(o.days_hi, 0::UBIGINT) | coalesce(d.days_hi, 0::UBIGINT) AS days_hi,
                    coalesce(o.direct_lo, 0::UBIGINT) | coalesce(d.direct_lo, 0::UBIGINT) AS direct_lo, coalesce(o.direct_hi, 0::UBIGINT) | coalesce(d.direct_hi, 0::UBIGINT) AS direct_hi,
                    greatest(coalesce(o.last_us, d.last_us), coalesce(d.last_us, o.last_us)) AS last_us,
                    greatest(coalesce(o.last_direct_us, d.last_direct_us), coalesce(d.last_direct_us, o.last_direct_us)) AS last_direct_us,
                    CASE WHEN d.ip_hi IS NULL THEN o.a_key ELSE d.a_key END AS a_key,
                    CASE WHEN d.ip_hi IS NULL THEN o.c_key ELSE d.c_key END AS c_key
                FROM (SELECT ip_hi, ip_lo, {Shifted("days", shift)}, {Shifted("direct", shift)}, last_us,
                          CASE WHEN last_direct_us >= {Num((now.Anchor - (DaysCovered - 1)) * MicrosPerDay)} THEN last_direct_us END AS last_direct_us,
                          a_key, c_key FROM {Table}) o
                FULL JOIN ({Resolved(Aggregate(now.Anchor, captures))}) d ON o.ip_hi = d.ip_hi AND o.ip_lo = d.ip_lo)
            WHERE (days_lo | days_hi) <> 0;
            """, ct);
        SetMeta(c, StateKey, StateText(now));
    }

    /// <summary>The day bits of the index moved up by <paramref name="shift"/> days (SQL; DuckDB refuses a shift that overflows).</summary>
    private static string Shifted(string prefix, int shift)
    {
        string lo = prefix + "_lo", hi = prefix + "_hi";
        static string Low(int bits) => bits >= 64 ? "18446744073709551615::UBIGINT" : $"{((1UL << bits) - 1).ToString(CultureInfo.InvariantCulture)}::UBIGINT";
        string k = shift.ToString(CultureInfo.InvariantCulture);
        return shift switch
        {
            0 => $"{lo}, {hi}",
            < 64 => $"({lo} & {Low(64 - shift)}) << {k}::UBIGINT AS {lo}, (({hi} & {Low(64 - shift)}) << {k}::UBIGINT) | ({lo} >> {(64 - shift).ToString(CultureInfo.InvariantCulture)}::UBIGINT) AS {hi}",
            < DaysCovered => $"0::UBIGINT AS {lo}, ({lo} & {Low(DaysCovered - shift)}) << {(shift - 64).ToString(CultureInfo.InvariantCulture)}::UBIGINT AS {hi}",
            _ => $"0::UBIGINT AS {lo}, 0::UBIGINT AS {hi}",
        };
    }

    /// <summary>The first and last node sighting and the newest day of the rollup rows matching <paramref name="where"/>, or null when none.</summary>
    private static State? Span(DuckDBConnection c, string where)
    {
        var span = StoreCheck.Scalar<string>(c,
            $"SELECT min(first_us) || ',' || max(last_us) || ',' || max(day - DATE '1970-01-01') FROM pcapdht_store.addr_day WHERE kind <> {RollupSchema.Peer} AND {where}");
        return string.IsNullOrEmpty(span) ? null : ParseState(Layout + "," + span);
    }

    private static string StateText(State s) => string.Create(CultureInfo.InvariantCulture, $"{Layout},{s.FirstUs},{s.LastUs},{s.Anchor}");

    /// <summary>
    /// SQL: per address (ip) of the rollup rows matching <paramref name="where"/>, the day bits relative to <paramref name="anchor"/>
    /// (bit p = day anchor - p; days_lo holds 0..63, days_hi 64..127; older days leave no bit, and an address with none
    /// no row), the same for direct sightings, and the last (direct) sighting.
    /// </summary>
    private static string Aggregate(long anchor, string where)
    {
        string a = anchor.ToString(CultureInfo.InvariantCulture);
        string p = $"({a} - (day - DATE '1970-01-01'))";
        string lo = $"CASE WHEN {p} < 64 THEN 1::UBIGINT << {p}::UBIGINT ELSE 0::UBIGINT END";
        string hi = $"CASE WHEN {p} >= 64 THEN 1::UBIGINT << ({p} - 64)::UBIGINT ELSE 0::UBIGINT END";
        string direct = $"kind IN ({RollupSchema.Sender}, {RollupSchema.OtherSender})";
        return $"""
            SELECT ip, bit_or({lo}) AS days_lo, bit_or({hi}) AS days_hi,
                bit_or(CASE WHEN {direct} THEN {lo} ELSE 0::UBIGINT END) AS direct_lo, bit_or(CASE WHEN {direct} THEN {hi} ELSE 0::UBIGINT END) AS direct_hi,
                max(last_us) AS last_us, max(last_us) FILTER (WHERE {direct}) AS last_direct_us
            FROM pcapdht_store.addr_day WHERE kind <> {RollupSchema.Peer} AND day > DATE '1970-01-01' + ({a} - {DaysCovered})::INTEGER AND {where}
            GROUP BY ip
            """;
    }

    /// <summary>
    /// The ids of the captures in <paramref name="now"/> that <paramref name="indexed"/> lacks, when every capture of
    /// <paramref name="indexed"/> is in <paramref name="now"/> unchanged (else null: the index must be rebuilt).
    /// </summary>
    private static List<string>? AddedCaptures(string indexed, string now)
    {
        static Dictionary<string, string> Parse(string list) =>
            list.Split(',', StringSplitOptions.RemoveEmptyEntries).ToDictionary(e => e[..e.IndexOf(':')], e => e, StringComparer.Ordinal);
        var before = Parse(indexed);
        var after = Parse(now);
        foreach (var (id, entry) in before)
            if (!after.TryGetValue(id, out var current) || current != entry) return null;
        var added = after.Keys.Where(id => !before.ContainsKey(id)).ToList();
        return added.Count == 0 ? null : added;
    }

    /// <summary>
    /// The window's addresses of the index as CTEs ending in <c>counted</c> (columns asn, as_name, country; n: addresses,
    /// d: of them seen directly; one row per pair of ranges: the reports' <c>counted</c> relation), or null when the
    /// index cannot answer it: the window starts before the index reaches, or lies within one day without being that
    /// whole day.
    /// </summary>
    public static string? CountedIn(State state, long sinceUs, long untilUs)
    {
        long d0 = RollupSchema.DayOf(sinceUs), d1 = RollupSchema.DayOf(untilUs), anchor = state.Anchor;
        if (d0 < anchor - (DaysCovered - 1) || untilUs < sinceUs) return null;
        // An edge day is whole when the window holds all of it, or all of its sightings (the default window ends at the
        // newest sighting: no row of that day reaches past it).
        bool wholeFirst = sinceUs == d0 * MicrosPerDay || sinceUs <= state.FirstUs;
        bool wholeLast = untilUs == (d1 + 1) * MicrosPerDay - 1 || untilUs >= state.LastUs;
        if (d0 == d1 && !(wholeFirst && wholeLast)) return null;
        // A window that reaches the newest sighting holds an address exactly when its last sighting is at or after the
        // start (and one seen directly when its last direct sighting is): no day bits, no rollup rows.
        if (untilUs >= state.LastUs)
            return Counted($"SELECT a_key, c_key, count(*) AS n, count(*) FILTER (WHERE last_direct_us >= {Num(sinceUs)}) AS d FROM {Table} WHERE last_us >= {Num(sinceUs)} GROUP BY ALL");
        UInt128 window = Mask(anchor, d0, d1);
        // Days strictly between the edges, and an edge day the window holds whole.
        UInt128 inner = Mask(anchor, wholeFirst ? d0 : d0 + 1, wholeLast ? d1 : d1 - 1);
        var edges = new List<string>();
        UInt128 edgeBits = 0;
        if (!wholeFirst)
        {
            edges.Add($"(day = DATE '1970-01-01' + {Num(d0)} AND last_us >= {Num(sinceUs)})");
            edgeBits |= Mask(anchor, d0, d0);
        }
        if (!wholeLast && d1 != d0)
        {
            edges.Add($"(day = DATE '1970-01-01' + {Num(d1)} AND first_us <= {Num(untilUs)})");
            edgeBits |= Mask(anchor, d1, d1);
        }
        string hit = Test("days", inner), direct = Test("direct", inner), any = Test("days", window);
        if (edges.Count == 0)
            return Counted($"SELECT a_key, c_key, count(*) AS n, count(*) FILTER (WHERE {direct}) AS d FROM {Table} WHERE {hit} GROUP BY ALL");
        // The addresses an edge day decides (seen on no whole day of the window, or seen directly only on an edge day):
        // that day's rollup rows with a sighting inside the window, as RollupSchema's first/last rule reads them. Each
        // relation is read once (a CTE read twice would be materialized: ~10 M rows).
        return $"""
            decided AS (SELECT ip_hi, ip_lo, bool_or(direct) AS direct
                  FROM (SELECT (ip >> 64)::UBIGINT AS ip_hi, (ip & 18446744073709551615::UHUGEINT)::UBIGINT AS ip_lo,
                            kind IN ({RollupSchema.Sender}, {RollupSchema.OtherSender}) AS direct
                        FROM pcapdht_store.addr_day WHERE kind <> {RollupSchema.Peer} AND ({string.Join(" OR ", edges)})) d
                  SEMI JOIN (SELECT ip_hi, ip_lo FROM {Table} WHERE {any}
                             AND (NOT {hit} OR (NOT {direct} AND {Test("direct", edgeBits)}))) c USING (ip_hi, ip_lo)
                  GROUP BY ip_hi, ip_lo),
            {Counted($"""
                SELECT a_key, c_key, count(*) AS n, count(*) FILTER (WHERE {direct} OR coalesce(decided.direct, false)) AS d
                FROM {Table} i LEFT JOIN decided USING (ip_hi, ip_lo) WHERE {any} AND ({hit} OR decided.ip_hi IS NOT NULL) GROUP BY ALL
                """)}
            """;
    }

    /// <summary>The CTE <c>counted</c> from the counts per (a_key, c_key) of <paramref name="groups"/> (columns a_key, c_key, n, d).</summary>
    private static string Counted(string groups) => $"""
        counted AS (SELECT a.asn, a.as_name, coalesce(c.country, a.country) AS country, g.n, g.d
            FROM ({groups}) g LEFT JOIN {AsnTable} a USING (a_key) LEFT JOIN {CountryTable} c USING (c_key))
        """;

    /// <summary>SQL: whether any of the <paramref name="bits"/> is set in the <paramref name="prefix"/>_lo/_hi columns.</summary>
    private static string Test(string prefix, UInt128 bits)
    {
        ulong lo = (ulong)bits, hi = (ulong)(bits >> 64);
        var parts = new List<string>(2);
        if (lo != 0) parts.Add($"({prefix}_lo & {lo.ToString(CultureInfo.InvariantCulture)}::UBIGINT) <> 0");
        if (hi != 0) parts.Add($"({prefix}_hi & {hi.ToString(CultureInfo.InvariantCulture)}::UBIGINT) <> 0");
        return parts.Count == 0 ? "false" : "(" + string.Join(" OR ", parts) + ")";
    }

    /// <summary>The bits of the days <paramref name="from"/>..<paramref name="to"/> (clipped to the index's reach).</summary>
    private static UInt128 Mask(long anchor, long from, long to)
    {
        long hiBit = Math.Min(anchor - from, DaysCovered - 1), loBit = Math.Max(anchor - to, 0);
        if (from > to || hiBit < loBit) return 0;
        int width = (int)(hiBit - loBit + 1);
        UInt128 ones = width == DaysCovered ? UInt128.MaxValue : (UInt128.One << width) - 1;
        return ones << (int)loBit;
    }

    private const string DayColumns = "days_lo, days_hi, direct_lo, direct_hi, last_us, last_direct_us";

    /// <summary>The imported ranges as the index resolved them, numbered: <c>a_key</c> and <c>c_key</c> of the index point here.</summary>
    internal const string AsnTable = "pcapdht_store.addr_index_asn", CountryTable = "pcapdht_store.addr_index_country";

    /// <summary>
    /// Copies the ranges the index is resolved from, numbered (in the same transaction as the index, so the two always
    /// agree, and a copied file keeps both).
    /// </summary>
    private static void SnapshotRanges(DuckDBConnection c, RangeRelations relations, CancellationToken ct) => Run(c, $"""
        CREATE OR REPLACE TABLE {AsnTable} AS
            SELECT (row_number() OVER (ORDER BY start_num))::INTEGER AS a_key, start_num, end_num, asn, as_name, country FROM {relations.Asn};
        CREATE OR REPLACE TABLE {CountryTable} AS
            SELECT (row_number() OVER (ORDER BY start_num))::INTEGER AS c_key, start_num, end_num, country FROM {relations.Country};
        """, ct);

    /// <summary>
    /// The rows (ip and the day columns) with the ranges that hold them (<c>a_key</c>, <c>c_key</c>; NULL: none), found as
    /// the reports' range join finds them, and the address stored as two UBIGINT halves: DuckDB decodes bit-packed
    /// 128-bit integers many times slower than two 64-bit ones. A report counts per (a_key, c_key), a few thousand
    /// groups, and reads AS, name and country from the snapshot of the ranges.
    /// </summary>
    private static string Resolved(string rows) => $"""
        SELECT (k.ip >> 64)::UBIGINT AS ip_hi, (k.ip & 18446744073709551615::UHUGEINT)::UBIGINT AS ip_lo, {DayColumns},
               CASE WHEN k.ip <= a.end_num THEN a.a_key END AS a_key,
               CASE WHEN k.ip <= c.end_num THEN c.c_key END AS c_key
        FROM ({rows}) k
        ASOF LEFT JOIN {AsnTable} a ON k.ip >= a.start_num
        ASOF LEFT JOIN {CountryTable} c ON k.ip >= c.start_num
        """;

    /// <summary>The range relations a refresh resolves from: the tables, or empty stand-ins before any import.</summary>
    private readonly record struct RangeRelations(string Asn, string Country)
    {
        public static RangeRelations Of(DuckDBConnection c) => new(
            Enrich.RangeStore.RelationExists(c, "asn_ranges") ? "main.asn_ranges"
                : "(SELECT NULL::UHUGEINT AS start_num, NULL::UHUGEINT AS end_num, NULL::UINTEGER AS asn, NULL::VARCHAR AS as_name, NULL::VARCHAR AS country WHERE false)",
            Enrich.RangeStore.RelationExists(c, "country_ranges") ? "main.country_ranges"
                : "(SELECT NULL::UHUGEINT AS start_num, NULL::UHUGEINT AS end_num, NULL::VARCHAR AS country WHERE false)");
    }

    private static void Run(DuckDBConnection c, string sql, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var reg = ct.Register(cmd.Cancel);
        try
        {
            cmd.ExecuteNonQuery();
        }
        catch (DuckDBException) when (ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
    }

    private static string RangesFingerprintOf(DuckDBConnection c) =>
        Enrich.RangeStore.RelationExists(c, "datasets") ? StoreCheck.Scalar<string>(c, RangesFingerprint)! : "";

    private static State? ParseState(string s)
    {
        var p = s.Split(',');
        if (p.Length != 4 || p[0] != Layout) return null;
        return new State(long.Parse(p[3], CultureInfo.InvariantCulture), long.Parse(p[1], CultureInfo.InvariantCulture), long.Parse(p[2], CultureInfo.InvariantCulture));
    }

    private static Dictionary<string, string> Meta(DuckDBConnection c)
    {
        var meta = new Dictionary<string, string>();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT key, value FROM pcapdht_store.meta WHERE key IN ('{CapturesKey}', '{RangesKey}', '{StateKey}')";
        using var r = cmd.ExecuteReader();
        while (r.Read()) if (!r.IsDBNull(1)) meta[r.GetString(0)] = r.GetString(1);
        return meta;
    }

    private static void SetMeta(DuckDBConnection c, string key, string value)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT OR REPLACE INTO pcapdht_store.meta VALUES ($k, $v)";
        cmd.Parameters.Add(new DuckDBParameter("k", key));
        cmd.Parameters.Add(new DuckDBParameter("v", value));
        cmd.ExecuteNonQuery();
    }

    private static bool Exists(DuckDBConnection c) => StoreRetention.TableExists(c, "addr_index") && StoreRetention.TableExists(c, "meta");

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

}
