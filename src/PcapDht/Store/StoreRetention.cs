using System.Data.Common;
using System.Globalization;
using System.Text;
using DuckDB.NET.Data;

namespace PcapDht.Store;

/// <summary>What one <see cref="StoreRetention.Prune(DuckDBConnection, TimeSpan, PruneScope)"/> did.</summary>
public sealed class PruneResult
{
    /// <summary>The newest message time in the store (µs since the epoch), the reference of the cutoff; null for a store without messages.</summary>
    public long? NewestUs { get; init; }
    /// <summary>Detail rows older than this (µs since the epoch) are gone; null when the store holds no messages (nothing was pruned).</summary>
    public long? CutoffUs { get; init; }
    /// <summary>Detail rows deleted, per storage table (every table of <see cref="StoreSchema.DataTables"/>, in that order).</summary>
    public IReadOnlyList<(string Table, long Rows)> Deleted { get; init; } = [];
    /// <summary>Rollup rows before and after merging the partials of the days pruned.</summary>
    public long RollupRowsBefore { get; init; }
    public long RollupRowsAfter { get; init; }
    public long DeletedRows => Deleted.Sum(d => d.Rows);
}

/// <summary>Which rollup days a prune merges (see <see cref="StoreRetention"/>).</summary>
public enum PruneScope
{
    /// <summary><c>pcapdht prune</c>: every (capture, day) with several partials of a key.</summary>
    AllDays,
    /// <summary>After a commit of ingest or sniff: only days before the newest one (a day still being written gets new partials at every commit).</summary>
    ClosedDays,
}

/// <summary>
/// Retention (docs/schema.md, "Retention"): deletes the detail rows (<see cref="StoreSchema.DataTables"/>: msg, node,
/// node6, peer, malformed) older than a cutoff, the node_dim contacts no node row names any more and the endpoint_dim
/// endpoints no msg row names, and keeps the daily rollups (<see cref="RollupSchema"/>), so every
/// report that reads rollups gives the same answer over the whole history. The cutoff is the newest message time in the
/// store (data time, not the wall clock: the end of the reports' default window) minus the duration kept; 0 keeps no
/// detail at all.
/// <para>
/// One transaction: the rows go, per capture the rows deleted are counted in <c>pcapdht_store.detail_pruned</c>
/// (so <c>pcapdht check</c> still reconciles each capture's counters with its rows), the meta key
/// <see cref="MetaKey"/> records the largest cutoff ever applied, and the rollup partials of the days touched are
/// merged into one row per key. Before deleting, each (capture, day) that loses rows must have rollups that count at
/// least its detail rows; otherwise nothing is deleted (a store written before rollups existed would lose data).
/// Then a CHECKPOINT lets DuckDB reuse the space; the file itself shrinks only with <c>pcapdht check --compact</c>.
/// </para>
/// <para>
/// A capture being written by a live <c>sniff</c> in another process is pruned like any other: the sniffer holds the
/// file only while it flushes (so a prune never runs during its transaction), keeps its counters in memory and never
/// reads back what it stored; its rows newer than the cutoff and its capture row stay as they are.
/// </para>
/// </summary>
public static class StoreRetention
{
    /// <summary>The meta key holding the largest cutoff (µs since the epoch) any prune applied: detail rows before it may be gone.</summary>
    public const string MetaKey = "detail_pruned_before_us";

    /// <summary>Per capture: the detail rows pruned so far (sender = msg rows that are node sightings), and the capture's largest cutoff.</summary>
    internal const string PrunedTable = """
        CREATE TABLE IF NOT EXISTS pcapdht_store.detail_pruned (
            capture_id INTEGER PRIMARY KEY, before_us BIGINT NOT NULL,
            msg UBIGINT NOT NULL, sender UBIGINT NOT NULL, node UBIGINT NOT NULL, node6 UBIGINT NOT NULL,
            peer UBIGINT NOT NULL, malformed UBIGINT NOT NULL);
        -- Whether the capture's unnamed node_dim contacts were deleted since its rows last were (only once it stops running).
        ALTER TABLE pcapdht_store.detail_pruned ADD COLUMN IF NOT EXISTS contacts_collected BOOLEAN DEFAULT false;
        """;

    /// <summary>The counter columns of <c>detail_pruned</c> for the detail tables (sender is counted from msg).</summary>
    private static readonly string[] PrunedColumns = ["msg", "sender", "node", "node6", "peer", "malformed"];

    /// <summary>The rollup tables' count column (the rest besides capture_id, day, first_us and last_us is the key).</summary>
    private static readonly string[] CountColumns = ["sightings", "messages", "datagrams"];

