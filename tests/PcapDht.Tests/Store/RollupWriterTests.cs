using System.Globalization;
using System.Diagnostics;
using DuckDB.NET.Data;
using PcapDht.Capture;
using PcapDht.Ingest;
using PcapDht.Live;
using PcapDht.Store;
using PcapDht.Tests.Capture;
using PcapDht.Tests.Live;

namespace PcapDht.Tests.Store;

/// <summary>
/// The daily rollups the writer maintains, commit by commit, against the rollups computed afresh from every detail row
/// (<see cref="RollupSchema.InsertFromStore"/> over the whole store into a scratch database): the same keys with the same
/// counts and first/last times, on every path that writes (files, several captures per commit, streams with many
/// commits, a sniff's flushes, an upgrade) and every path that deletes (duplicates, --force, a dead writer's capture).
/// </summary>
public sealed class RollupWriterTests
{
    private static string Sample(string name) => Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap", name);

    private static List<string> AllCaptures()
    {
        var files = Directory.GetFiles(Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap"))
            .Where(f => f.Contains(".pcap", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (CaptureTestFiles.SharedCaptures is { } shared)
            files.AddRange(Directory.GetFiles(shared).Where(f => f.Contains(".pcap", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        return files;
    }

    [Theory]
    [InlineData(16 * 122_880L, true)]  // the default: every file of the batch in one commit, two lanes
    [InlineData(1L, true)]             // a commit per file
    [InlineData(1L, false)]            // one lane: both parts of the rollups in one transaction
    public void Ingest_SamplesAndSharedCaptures_RollupsEqualTheDetailRowsAggregated(long commitRows, bool parallelTables)
    {
        using var dir = new TempDir();
        var files = AllCaptures();
        IReadOnlyList<IngestFileResult> results;
        using (var db = PcapDhtDatabase.Open(dir.File("t.duckdb")))
            results = new IngestPipeline(db, new IngestOptions { CommitRows = commitRows, Store = new StoreSessionOptions { ParallelTables = parallelTables } })
                .IngestFiles(files);
        // dht-loopback.pcap and its compressed and pcapng copies: duplicates found after reading, whose rows leave the transaction.
        Assert.True(results.Count(r => r.Outcome == IngestOutcome.Skipped) >= 5, string.Join("\n", results.Select(r => $"{r.Path} {r.Outcome}")));
        using var check = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var (stored, _) = RollupAssert.MatchesDetail(check.Connection);
        Assert.True(stored > 1000, $"only {stored} rollup rows");
        // The synthetic capture spans many days: the rollups do too.
        Assert.True(Sql.Long(check.Connection, "SELECT count(DISTINCT day) FROM pcapdht_store.msg_day") > 30);
        AssertHealthy(dir.File("t.duckdb"));
    }

    [Fact]
    public void Ingest_CommitsWhoseContactsTakeManyKeySlices_RollupsEqualTheDetailRowsAggregated()
    {
        // The samples' ~3,300 contacts and ~5,500 message endpoints in slices of 97 keys: every commit's joins run in
        // dozens of slices whose edges fall inside lists; a key counted twice or missed at an edge would show in addr_day,
        // id_day and sender_day.
        using var dir = new TempDir();
        long slice = RollupSchema.KeySlice;
        RollupSchema.KeySlice = 97;
        try
        {
            using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
            new IngestPipeline(db, new IngestOptions { CommitRows = 1 }).IngestFiles([Sample("dht-loopback.pcap"), Sample("synthetic-dht.pcap"), Sample("dht-any-sll2.pcap")]);
            Assert.True(Sql.Long(db.Connection, "SELECT max(n.k) FROM pcapdht_store.node_dim") > 20 * 97, "the commits' keys span many slices");
            Assert.True(Sql.Long(db.Connection, "SELECT max(e.k) FROM pcapdht_store.endpoint_dim") > 20 * 97, "the commits' endpoint keys span many slices");
            var (stored, fresh) = RollupAssert.MatchesDetail(db.Connection);
            Assert.True(stored > 1000, $"only {stored} rollup rows");
        }
        finally
        {
            RollupSchema.KeySlice = slice;
        }
        AssertHealthy(dir.File("t.duckdb"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ingest_StreamCommittingPeriodically_RollupsOfEveryCommitEqualTheDetailRows(bool interrupt)
    {
        using var dir = new TempDir();
        string fifo = dir.File("in.pcap");
        using (var mk = Process.Start(new ProcessStartInfo("mkfifo", [fifo]) { UseShellExecute = false })!)
        {
            mk.WaitForExit();
            Assert.Equal(0, mk.ExitCode);
        }
        byte[] bytes = File.ReadAllBytes(Sample("synthetic-dht.pcap"));
        using var cts = new CancellationTokenSource();
        int pieces = 0;
        var writer = new Thread(() =>
        {
            try
            {
                Feed();
            }
            catch (IOException)
            {
                // The reader closed the pipe first (interrupted).
            }
        }) { IsBackground = true };
        void Feed()
        {
            using var pipe = new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0);
            // Pieces with pauses longer than the commit interval: the stream commits between them, many times.
            for (int off = 0; off < bytes.Length; off += 64 << 10)
            {
                pipe.Write(bytes, off, Math.Min(64 << 10, bytes.Length - off));
                pipe.Flush();
                Thread.Sleep(25);
                if (++pieces == 40 && interrupt)
                {
                    cts.Cancel();
                    Thread.Sleep(500);
                    return;
                }
            }
        }
        writer.Start();
        IngestFileResult result;
        using (var db = PcapDhtDatabase.Open(dir.File("t.duckdb")))
            result = new IngestPipeline(db, new IngestOptions { StreamCommitInterval = TimeSpan.FromMilliseconds(10) }).IngestFile(fifo, cts.Token);
        Assert.True(writer.Join(TimeSpan.FromSeconds(60)));
        Assert.Equal(interrupt ? IngestOutcome.Interrupted : IngestOutcome.Ingested, result.Outcome);

        using var check = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var c = check.Connection;
        Assert.Equal("stream|" + (interrupt ? "interrupted" : "complete"), Sql.String(c, "SELECT kind || '|' || status FROM captures"));
        var (stored, fresh) = RollupAssert.MatchesDetail(c);
        // Every commit wrote its own partials: many more rows than keys.
        Assert.True(stored > fresh + 100, $"{stored} rollup rows for {fresh} keys: the stream did not commit many times");
        Assert.True(Sql.Long(c, "SELECT sum(messages)::BIGINT FROM pcapdht_store.msg_day") > 1000);
        AssertHealthy(dir.File("t.duckdb"));
    }

    [Fact]
    public void Sniff_DetachedFlushes_RollupsEqualTheDetailRowsAndIngest()
    {
        string pcap = Sample("synthetic-dht.pcap");
        using var dir = new TempDir();
        string liveDb = dir.File("live.duckdb");
        using (var sink = new StoreLiveSink(liveDb))
        {
            long frames = LiveReplay.Feed(sink, pcap, n =>
            {
                if (n % 2000 != 0) return;
                sink.Flush(LiveReplay.Stats(n));
                SpinWait.SpinUntil(() => sink.Flushes >= n / 2000, TimeSpan.FromSeconds(60));
            });
            sink.Finish(LiveStopReason.Stopped, LiveReplay.Stats(frames), null);
            Assert.True(sink.Flushes >= 5, $"only {sink.Flushes} flushes");
        }
        string ingestDb = dir.File("ingest.duckdb");
        using (var db = PcapDhtDatabase.Open(ingestDb))
            Assert.Equal(IngestOutcome.Ingested, new IngestPipeline(db).IngestFile(pcap).Outcome);

        using var live = PcapDhtDatabase.Open(liveDb);
        var (stored, fresh) = RollupAssert.MatchesDetail(live.Connection);
        Assert.True(stored > fresh, "every flush writes its own partials");
        // The same frames give the same rollups whichever way they came (capture ids aside).
        using var ingested = PcapDhtDatabase.Open(ingestDb);
        Assert.Equal(RollupAssert.Fingerprint(ingested.Connection), RollupAssert.Fingerprint(live.Connection));
        AssertHealthy(liveDb);
    }

    [Fact]
    public void Ingest_ForceReplacesACapture_TheOldCapturesRollupsGo()
    {
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        string pcap = Sample("dht-loopback.pcap");
        using (var db = PcapDhtDatabase.Open(path))
        {
            Assert.Equal(IngestOutcome.Ingested, new IngestPipeline(db).IngestFile(pcap).Outcome);
            var again = new IngestPipeline(db, new IngestOptions { Force = true }).IngestFile(pcap);
            Assert.Equal(IngestOutcome.Ingested, again.Outcome);
            Assert.NotNull(again.ExistingCaptureId);
        }
        using var check = PcapDhtDatabase.Open(path);
        Assert.Equal(1, Sql.Long(check.Connection, "SELECT count(*) FROM captures"));
        RollupAssert.MatchesDetail(check.Connection);
        AssertHealthy(path);
    }

    [Fact]
    public void Open_DeadFileIngestWithCommittedRows_DeletesItsRollupsWithItsRows()
    {
        // A file ingest whose sightings lane committed before the process died: the next open deletes every row of
        // that capture, rollups included.
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
        {
            new IngestPipeline(db).IngestFiles([Sample("dht-loopback.pcap"), Sample("synthetic-dht.pcap")]);
            db.Execute("UPDATE pcapdht_store.capture SET status = 'running' WHERE source LIKE '%synthetic-dht.pcap'");
        }
        using var check = PcapDhtDatabase.Open(path);
        var c = check.Connection;
        Assert.Equal(1, check.RecoveredCaptures);
        long dead = Sql.Long(c, "SELECT capture_id FROM captures WHERE status = 'failed'");
        foreach (var t in RollupSchema.Tables)
            Assert.Equal(0, Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{t} WHERE capture_id = {dead}"));
        Assert.True(Sql.Long(c, "SELECT count(*) FROM pcapdht_store.addr_day") > 0, "the other capture keeps its rollups");
        RollupAssert.MatchesDetail(c);
        AssertHealthy(path);
    }

    [Fact]
    public void Open_Schema2File_IsUpgradedWithRollupsOfItsRows_NewerIsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
            new IngestPipeline(db).IngestFiles([Sample("dht-loopback.pcap"), Sample("synthetic-dht.pcap")]);
        MakeSchema2(path);
        File.Copy(path, dir.File("reader.duckdb"));

        using (var db = PcapDhtDatabase.Open(path))
        {
            var c = db.Connection;
            Assert.Equal(StoreSchema.Version.ToString(CultureInfo.InvariantCulture), Sql.String(c, "SELECT value FROM pcapdht_store.meta WHERE key = 'schema_version'"));
            var (stored, fresh) = RollupAssert.MatchesDetail(c);
            Assert.True(stored > 1000);
            Assert.Equal(fresh, stored); // one partial per key: the upgrade aggregates each capture once
            Assert.Equal(Sql.Long(c, "SELECT sum(krpc_messages)::BIGINT FROM captures"), Sql.Long(c, "SELECT sum(messages)::BIGINT FROM message_days"));
        }
        AssertHealthy(path);

        // A reading verb upgrades it too (the reports read the rollups).
        using (var reader = PcapDhtDatabase.OpenConnection(dir.File("reader.duckdb"), readOnly: true))
            Assert.True(Sql.Long(reader, "SELECT count(*) FROM address_days") > 1000);

        using (var db = PcapDhtDatabase.Open(path))
            db.Execute($"UPDATE pcapdht_store.meta SET value = '{StoreSchema.Version + 1}' WHERE key = 'schema_version'");
        var ex = Assert.Throws<StoreException>(() => PcapDhtDatabase.Open(path));
        Assert.Contains("newer pcapdht", ex.Message);
    }

    [Fact]
    public void Check_RollupsThatDisagreeWithTheCounters_AreReported()
    {
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
            new IngestPipeline(db).IngestFiles([Sample("dht-loopback.pcap"), Sample("synthetic-dht.pcap")]);
        AssertHealthy(path);
        using (var db = PcapDhtDatabase.Open(path))
        {
            // A lost commit's queries, and a commit's peer rollups written twice.
            db.Execute("DELETE FROM pcapdht_store.msg_day WHERE capture_id = 1 AND y = 113 AND day = (SELECT min(day) FROM pcapdht_store.msg_day WHERE capture_id = 1)");
            db.Execute("INSERT INTO pcapdht_store.addr_day SELECT * FROM pcapdht_store.addr_day WHERE capture_id = 2 AND kind = 3 LIMIT 5");
        }
        var report = StoreCheck.Run(path, TimeSpan.FromSeconds(15));
        Assert.True(report.Inconsistent);
        Assert.Contains(report.Findings, f => f.Message.StartsWith("capture 1 (complete) records", StringComparison.Ordinal) && f.Message.Contains("queries (msg_day)"));
        Assert.Contains(report.Findings, f => f.Message.StartsWith("capture 2 (complete) records", StringComparison.Ordinal) && f.Message.Contains("peer_sightings (addr_day)"));
    }

    [Fact]
    public void Open_Schema3File_MovesTheNodeListsContactsIntoNodeDim_EverySightingAndRollupUnchanged()
    {
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
            new IngestPipeline(db).IngestFiles([Sample("dht-loopback.pcap"), Sample("synthetic-dht.pcap"), Sample("dht-any-sll2.pcap")]);
        // Every column of every sighting and contact, and the rollups, as a multiset fingerprint.
        const string Sightings = "SELECT count(*), sum(hash(capture_id, frame_no, ts, ip, ip_num, port, node_id, source, reporter_ip, reporter_port, reporter_ip_num)) FROM node_sightings";
        const string Contacts = "SELECT count(*), sum(hash(capture_id, frame_no, ts, family, ip, ip_num, port, node_id, id_prefix)) FROM reply_contacts";
        string rollups = string.Join(" UNION ALL ", RollupSchema.Tables.Select(t => $"SELECT '{t}', count(*), sum(hash(x)) FROM pcapdht_store.{t} x"));
        object?[] before, beforeContacts;
        List<object?[]> beforeRollups;
        long distinct;
        using (var db = PcapDhtDatabase.Open(path))
        {
            before = Sql.Rows(db.Connection, Sightings)[0];
            beforeContacts = Sql.Rows(db.Connection, Contacts)[0];
            beforeRollups = Sql.Rows(db.Connection, rollups + " ORDER BY 1");
            distinct = Sql.Long(db.Connection, "SELECT count(DISTINCT (capture_id, ip_num, port, node_id)) FROM reply_contacts");
            Assert.Equal(distinct, Sql.Long(db.Connection, "SELECT count(*) FROM pcapdht_store.node_dim"));
            Assert.True(Sql.Long(db.Connection, "SELECT count(*) FROM reply_contacts WHERE family = 6") > 0, "the captures have nodes6 contacts");
        }
        MakeSchema3(path);
        using (var c = new DuckDBConnection($"Data Source={path}"))
        {
            c.Open();
            Assert.Equal(0, Sql.Long(c, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'pcapdht_store' AND table_name = 'node_dim'"));
        }

        using (var db = PcapDhtDatabase.Open(path))
        {
            var c = db.Connection;
            Assert.Equal(StoreSchema.Version.ToString(CultureInfo.InvariantCulture), Sql.String(c, "SELECT value FROM pcapdht_store.meta WHERE key = 'schema_version'"));
            Assert.Equal(before, Sql.Rows(c, Sightings)[0]);
            Assert.Equal(beforeContacts, Sql.Rows(c, Contacts)[0]);
            Assert.Equal(beforeRollups, Sql.Rows(c, rollups + " ORDER BY 1"));
            Assert.Equal(distinct, Sql.Long(c, "SELECT count(*) FROM pcapdht_store.node_dim"));
            Assert.Equal(0, Sql.Long(c, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'pcapdht_store' AND table_name LIKE '%_v3'"));
            RollupAssert.MatchesDetail(c);
        }
        AssertHealthy(path);
    }

    [Fact]
    public void Open_Schema4File_MovesTheMessagesEndpointsIntoEndpointDim_EveryMessageAndRollupUnchanged()
    {
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
            new IngestPipeline(db).IngestFiles([Sample("dht-loopback.pcap"), Sample("synthetic-dht.pcap"), Sample("dht-any-sll2.pcap")]);
        // Every column of every view that reads msg, and the rollups, as multiset fingerprints.
        string[] views = ["messages", "node_sightings", "peer_sightings", "lookup_queries"];
        string fingerprints = string.Join(" UNION ALL ", views.Select(v => $"SELECT '{v}', count(*), sum(hash(x)) FROM {v} x")
            .Concat(RollupSchema.Tables.Select(t => $"SELECT '{t}', count(*), sum(hash(x)) FROM pcapdht_store.{t} x"))) + " ORDER BY 1";
        const string Endpoints = """
            SELECT count(*) FROM (SELECT capture_id, src_ip_num, src_port, CASE WHEN octet_length(node_id) = 20 THEN node_id END FROM messages
                UNION SELECT capture_id, dst_ip_num, dst_port, NULL FROM messages)
            """;
        List<object?[]> before;
        long endpoints;
        using (var db = PcapDhtDatabase.Open(path))
        {
            before = Sql.Rows(db.Connection, fingerprints);
            endpoints = Sql.Long(db.Connection, Endpoints);
            Assert.Equal(endpoints, Sql.Long(db.Connection, "SELECT count(*) FROM pcapdht_store.endpoint_dim"));
            Assert.True(Sql.Long(db.Connection, "SELECT count(*) FROM messages WHERE node_id IS NULL OR octet_length(node_id) <> 20") > 0,
                "the captures have senders without a 20-byte id (errors)");
        }
        MakeSchema4(path);
        using (var c = new DuckDBConnection($"Data Source={path}"))
        {
            c.Open();
            Assert.Equal(0, Sql.Long(c, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'pcapdht_store' AND table_name = 'endpoint_dim'"));
        }

        using (var db = PcapDhtDatabase.Open(path))
        {
            var c = db.Connection;
            Assert.Equal(StoreSchema.Version.ToString(CultureInfo.InvariantCulture), Sql.String(c, "SELECT value FROM pcapdht_store.meta WHERE key = 'schema_version'"));
            Assert.Equal(before, Sql.Rows(c, fingerprints));
            Assert.Equal(endpoints, Sql.Long(c, "SELECT count(*) FROM pcapdht_store.endpoint_dim"));
            Assert.Equal(0, Sql.Long(c, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'pcapdht_store' AND table_name LIKE '%_v4'"));
            RollupAssert.MatchesDetail(c);
        }
        AssertHealthy(path);
    }

    [Fact]
    public void Open_Schema4FileWithARowTheRewriteCannotKey_IsRefused_AndLeftUnchanged()
    {
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
            new IngestPipeline(db).IngestFiles([Sample("dht-loopback.pcap")]);
        MakeSchema4(path);
        // A message of no capture: the upgrade rewrites each capture's rows, so this one would be lost.
        using (var c = new DuckDBConnection($"Data Source={path}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO pcapdht_store.msg SELECT 99, frame_no, ts, d FROM pcapdht_store.msg LIMIT 1";
            cmd.ExecuteNonQuery();
        }

        var ex = Assert.Throws<StoreException>(() => PcapDhtDatabase.Open(path));
        Assert.Contains("cannot upgrade", ex.Message);
        Assert.Contains("the file is unchanged", ex.Message);
        Assert.Contains("the rewrite kept 6,937 of the 6,938 rows of pcapdht_store.msg_v4", ex.Message);
        using (var c = new DuckDBConnection($"Data Source={path}"))
        {
            c.Open();
            Assert.Equal("4", Sql.String(c, "SELECT value FROM pcapdht_store.meta WHERE key = 'schema_version'"));
            Assert.Equal(6938, Sql.Long(c, "SELECT count(*) FROM pcapdht_store.msg"));
            Assert.Equal(0, Sql.Long(c, "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'pcapdht_store' AND table_name IN ('endpoint_dim', 'msg_v4')"));
        }
    }

    /// <summary>Turns a file into what the schema-4 build wrote: both endpoints of each message (and its sender's id) on its msg row, no endpoint_dim.</summary>
    internal static void MakeSchema4(string path)
    {
        using var c = new DuckDBConnection($"Data Source={path}");
        c.Open();
        using var cmd = c.CreateCommand();
        string[] fields = ["src_hi", "src_lo", "dst_hi", "dst_lo", "ports", "info", "sizes", "counts", "tx", "id_a", "id_b", "key_a", "key_b", "lo",
            "version", "tok_hi", "tok_lo", "ext_hi", "ext_lo", "rtt_us", "extra"];
        cmd.CommandText = $"""
            CREATE TABLE pcapdht_store.msg_old (capture_id INTEGER NOT NULL, frame_no BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL,
                d STRUCT({string.Join(", ", fields.Select(f => f + (f == "rtt_us" ? " BIGINT" : f == "extra" ? " VARCHAR" : " UBIGINT")))}) NOT NULL);
            INSERT INTO pcapdht_store.msg_old
            SELECT w.capture_id, w.frame_no, w.ts, struct_pack({string.Join(", ", fields.Select(f => $"{f} := w.{f}"))})
            FROM pcapdht_store.msg_wide w ORDER BY w.capture_id, w.frame_no;
            DROP TABLE pcapdht_store.msg; DROP TABLE pcapdht_store.endpoint_dim;
            ALTER TABLE pcapdht_store.msg_old RENAME TO msg;
            UPDATE pcapdht_store.meta SET value = '4' WHERE key = 'schema_version'; DELETE FROM pcapdht_store.meta WHERE key = 'views_sha256';
            """;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Turns a file into what the schema-3 build wrote: each node list entry's address, port and id on its row, no node_dim
    /// (and the schema-4 msg).</summary>
    internal static void MakeSchema3(string path)
    {
        MakeSchema4(path);
        using var c = new DuckDBConnection($"Data Source={path}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE pcapdht_store.node_old (capture_id INTEGER NOT NULL, frame_no BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL,
                n STRUCT(ep UBIGINT, id_a UBIGINT, id_b UBIGINT, id_lo UINTEGER) NOT NULL);
            INSERT INTO pcapdht_store.node_old
            SELECT x.capture_id, x.frame_no, x.ts, struct_pack(ep := (d.n.ip_lo & 4294967295) << 16 | d.n.port, id_a := d.n.id_a, id_b := d.n.id_b, id_lo := d.n.id_lo)
            FROM pcapdht_store.node x JOIN pcapdht_store.node_dim d ON d.capture_id = x.capture_id AND d.n.k = x.n.k ORDER BY x.capture_id, x.frame_no;
            CREATE TABLE pcapdht_store.node6_old (capture_id INTEGER NOT NULL, frame_no BIGINT NOT NULL, ts TIMESTAMPTZ NOT NULL,
                n STRUCT(ip_hi UBIGINT, ip_lo UBIGINT, port USMALLINT, id_a UBIGINT, id_b UBIGINT, id_lo UINTEGER) NOT NULL);
            INSERT INTO pcapdht_store.node6_old
            SELECT x.capture_id, x.frame_no, x.ts, struct_pack(ip_hi := d.n.ip_hi, ip_lo := d.n.ip_lo, port := d.n.port, id_a := d.n.id_a, id_b := d.n.id_b, id_lo := d.n.id_lo)
            FROM pcapdht_store.node6 x JOIN pcapdht_store.node_dim d ON d.capture_id = x.capture_id AND d.n.k = x.n.k ORDER BY x.capture_id, x.frame_no;
            DROP TABLE pcapdht_store.node; DROP TABLE pcapdht_store.node6; DROP TABLE pcapdht_store.node_dim;
            ALTER TABLE pcapdht_store.node_old RENAME TO node; ALTER TABLE pcapdht_store.node6_old RENAME TO node6;
            UPDATE pcapdht_store.meta SET value = '3' WHERE key = 'schema_version'; DELETE FROM pcapdht_store.meta WHERE key = 'views_sha256';
            """;
        cmd.ExecuteNonQuery();
    }

    /// <summary>Turns a file into what the schema-2 build wrote: the schema-3 node tables, no rollup tables or views, version 2.</summary>
    private static void MakeSchema2(string path)
    {
        MakeSchema3(path);
        using var c = new DuckDBConnection($"Data Source={path}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = string.Concat(new[] { "address_days", "node_id_days", "sender_days", "message_days", "malformed_days" }.Select(v => $"DROP VIEW main.{v}; "))
            + string.Concat(RollupSchema.Tables.Select(t => $"DROP TABLE pcapdht_store.{t}; "))
            + "UPDATE pcapdht_store.meta SET value = '2' WHERE key = 'schema_version'; DELETE FROM pcapdht_store.meta WHERE key = 'views_sha256';";
        cmd.ExecuteNonQuery();
    }

    private static void AssertHealthy(string path)
    {
        var report = StoreCheck.Run(path, TimeSpan.FromSeconds(15));
        Assert.True(report.Healthy, string.Join("\n", report.Findings.Select(f => f.Message)));
    }
}

/// <summary>Compares a store's maintained rollups with those computed afresh from all its detail rows.</summary>
internal static class RollupAssert
{
    /// <summary>Each rollup table's key columns are all but its measures.</summary>
    private static readonly (string Table, string Count)[] Measures =
        [("addr_day", "sightings"), ("id_day", "sightings"), ("sender_day", "messages"), ("msg_day", "messages"), ("malformed_day", "datagrams")];

    private static string Aggregated(string table, string count) =>
        $"SELECT * EXCLUDE ({count}, first_us, last_us), sum({count}) AS {count}, min(first_us) AS first_us, max(last_us) AS last_us FROM {table} GROUP BY ALL";

    /// <summary>
    /// Asserts that the stored rollups, aggregated by key, equal <c>InsertFromStore("true")</c> over every detail row
    /// (EXCEPT both ways), that no rollup row belongs to a deleted or failed capture, and returns the stored partial rows
    /// and the keys.
    /// </summary>
    public static (long Stored, long Keys) MatchesDetail(DuckDBConnection c)
    {
        Exec(c, "ATTACH ':memory:' AS scratch");
        try
        {
            Exec(c, RollupSchema.CreateTables.Replace("pcapdht_store.", "scratch.main."));
            Exec(c, RollupSchema.InsertFromStore("true").Replace("INSERT INTO pcapdht_store.", "INSERT INTO scratch.main."));
            long stored = 0, keys = 0;
            foreach (var (table, count) in Measures)
            {
                string mine = Aggregated($"pcapdht_store.{table}", count), fresh = Aggregated($"scratch.main.{table}", count);
                long missing = Sql.Long(c, $"SELECT count(*) FROM ({fresh} EXCEPT {mine})");
                long extra = Sql.Long(c, $"SELECT count(*) FROM ({mine} EXCEPT {fresh})");
                Assert.True(missing == 0 && extra == 0, $"{table}: {missing} keys of the detail rows differ or are missing, {extra} stored keys differ or are extra");
                stored += Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{table}");
                keys += Sql.Long(c, $"SELECT count(*) FROM ({fresh})");
                Assert.Equal(0, Sql.Long(c, $"""
                    SELECT count(*) FROM pcapdht_store.{table} WHERE capture_id NOT IN
                        (SELECT capture_id FROM pcapdht_store.capture WHERE status <> 'failed')
                    """));
            }
            foreach (var table in StoreSchema.DataTables)
                Assert.Equal(0, Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{table} WHERE capture_id NOT IN (SELECT capture_id FROM pcapdht_store.capture)"));
            return (stored, keys);
        }
        finally
        {
            Exec(c, "DETACH scratch");
        }
    }

    /// <summary>The rollups aggregated by key without the capture id: equal for the same frames stored by any path.</summary>
    public static string Fingerprint(DuckDBConnection c) => string.Join(",", Measures.Select(m =>
        Sql.String(c, $"SELECT count(*) || ':' || sum(hash(x)) FROM ({Aggregated($"(SELECT * EXCLUDE (capture_id) FROM pcapdht_store.{m.Table})", m.Count)}) AS x")));

    private static void Exec(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
