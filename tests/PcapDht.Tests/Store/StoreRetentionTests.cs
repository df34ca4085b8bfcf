using DuckDB.NET.Data;
using PcapDht.Cli;
using PcapDht.Pipeline;
using PcapDht.Store;
using PcapDht.Tests.Capture;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Store;

/// <summary>
/// Issue 15, "Retention": <c>pcapdht prune --keep-detail</c> and <c>--keep-detail</c> on ingest. Detail rows older than
/// the newest message minus the duration go, the daily rollups stay (every key and count), the cutoff is recorded,
/// a second prune deletes nothing, and <c>pcapdht check</c> passes. The synthetic sample spans six weeks of data time.
/// </summary>
public sealed class StoreRetentionTests
{
    private static string Synthetic => Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap", "synthetic-dht.pcap");
    private static string Loopback => Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap", "dht-loopback.pcap");

    private const long Day = 86_400_000_000;

    private static CliOutput Cli(TempDir dir, params string[] args) => CliRunner.Run(args, dir.Path);

    private static string Ingested(TempDir dir, string name, params string[] captures)
    {
        string path = dir.File(name);
        var o = Cli(dir, ["ingest", .. captures, "--db", path]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        RollupFixture.Ensure(path);
        return path;
    }

    /// <summary>What a prune must delete and keep, counted from the detail rows before it (not by the code under test).</summary>
    private sealed record DetailSnapshot(long NewestUs, Dictionary<string, (long All, long Kept, string KeptHash)> Tables);

    private static DetailSnapshot Snapshot(DuckDBConnection c, Func<long, long> cutoffOf)
    {
        long newest = Sql.Long(c, "SELECT max(epoch_us(ts)) FROM pcapdht_store.msg");
        long cutoff = cutoffOf(newest);
        var tables = new Dictionary<string, (long, long, string)>();
        foreach (string t in StoreSchema.DataTables)
            tables[t] = (Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{t}"),
                Sql.Long(c, $"SELECT count(*) FROM ({Sql.KeptDetail(t, cutoff)})"),
                Sql.String(c, $"SELECT coalesce(sum(hash(x)), 0)::VARCHAR FROM ({Sql.KeptDetail(t, cutoff)}) x")!);
        return new DetailSnapshot(newest, tables);
    }

    private static void AssertKeptExactly(DuckDBConnection c, DetailSnapshot before, long cutoff)
    {
        foreach (var (t, (all, kept, hash)) in before.Tables)
        {
            Assert.True(all > kept || t == "malformed", $"{t}: the test needs rows before the cutoff");
            Assert.Equal(kept, Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{t}"));
            Assert.Equal(hash, Sql.String(c, $"SELECT coalesce(sum(hash(x)), 0)::VARCHAR FROM pcapdht_store.{t} x"));
            if (t != StoreColumns.NodeDim.Table && t != StoreColumns.EndpointDim.Table) // a contact or endpoint first seen before the cutoff stays while a kept row names it
                Assert.Equal(0, Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{t} WHERE epoch_us(ts) < {cutoff}"));
        }
    }

    [Fact]
    public void Prune_DeletesExactlyTheRowsBeforeTheCutoff_KeepsEveryRollup_RecordsIt_AndIsIdempotent()
    {
        using var dir = new TempDir();
        string db = Ingested(dir, "t.duckdb", Synthetic);
        DetailSnapshot before;
        List<string> rollups;
        Dictionary<string, long> distinct;
        using (var c = Open(db))
        {
            before = Snapshot(c, n => n - 7 * Day);
            rollups = RollupFixture.Aggregated(c);
            distinct = RollupFixture.DistinctFacts(c);
            // The rollups answer what the detail rows answer over the whole history (the reports' distinct-address facts).
            Assert.Equal(RollupFixture.DistinctFactsFromDetail(c), distinct);
        }
        long cutoff = before.NewestUs - 7 * Day;

        var o = Cli(dir, "prune", "--keep-detail", "7d", "--db", db);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        Assert.Contains("detail rows before 2026-09-23T12:00:00Z deleted", o.Stdout);
        foreach (var (t, (all, kept, _)) in before.Tables)
            Assert.Matches($@"│ {t}\s+│\s+{(all - kept).ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} │", o.Stdout);
        Assert.Contains("file: ", o.Stdout);

        using (var c = Open(db))
        {
            AssertKeptExactly(c, before, cutoff);
            Assert.Equal(rollups, RollupFixture.Aggregated(c));
            Assert.Equal(distinct, RollupFixture.DistinctFacts(c));
            Assert.Equal(cutoff.ToString(), Sql.String(c, $"SELECT value FROM pcapdht_store.meta WHERE key = '{StoreRetention.MetaKey}'"));
            Assert.Equal(cutoff, Sql.Long(c, "SELECT before_us FROM pcapdht_store.detail_pruned"));
        }

        // Again: nothing more goes, nothing changes.
        var again = Cli(dir, "prune", "--keep-detail", "7d", "--db", db);
        Assert.True(again.ExitCode == ExitCodes.Ok, again.Stderr);
        using (var c = Open(db))
        {
            AssertKeptExactly(c, before, cutoff);
            Assert.Equal(rollups, RollupFixture.Aggregated(c));
            Assert.Equal(cutoff.ToString(), Sql.String(c, $"SELECT value FROM pcapdht_store.meta WHERE key = '{StoreRetention.MetaKey}'"));
        }
        foreach (var t in new[] { "msg", "node", "node6", "peer", "malformed" })
            Assert.Matches($@"│ {t}\s+│\s+0 │", again.Stdout);

        // A longer retention afterwards keeps the recorded cutoff (the max of all prunes).
        Assert.Equal(ExitCodes.Ok, Cli(dir, "prune", "--keep-detail", "30d", "--db", db).ExitCode);
        using (var c = Open(db))
            Assert.Equal(cutoff.ToString(), Sql.String(c, $"SELECT value FROM pcapdht_store.meta WHERE key = '{StoreRetention.MetaKey}'"));

        var check = Cli(dir, "check", "--db", db);
        Assert.True(check.ExitCode == ExitCodes.Ok, check.Stdout + check.Stderr);
        Assert.Contains("ok:", check.Stdout);
    }

    [Fact]
    public void Prune_MergesThePartialsOfADay_IntoOneRowPerKey_WithTheSameCounts()
    {
        using var dir = new TempDir();
        string db = Ingested(dir, "t.duckdb", Synthetic, Loopback);
        List<string> rollups;
        long rowsBefore;
        using (var c = Open(db))
        {
            // As a stream or a sniff leaves them: each key of a day split over three commits.
            RollupFixture.Refill(c, parts: 3);
            rowsBefore = RollupFixture.Rows(c);
            rollups = RollupFixture.Aggregated(c);
            Assert.True(RollupFixture.DuplicateKeys(c) > 0);
        }

        var result = Prune(db, TimeSpan.FromDays(10_000)); // keeps every detail row: only the merge
        Assert.Equal(0, result.DeletedRows);
        Assert.Equal(rowsBefore, result.RollupRowsBefore);

        using (var c = Open(db))
        {
            Assert.Equal(0, RollupFixture.DuplicateKeys(c));
            Assert.Equal(rollups, RollupFixture.Aggregated(c));
            Assert.True(rollups.Count < rowsBefore);
            Assert.Equal(rollups.Count, RollupFixture.Rows(c)); // one row per key of a capture and day
            Assert.Equal(RollupFixture.Rows(c), result.RollupRowsAfter);
        }
        var check = Cli(dir, "check", "--db", db);
        Assert.True(check.ExitCode == ExitCodes.Ok, check.Stdout + check.Stderr);
    }

    [Fact]
    public void PruneZero_KeepsNoDetail_OnlyRollups_AndCheckStillReconcilesEveryCapture()
    {
        using var dir = new TempDir();
        string db = Ingested(dir, "t.duckdb", Synthetic, Loopback);
        List<string> rollups;
        Dictionary<string, long> distinct;
        long newest;
        using (var c = Open(db))
        {
            rollups = RollupFixture.Aggregated(c);
            distinct = RollupFixture.DistinctFacts(c);
            newest = Sql.Long(c, "SELECT max(epoch_us(ts)) FROM pcapdht_store.msg");
        }
        var o = Cli(dir, "prune", "--keep-detail", "0", "--db", db);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        using (var c = Open(db))
        {
            foreach (var t in StoreSchema.DataTables)
                Assert.Equal(0, Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{t}"));
            Assert.Equal(rollups, RollupFixture.Aggregated(c));
            Assert.Equal(distinct, RollupFixture.DistinctFacts(c));
            Assert.Equal((newest + 1).ToString(), Sql.String(c, $"SELECT value FROM pcapdht_store.meta WHERE key = '{StoreRetention.MetaKey}'"));
        }
        var check = Cli(dir, "check", "--db", db);
        Assert.True(check.ExitCode == ExitCodes.Ok, check.Stdout + check.Stderr);
        Assert.Contains("2 captures checked", check.Stdout);

        // The bookkeeping is what reconciles the counters: a wrong count of pruned rows is an inconsistency.
        using (var c = Open(db))
            Execute(c, "UPDATE pcapdht_store.detail_pruned SET peer = peer - 1 WHERE peer > 0");
        var broken = Cli(dir, "check", "--db", db);
        Assert.Equal(ExitCodes.DatabaseError, broken.ExitCode);
        Assert.Contains("peer_sightings", broken.Stdout);
    }

    [Fact]
    public void Prune_RefusesRowsTheRollupsDoNotCount_AndDeletesNothing()
    {
        using var dir = new TempDir();
        string db = Ingested(dir, "t.duckdb", Synthetic);
        DetailSnapshot before;
        using (var c = Open(db))
        {
            before = Snapshot(c, n => n + 1);
            // One old day's message rollups lost (as a store written without rollups has none).
            Execute(c, "DELETE FROM pcapdht_store.msg_day WHERE day = (SELECT min(day) FROM pcapdht_store.msg_day)");
        }
        var o = Cli(dir, "prune", "--keep-detail", "7d", "--db", db);
        Assert.Equal(ExitCodes.DatabaseError, o.ExitCode);
        string line = Assert.Single(o.Stderr.Trim().Split('\n'));
        Assert.Contains("daily rollups do not count", line);
        Assert.Contains("nothing was deleted", line);
        using (var c = Open(db))
        {
            foreach (var (t, (all, _, _)) in before.Tables)
                Assert.Equal(all, Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{t}"));
            Assert.Null(Sql.String(c, $"SELECT value FROM pcapdht_store.meta WHERE key = '{StoreRetention.MetaKey}'"));
        }
    }

    [Theory]
    [InlineData("prune")]
    [InlineData("ingest")]
    [InlineData("sniff")]
    public void BadDuration_IsAOneLineUsageError(string verb)
    {
        using var dir = new TempDir();
        string db = dir.File("t.duckdb");
        foreach (string bad in new[] { "7x", "-1d", "week", "" })
        {
            string[] args = verb switch
            {
                "prune" => ["prune", "--keep-detail", bad, "--db", db],
                "ingest" => ["ingest", Loopback, "--keep-detail", bad, "--db", db],
                _ => ["sniff", "-i", "lo", "--keep-detail", bad, "--db", db],
            };
            var o = Cli(dir, args);
            Assert.True(o.ExitCode == ExitCodes.Usage, $"{verb} --keep-detail '{bad}': exit {o.ExitCode}: {o.Stderr}");
            string line = Assert.Single(o.Stderr.Trim().Split('\n'));
            Assert.Contains("--keep-detail", line);
        }
        Assert.False(File.Exists(db), "a refused option must not create the database");
        var missing = Cli(dir, "prune", "--db", db);
        Assert.Equal(ExitCodes.Usage, missing.ExitCode);
        Assert.Contains("--keep-detail DURATION is required", missing.Stderr);
    }

    [Fact]
    public void ParseDuration_TakesDaysHoursAndZero()
    {
        Assert.Equal(TimeSpan.FromDays(7), StoreRetention.ParseDuration("7d"));
        Assert.Equal(TimeSpan.FromHours(36), StoreRetention.ParseDuration("36h"));
        Assert.Equal(TimeSpan.Zero, StoreRetention.ParseDuration("0"));
        var e = Assert.Throws<FormatException>(() => StoreRetention.ParseDuration("7 days"));
        Assert.DoesNotContain('\n', e.Message);
    }

    private static PruneResult Prune(string path, TimeSpan keep)
    {
        using var db = PcapDhtDatabase.Open(path);
        return StoreRetention.Prune(db, keep);
    }

    private static DuckDBConnection Open(string path)
    {
        var c = new DuckDBConnection($"Data Source={path}");
        c.Open();
        return c;
    }

    private static void Execute(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}

/// <summary>
/// Rollups for the retention tests, read independently of the code under test: aggregated by their documented keys
/// (docs/schema.md). <see cref="Ensure"/> fills them for a store whose writer does not maintain them yet.
/// </summary>
internal static class RollupFixture
{
    /// <summary>Each rollup table's key (after capture_id and day) and count column, as RollupSchema documents them.</summary>
    private static readonly (string Table, string Keys, string Count)[] Layout =
    [
        ("addr_day", "ip, kind", "sightings"),
        ("id_day", "id_a, id_b, id_lo, sender", "sightings"),
        ("sender_day", "ip, id_a, id_b, id_lo, hex(odd_id), version, version_len, hex(odd_version)", "messages"),
        ("msg_day", "y, method, method_name", "messages"),
        ("malformed_day", "reason", "datagrams"),
    ];

    /// <summary>Creates and fills the rollups from the detail rows when the writer did not (one partial per key).</summary>
    public static void Ensure(string path)
    {
        using var c = new DuckDBConnection($"Data Source={path}");
        c.Open();
        Exec(c, RollupSchema.CreateTables + RollupSchema.Views);
        if (Sql.Long(c, "SELECT count(*) FROM pcapdht_store.msg_day") == 0 && Sql.Long(c, "SELECT count(*) FROM pcapdht_store.msg") > 0)
            Exec(c, "BEGIN;" + RollupSchema.InsertFromStore("true") + "COMMIT;");
    }

    /// <summary>Rewrites the rollups from the detail rows as <paramref name="parts"/> commits would (partials per key).</summary>
    public static void Refill(DuckDBConnection c, int parts)
    {
        var sb = new System.Text.StringBuilder("BEGIN;");
        foreach (var (t, _, _) in Layout) sb.Append($"DELETE FROM pcapdht_store.{t};");
        for (int k = 0; k < parts; k++) sb.Append(RollupSchema.InsertFromStore($"frame_no % {parts} = {k}"));
        Exec(c, sb.Append("COMMIT;").ToString());
    }

    public static long Rows(DuckDBConnection c) => Layout.Sum(l => Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{l.Table}"));

    /// <summary>Keys with more than one row in a capture and day.</summary>
    public static long DuplicateKeys(DuckDBConnection c) => Layout.Sum(l =>
        Sql.Long(c, $"SELECT count(*) FROM (SELECT 1 FROM pcapdht_store.{l.Table} GROUP BY capture_id, day, {l.Keys} HAVING count(*) > 1)"));

    /// <summary>Every rollup key with its summed count, first and last time, as text lines in key order (captures by content hash).</summary>
    public static List<string> Aggregated(DuckDBConnection c)
    {
        var lines = new List<string>();
        foreach (var (t, keys, count) in Layout)
        {
            foreach (var row in Sql.Rows(c, $"""
                SELECT concat_ws('|', '{t}', coalesce((SELECT c.sha256 FROM pcapdht_store.capture c WHERE c.capture_id = r.capture_id), 'no hash'), day, {string.Join(", ", keys.Split(", ").Select(k => $"coalesce(({k})::VARCHAR, 'null')"))},
                    sum({count}), min(first_us), max(last_us))
                FROM pcapdht_store.{t} r GROUP BY capture_id, day, {keys} ORDER BY 1
                """))
                lines.Add((string)row[0]!);
        }
        return lines;
    }

    /// <summary>Distinct-address facts over the whole history, from the rollups: what report overview/asn/country/daily count.</summary>
    public static Dictionary<string, long> DistinctFacts(DuckDBConnection c) => Facts(c, """
        SELECT 'nodes', count(DISTINCT ip) FROM pcapdht_store.addr_day WHERE kind IN (0, 1)
        UNION ALL SELECT 'direct', count(DISTINCT ip) FROM pcapdht_store.addr_day WHERE kind = 1
        UNION ALL SELECT 'senders', count(DISTINCT ip) FROM pcapdht_store.addr_day WHERE kind IN (1, 2)
        UNION ALL SELECT 'peers', count(DISTINCT ip) FROM pcapdht_store.addr_day WHERE kind = 3
        UNION ALL SELECT 'node-days', count(*) FROM (SELECT DISTINCT day, ip FROM pcapdht_store.addr_day WHERE kind IN (0, 1))
        UNION ALL SELECT 'ids', count(*) FROM (SELECT DISTINCT id_a, id_b, id_lo FROM pcapdht_store.id_day)
        UNION ALL SELECT 'messages', sum(messages) FROM pcapdht_store.msg_day
        """);

    /// <summary>The same facts from the detail rows (before any prune).</summary>
    public static Dictionary<string, long> DistinctFactsFromDetail(DuckDBConnection c) => Facts(c, """
        SELECT 'nodes', count(DISTINCT ip_num) FROM pcapdht_store.node_ips
        UNION ALL SELECT 'direct', count(DISTINCT ip_num) FILTER (WHERE direct) FROM pcapdht_store.node_ips
        UNION ALL SELECT 'senders', count(DISTINCT pcapdht_u128(d.src_hi, d.src_lo)) FROM pcapdht_store.msg_sender d
        UNION ALL SELECT 'peers', count(DISTINCT pcapdht_u128(p.ip_hi, p.ip_lo)) FROM pcapdht_store.peer
        UNION ALL SELECT 'node-days', count(*) FROM (SELECT DISTINCT (DATE '1970-01-01' + CAST(epoch_us(ts) // 86400000000 AS INTEGER)), ip_num FROM pcapdht_store.node_ips)
        UNION ALL SELECT 'ids', count(DISTINCT id_key) FROM pcapdht_store.node_ips
        UNION ALL SELECT 'messages', count(*) FROM pcapdht_store.msg
        """);

    private static Dictionary<string, long> Facts(DuckDBConnection c, string sql) =>
        Sql.Rows(c, $"SELECT k, v::BIGINT FROM ({sql}) AS f(k, v)").ToDictionary(r => (string)r[0]!, r => Convert.ToInt64(r[1]));

    private static void Exec(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