    /// <summary>
    /// Parses a retention duration: 7d, 36h, 90m, 3600s, or 0 (keep rollups only). Throws a one-line
    /// <see cref="FormatException"/> for anything else.
    /// </summary>
    public static TimeSpan ParseDuration(string? text, string option = "--keep-detail")
    {
        if (!Live.LiveUnits.TryParseDuration(text, out var value))
            throw new FormatException($"{option} '{text}' is not a duration: use e.g. 7d, 36h, 90m, or 0 to keep rollups only");
        return value;
    }

    /// <summary>Prunes an open store (see the type's summary).</summary>
    /// <exception cref="StoreException">the store has no rollups for rows it would delete, or DuckDB failed (nothing was deleted).</exception>
    public static PruneResult Prune(PcapDhtDatabase db, TimeSpan keepDetail, PruneScope scope = PruneScope.AllDays) =>
        Prune(db.Connection, keepDetail, scope);

    /// <inheritdoc cref="Prune(PcapDhtDatabase, TimeSpan, PruneScope)"/>
    public static PruneResult Prune(DuckDBConnection c, TimeSpan keepDetail, PruneScope scope = PruneScope.AllDays)
    {
        if (keepDetail < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(keepDetail));
        try
        {
            return PruneOnce(c, keepDetail, scope);
        }
        catch (Exception ex) when (ex is DbException or InvalidCastException)
        {
            throw PcapDhtDatabase.Translate(ex, "pruning the detail rows failed (nothing was deleted)");
        }
    }

    /// <summary>The newest message time in the store (µs), from the rollups (they cover every detail row, also pruned ones).</summary>
    public static long? NewestUs(DuckDBConnection c) =>
        StoreCheck.Scalar<long?>(c, "SELECT greatest((SELECT max(last_us) FROM pcapdht_store.msg_day), (SELECT max(last_us) FROM pcapdht_store.addr_day))");

    /// <summary>Whether the file has the pruning bookkeeping table (a store some prune ran on).</summary>
    internal static bool HasPrunedTable(DuckDBConnection c) => TableExists(c, "detail_pruned");

