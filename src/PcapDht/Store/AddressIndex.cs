using System.Globalization;
using DuckDB.NET.Data;

namespace PcapDht.Store;

/// <summary>
/// The address index (docs/schema.md, "Address index"): one row per DHT node address seen in the last
/// <see cref="DaysCovered"/> UTC days of the store's data, with a bit per day it was seen (as a node or a message
/// sender: the rows of <c>addr_day</c> that are not peers) and a bit per day it was seen directly, and its AS and
/// country resolved once from the imported ranges. <c>report asn</c> and <c>report country</c> read it instead of the
/// daily rollups: ~11 M narrow rows and a bit test instead of ~120 M (day, address) rows, a distinct count and a
/// range join.
/// <para>
/// It is derived: a function of <c>addr_day</c> (and of the ranges), rebuilt by <see cref="Refresh"/> after an ingest,
/// a sniff, a prune and a range import. It says what it was built from in <c>meta</c>: a fingerprint of every capture's
/// status and counters (which every commit that adds rollup rows changes, and every deletion of a capture's rows
/// changes or removes) and one of the ranges. A report uses it only when both still match (<see cref="Current"/>), so a
/// stale index is never read; it then reads the rollups as before.
/// </para>
/// <para>
/// Bit <c>p</c> of <c>days</c> is the UTC day <c>anchor - p</c>, where <c>anchor</c> is the newest day with such a
/// sighting. A window is answered when it starts on or after <c>anchor - 127</c>; its days that it holds whole (and the
/// days between its first and last) are a bit test. Where it starts or ends inside a day, the addresses seen on that
/// day and on no whole day of the window are checked against that day's <c>addr_day</c> rows (first/last µs), exactly
/// as the rollup reports do; so are addresses whose only direct sighting in the window is on such a day.
/// </para>
/// </summary>
public static class AddressIndex
{
    /// <summary>The days a row covers (bits of a UHUGEINT).</summary>
    public const int DaysCovered = 128;

    internal const string Table = "pcapdht_store.addr_index";
    private const string CapturesKey = "addr_index_captures";
    private const string RangesKey = "addr_index_ranges";
    private const string StateKey = "addr_index_state";
    private const long MicrosPerDay = 86_400_000_000L;

    /// <summary>What the index covers: its anchor day (days since 1970) and the first and last non-peer sighting (µs).</summary>
    public readonly record struct State(long Anchor, long FirstUs, long LastUs);