    private static PruneResult PruneOnce(DuckDBConnection c, TimeSpan keepDetail, PruneScope scope)
    {
        foreach (var table in RollupSchema.Tables)
            if (!TableExists(c, table))
                throw new StoreException("this store has no daily rollups (it was written by a pcapdht without them): pruning would lose data; ingest the captures into a new database first");
        StoreCheck.Execute(c, PrunedTable);
        long rollupsBefore = RollupRows(c);
        if (NewestUs(c) is not long newest)
            return new PruneResult { Deleted = EmptyCounts(), RollupRowsBefore = rollupsBefore, RollupRowsAfter = rollupsBefore };
        // 0 keeps no detail: the newest rows go too.
        long cutoff = keepDetail == TimeSpan.Zero ? newest + 1 : newest - keepDetail.Ticks / TimeSpan.TicksPerMicrosecond;
        string cut = cutoff.ToString(CultureInfo.InvariantCulture);
        string before = $"ts < make_timestamptz({cut})";

        StoreCheck.Execute(c, "BEGIN TRANSACTION");
        try
        {
            StoreCheck.Execute(c, $"""
                CREATE OR REPLACE TEMP TABLE pcapdht_prune AS
                SELECT capture_id, sum(msg)::UBIGINT AS msg, sum(sender)::UBIGINT AS sender, sum(node)::UBIGINT AS node,
                    sum(node6)::UBIGINT AS node6, sum(peer)::UBIGINT AS peer, sum(malformed)::UBIGINT AS malformed FROM (
                    SELECT capture_id, count(*) AS msg, count(*) FILTER (WHERE {StoreSchema.NodeSender}) AS sender,
                        0 AS node, 0 AS node6, 0 AS peer, 0 AS malformed FROM {StoreSchema.SenderRows} WHERE {before} GROUP BY ALL
                    UNION ALL SELECT capture_id, 0, 0, count(*), 0, 0, 0 FROM pcapdht_store.node WHERE {before} GROUP BY ALL
                    UNION ALL SELECT capture_id, 0, 0, 0, count(*), 0, 0 FROM pcapdht_store.node6 WHERE {before} GROUP BY ALL
                    UNION ALL SELECT capture_id, 0, 0, 0, 0, count(*), 0 FROM pcapdht_store.peer WHERE {before} GROUP BY ALL
                    UNION ALL SELECT capture_id, 0, 0, 0, 0, 0, count(*) FROM pcapdht_store.malformed WHERE {before} GROUP BY ALL)
                GROUP BY ALL;
                """);
            VerifyCovered(c, before);
            var deleted = new List<(string, long)>();
            foreach (string table in StoreSchema.DataTables)
            {
                if (table == Pipeline.StoreColumns.NodeDim.Table || table == Pipeline.StoreColumns.EndpointDim.Table) continue; // after the bookkeeping, below
                using var cmd = c.CreateCommand();
                cmd.CommandText = $"DELETE FROM pcapdht_store.{table} WHERE {before}";
                deleted.Add((table, cmd.ExecuteNonQuery()));
            }
            string sums = string.Join(", ", PrunedColumns.Select(n => $"coalesce(o.{n}, 0) + p.{n}"));
            StoreCheck.Execute(c, $"""
                INSERT OR REPLACE INTO pcapdht_store.detail_pruned (capture_id, before_us, {string.Join(", ", PrunedColumns)}, contacts_collected)
                SELECT p.capture_id, greatest(o.before_us, {cut}), {sums}, false
                FROM pcapdht_prune p LEFT JOIN pcapdht_store.detail_pruned o USING (capture_id);
                INSERT OR REPLACE INTO pcapdht_store.meta
                SELECT '{MetaKey}', greatest({cut}, (SELECT max(TRY_CAST(value AS BIGINT)) FROM pcapdht_store.meta WHERE key = '{MetaKey}'))::VARCHAR;
                DROP TABLE pcapdht_prune;
                """);
            var (contacts, endpoints) = CollectContacts(c);
            deleted.Add((Pipeline.StoreColumns.NodeDim.Table, contacts));
            deleted.Add((Pipeline.StoreColumns.EndpointDim.Table, endpoints));
            MergePartials(c, scope);
            StoreCheck.Execute(c, "COMMIT");
            long rollupsAfter = RollupRows(c);
            try
            {
                StoreCheck.Execute(c, "CHECKPOINT");
            }
            catch (DbException)
            {
                // Another connection of this process has a transaction open (a parallel ingest worker): DuckDB's own
                // automatic checkpoint reuses the space later. The prune itself is committed.
            }
            return new PruneResult
            {
                NewestUs = newest, CutoffUs = cutoff, Deleted = deleted,
                RollupRowsBefore = rollupsBefore, RollupRowsAfter = rollupsAfter,
            };
        }
        catch
        {
            try { StoreCheck.Execute(c, "ROLLBACK"); } catch (DbException) { /* the transaction is gone with the error */ }
            throw;
        }
    }