    /// <summary>
    /// The fingerprint of the captures: every capture's status and counters, in id order. A commit that adds rows to a
    /// capture raises its counters; a capture whose rows are deleted changes status or is gone.
    /// </summary>
    private const string CapturesFingerprint = """
        SELECT md5(coalesce(string_agg(concat_ws(':', capture_id, status, frames, krpc_messages, node_sightings, peer_sightings,
            malformed_krpc, first_ts_ns, last_ts_ns), ',' ORDER BY capture_id), '')) FROM pcapdht_store.capture
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

    /// <summary>
    /// Brings the index up to date with the store (one transaction): nothing when it matches, the AS and country columns
    /// alone when only the ranges changed, otherwise a rebuild from <c>addr_day</c>. Returns false when the database has
    /// no rollups to build it from (then there is no index, and reports read what they read before).
    /// </summary>
    public static bool Refresh(DuckDBConnection c, CancellationToken cancellationToken = default)
    {
        if (!TableExists(c, "addr_day") || !TableExists(c, "capture") || !RelationExists(c, "asn_ranges") || !RelationExists(c, "country_ranges"))
            return false;
        StoreCheck.Execute(c, "BEGIN TRANSACTION");
        try
        {
            string captures = StoreCheck.Scalar<string>(c, CapturesFingerprint)!;
            string ranges = RangesFingerprintOf(c);
            var meta = Exists(c) ? Meta(c) : [];
            bool builtFromThese = meta.GetValueOrDefault(CapturesKey) == captures && meta.ContainsKey(StateKey);
            if (builtFromThese && meta.GetValueOrDefault(RangesKey) == ranges)
            {
                StoreCheck.Execute(c, "ROLLBACK");
                return true;
            }
            if (builtFromThese)
            {
                Run(c, $"CREATE OR REPLACE TABLE {Table} AS {Resolved("SELECT ip, days, direct_days FROM " + Table)};", cancellationToken);
            }
            else
            {
                var span = StoreCheck.Scalar<string>(c,
                    "SELECT min(first_us) || ',' || max(last_us) || ',' || max(day - DATE '1970-01-01') FROM pcapdht_store.addr_day WHERE kind <> 3");
                if (string.IsNullOrEmpty(span))
                {
                    Run(c, $"CREATE OR REPLACE TABLE {Table} (ip UHUGEINT NOT NULL, days UHUGEINT NOT NULL, direct_days UHUGEINT NOT NULL, asn UINTEGER, as_name VARCHAR, country VARCHAR);", cancellationToken);
                    span = "0,-1,0";
                }
                else
                {
                    long anchor = long.Parse(span.Split(',')[2], CultureInfo.InvariantCulture);
                    string a = anchor.ToString(CultureInfo.InvariantCulture);
                    // Bit (anchor - day) for the days within reach; days older than that leave no bit (and an address with none, no row).
                    string bit = $"CASE WHEN {a} - (day - DATE '1970-01-01') < {DaysCovered} THEN 1::UHUGEINT << ({a} - (day - DATE '1970-01-01'))::UHUGEINT ELSE 0::UHUGEINT END";
                    Run(c, $"""
                        CREATE OR REPLACE TABLE {Table} AS {Resolved($"""
                            SELECT ip, bit_or({bit}) AS days, bit_or(CASE WHEN kind IN ({RollupSchema.Sender}, {RollupSchema.OtherSender}) THEN {bit} ELSE 0::UHUGEINT END) AS direct_days
                            FROM pcapdht_store.addr_day WHERE kind <> {RollupSchema.Peer} AND day > DATE '1970-01-01' + ({a} - {DaysCovered})::INTEGER
                            GROUP BY ip
                            """)};
                        """, cancellationToken);
                }
                SetMeta(c, StateKey, span);
                SetMeta(c, CapturesKey, captures);
            }
            SetMeta(c, RangesKey, ranges);
            StoreCheck.Execute(c, "COMMIT");
            return true;
        }
        catch
        {
            try { StoreCheck.Execute(c, "ROLLBACK"); } catch (DuckDBException) { }
            throw;
        }
    }

    /// <summary>
    /// The window's rows of the index as the CTEs <c>x</c> … <c>enriched</c> (columns k, direct, asn, as_name, country:
    /// what the reports' enriched relation holds), or null when the index cannot answer it: the window starts before
    /// the index reaches, or lies within one day without being that whole day.
    /// </summary>
    public static string? Enriched(State state, long sinceUs, long untilUs)
    {
        long d0 = DayOf(sinceUs), d1 = DayOf(untilUs), anchor = state.Anchor;
        if (d0 < anchor - (DaysCovered - 1) || untilUs < sinceUs) return null;
        bool wholeFirst = sinceUs == d0 * MicrosPerDay, wholeLast = untilUs == (d1 + 1) * MicrosPerDay - 1;
        if (d0 == d1 && !(wholeFirst && wholeLast)) return null;
        // Days strictly between the edges, and an edge day the window holds whole.
        UInt128 window = Mask(anchor, d0, d1);
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
        string x = $"""
            x AS (SELECT ip, asn, as_name, country, (days & {U(inner)}) <> 0 AS hit, (direct_days & {U(inner)}) <> 0 AS dhit,
                  (direct_days & {U(edgeBits)}) <> 0 AS dedge
                  FROM {Table} WHERE (days & {U(window)}) <> 0)
            """;
        if (edges.Count == 0)
            return $"{x},\nenriched AS (SELECT ip AS k, dhit AS direct, asn, as_name, country FROM x WHERE hit)";
        // The addresses an edge day decides (not seen on a whole day of the window, or seen directly only on an edge
        // day): that day's rollup rows with a sighting inside the window, as RollupSchema's first/last rule reads them.
        return $"""
            {x},
            b AS (SELECT ip, bool_or(kind IN ({RollupSchema.Sender}, {RollupSchema.OtherSender})) AS direct FROM pcapdht_store.addr_day
                  WHERE kind <> {RollupSchema.Peer} AND ({string.Join(" OR ", edges)})
                    AND ip IN (SELECT ip FROM x WHERE NOT hit OR (NOT dhit AND dedge))
                  GROUP BY ip),
            enriched AS (SELECT x.ip AS k, x.dhit OR coalesce(b.direct, false) AS direct, asn, as_name, country
                  FROM x LEFT JOIN b USING (ip) WHERE x.hit OR b.ip IS NOT NULL)
            """;
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

    /// <summary>The rows with AS and country resolved as the reports' enriched relation resolves them.</summary>
    private static string Resolved(string rows) => $"""
        SELECT k.ip, k.days, k.direct_days,
               CASE WHEN k.ip <= a.end_num THEN a.asn END AS asn,
               CASE WHEN k.ip <= a.end_num THEN a.as_name END AS as_name,
               coalesce(CASE WHEN k.ip <= c.end_num THEN c.country END, CASE WHEN k.ip <= a.end_num THEN a.country END) AS country
        FROM ({rows}) k
        ASOF LEFT JOIN main.asn_ranges a ON k.ip >= a.start_num
        ASOF LEFT JOIN main.country_ranges c ON k.ip >= c.start_num
        """;

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
        TableExists(c, "datasets", "main") ? StoreCheck.Scalar<string>(c, RangesFingerprint)! : "";

    private static State? ParseState(string s)
    {
        var p = s.Split(',');
        if (p.Length != 3) return null;
        return new State(long.Parse(p[2], CultureInfo.InvariantCulture), long.Parse(p[0], CultureInfo.InvariantCulture), long.Parse(p[1], CultureInfo.InvariantCulture));
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

    private static bool Exists(DuckDBConnection c) => TableExists(c, "addr_index") && TableExists(c, "meta");

    private static bool TableExists(DuckDBConnection c, string name, string schema = "pcapdht_store") =>
        StoreCheck.Scalar<long>(c, $"SELECT count(*) FROM information_schema.tables WHERE table_schema = '{schema}' AND table_name = '{name}'") > 0;

    private static bool RelationExists(DuckDBConnection c, string name) => TableExists(c, name, "main");

    private static long DayOf(long us) => Math.DivRem(us, MicrosPerDay, out long rem) - (rem < 0 ? 1 : 0);

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string U(UInt128 v) => $"{v.ToString(CultureInfo.InvariantCulture)}::UHUGEINT";
}