    /// <summary>
    /// Deletes the node_dim contacts that no node or node6 row of their capture names any more, and the endpoint_dim
    /// endpoints no msg row names, for the captures that lost rows since their last collection and are no longer running:
    /// while a stream or a sniff goes on, its writer's dictionaries may name any of them again, so they wait for the first
    /// prune after it ends.
    /// </summary>
    private static (long Contacts, long Endpoints) CollectContacts(DuckDBConnection c)
    {
        const string Due = """
            SELECT p.capture_id FROM pcapdht_store.detail_pruned p JOIN pcapdht_store.capture c USING (capture_id)
            WHERE NOT coalesce(p.contacts_collected, false) AND c.status <> 'running'
            """;
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            DELETE FROM pcapdht_store.node_dim d WHERE d.capture_id IN ({Due})
                AND NOT EXISTS (SELECT 1 FROM pcapdht_store.node x WHERE x.capture_id = d.capture_id AND x.n.k = d.n.k)
                AND NOT EXISTS (SELECT 1 FROM pcapdht_store.node6 x WHERE x.capture_id = d.capture_id AND x.n.k = d.n.k)
            """;
        long contacts = cmd.ExecuteNonQuery();
        cmd.CommandText = $"""
            DELETE FROM pcapdht_store.endpoint_dim ep WHERE ep.capture_id IN ({Due})
                AND NOT EXISTS (SELECT 1 FROM pcapdht_store.msg x WHERE x.capture_id = ep.capture_id AND x.d.src_k = ep.e.k)
                AND NOT EXISTS (SELECT 1 FROM pcapdht_store.msg x WHERE x.capture_id = ep.capture_id AND x.d.dst_k = ep.e.k)
            """;
        long endpoints = cmd.ExecuteNonQuery();
        StoreCheck.Execute(c, $"UPDATE pcapdht_store.detail_pruned SET contacts_collected = true WHERE capture_id IN ({Due})");
        return (contacts, endpoints);
    }

    /// <summary>
    /// Refuses to delete rows no rollup counts: per capture and day that loses rows, the rollups must count at least as
    /// many messages, malformed datagrams, contacts and peers as the detail rows of that day (fewer detail rows than
    /// rollups is a day pruned before).
    /// </summary>
    private static void VerifyCovered(DuckDBConnection c, string before)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            WITH touched AS (
                SELECT DISTINCT capture_id, {RollupSchema.Day} AS day FROM (
                    SELECT capture_id, ts FROM pcapdht_store.msg WHERE {before}
                    UNION ALL SELECT capture_id, ts FROM pcapdht_store.malformed WHERE {before})),
            span AS (SELECT make_timestamptz((min(day) - DATE '1970-01-01')::BIGINT * 86400000000) AS t0,
                make_timestamptz((max(day) + 1 - DATE '1970-01-01')::BIGINT * 86400000000) AS t1 FROM touched),
            detail AS (
                SELECT capture_id, day, sum(m) AS m, sum(b) AS b, sum(n) AS n, sum(p) AS p FROM (
                    SELECT capture_id, {RollupSchema.Day} AS day, 1 AS m, 0 AS b, 0 AS n, 0 AS p FROM pcapdht_store.msg, span WHERE ts >= t0 AND ts < t1
                    UNION ALL SELECT capture_id, {RollupSchema.Day}, 0, 1, 0, 0 FROM pcapdht_store.malformed, span WHERE ts >= t0 AND ts < t1
                    UNION ALL SELECT capture_id, {RollupSchema.Day}, 0, 0, 1, 0 FROM pcapdht_store.node, span WHERE ts >= t0 AND ts < t1
                    UNION ALL SELECT capture_id, {RollupSchema.Day}, 0, 0, 1, 0 FROM pcapdht_store.node6, span WHERE ts >= t0 AND ts < t1
                    UNION ALL SELECT capture_id, {RollupSchema.Day}, 0, 0, 0, 1 FROM pcapdht_store.peer, span WHERE ts >= t0 AND ts < t1)
                SEMI JOIN touched USING (capture_id, day) GROUP BY ALL),
            rolled AS (
                SELECT capture_id, day, sum(m) AS m, sum(b) AS b, sum(n) AS n, sum(p) AS p FROM (
                    SELECT capture_id, day, messages AS m, 0 AS b, 0 AS n, 0 AS p FROM pcapdht_store.msg_day
                    UNION ALL SELECT capture_id, day, 0, datagrams, 0, 0 FROM pcapdht_store.malformed_day
                    UNION ALL SELECT capture_id, day, 0, 0, sightings, 0 FROM pcapdht_store.addr_day WHERE kind = {RollupSchema.Reported}
                    UNION ALL SELECT capture_id, day, 0, 0, 0, sightings FROM pcapdht_store.addr_day WHERE kind = {RollupSchema.Peer})
                SEMI JOIN touched USING (capture_id, day) GROUP BY ALL)
            SELECT d.capture_id, d.day::VARCHAR FROM detail d LEFT JOIN rolled r USING (capture_id, day)
            WHERE d.m > coalesce(r.m, 0) OR d.b > coalesce(r.b, 0) OR d.n > coalesce(r.n, 0) OR d.p > coalesce(r.p, 0)
            ORDER BY 1, 2 LIMIT 1
            """;
        using var r = cmd.ExecuteReader();
        if (r.Read())
            throw new StoreException($"capture {r.GetInt32(0)} has detail rows on {r.GetString(1)} that its daily rollups do not count " +
                "(written by a pcapdht without rollups?): pruning would lose them, so nothing was deleted; pcapdht check shows the store's state");
    }

    /// <summary>
    /// Merges the partials (one per commit) of each key into one row per capture and day: sum of counts, min first_us,
    /// max last_us. Days are found by duplicates in the small tables (msg_day, malformed_day): every commit that adds
    /// rows adds to one of them, so a day with one commit has no partials to merge elsewhere either.
    /// </summary>
    private static void MergePartials(DuckDBConnection c, PruneScope scope)
    {
        string open = scope == PruneScope.ClosedDays ? "WHERE day < (SELECT max(day) FROM pcapdht_store.msg_day)" : "";
        StoreCheck.Execute(c, $"""
            CREATE OR REPLACE TEMP TABLE pcapdht_merge_days AS
            SELECT DISTINCT capture_id, day FROM (
                SELECT capture_id, day FROM pcapdht_store.msg_day {open} GROUP BY capture_id, day, y, method, method_name HAVING count(*) > 1
                UNION ALL
                SELECT capture_id, day FROM pcapdht_store.malformed_day {open} GROUP BY capture_id, day, reason HAVING count(*) > 1);
            """);
        if (StoreCheck.Scalar<long>(c, "SELECT count(*) FROM pcapdht_merge_days") > 0)
        {
            foreach (string table in RollupSchema.Tables)
            {
                var columns = Columns(c, table);
                string count = columns.First(CountColumns.Contains);
                var keys = columns.Where(k => k is not ("capture_id" or "day" or "first_us" or "last_us") && k != count).ToList();
                string keyList = string.Concat(keys.Select(k => ", " + Quote(k)));
                StoreCheck.Execute(c, $"""
                    CREATE OR REPLACE TEMP TABLE pcapdht_merged AS
                    SELECT capture_id, day{keyList}, sum({count})::UBIGINT AS {count}, min(first_us) AS first_us, max(last_us) AS last_us
                    FROM pcapdht_store.{table} SEMI JOIN pcapdht_merge_days USING (capture_id, day) GROUP BY ALL;
                    DELETE FROM pcapdht_store.{table} t USING pcapdht_merge_days m WHERE t.capture_id = m.capture_id AND t.day = m.day;
                    INSERT INTO pcapdht_store.{table} (capture_id, day{keyList}, {count}, first_us, last_us)
                    SELECT capture_id, day{keyList}, {count}, first_us, last_us FROM pcapdht_merged;
                    DROP TABLE pcapdht_merged;
                    """);
            }
        }
        StoreCheck.Execute(c, "DROP TABLE pcapdht_merge_days");
    }

    private static long RollupRows(DuckDBConnection c) =>
        StoreCheck.Scalar<long>(c, "SELECT " + string.Join(" + ", RollupSchema.Tables.Select(t => $"(SELECT count(*) FROM pcapdht_store.{t})")));

    private static List<(string, long)> EmptyCounts() => [.. StoreSchema.DataTables.Select(t => (t, 0L))];

    private static List<string> Columns(DuckDBConnection c, string table)
    {
        var names = new List<string>();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = 'pcapdht_store' AND table_name = '{table}' ORDER BY column_index";
        using var r = cmd.ExecuteReader();
        while (r.Read()) names.Add(r.GetString(0));
        return names;
    }

    /// <summary>Whether <c>pcapdht_store</c> has the table.</summary>
    internal static bool TableExists(DuckDBConnection c, string table) =>
        StoreCheck.Scalar<long>(c, $"SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'pcapdht_store' AND table_name = '{table}'") > 0;

    private static string Quote(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";
}

/// <summary>
/// <c>--keep-detail</c> of <c>ingest</c> and <c>sniff</c>: the same prune after commits, serialized (several ingest
/// workers commit on their own). Between commits it runs only when the data time has moved on by at least 1 % of the
/// duration kept (a 7-day retention prunes about every 100 minutes of data, not every 5-second flush: each prune scans
/// the day at the cutoff to verify its rollups); <see cref="AfterCommit"/> with <c>final</c> always runs.
/// </summary>
public sealed class DetailRetention(TimeSpan keepDetail)
{
    private readonly object _lock = new();
    private long? _lastNewest;

    public TimeSpan KeepDetail { get; } = keepDetail;

    /// <summary>The last prune that ran (null before the first).</summary>
    public PruneResult? Last { get; private set; }

    /// <summary>Rows deleted by every prune of this retention so far, per table.</summary>
    public Dictionary<string, long> DeletedTotal { get; } = [];

    /// <summary>Prunes after a commit on <paramref name="c"/> (a connection of its own: the prune is a transaction); null when skipped.</summary>
    /// <exception cref="StoreException">see <see cref="StoreRetention.Prune(DuckDBConnection, TimeSpan, PruneScope)"/>.</exception>
    public PruneResult? AfterCommit(DuckDBConnection c, bool final)
    {
        lock (_lock)
        {
            if (!final && _lastNewest is long last)
            {
                long step = Math.Max(1, KeepDetail.Ticks / TimeSpan.TicksPerMicrosecond / 100);
                try
                {
                    if (StoreRetention.NewestUs(c) is not long newest || newest - last < step) return null;
                }
                catch (DbException ex)
                {
                    throw PcapDhtDatabase.Translate(ex, "pruning the detail rows failed (nothing was deleted)");
                }
            }
            var result = StoreRetention.Prune(c, KeepDetail, final ? PruneScope.AllDays : PruneScope.ClosedDays);
            _lastNewest = result.NewestUs;
            Last = result;
            foreach (var (table, rows) in result.Deleted) DeletedTotal[table] = DeletedTotal.GetValueOrDefault(table) + rows;
            return result;
        }
    }
}
