using System.Net;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Store;
using PcapDht.Tests.Pipeline;

namespace PcapDht.Tests.Store;

public class CaptureWriterTests
{
    private static readonly byte[] IdA = Enumerable.Range(1, 20).Select(i => (byte)i).ToArray();
    private static readonly byte[] IdB = Enumerable.Range(0xe0, 20).Select(i => (byte)i).ToArray();
    private static readonly byte[] Hash = Enumerable.Range(0x40, 20).Select(i => (byte)(i * 3)).ToArray();

    private static UdpDatagram Datagram(long frame, long tsNs, string src, ushort sport, string dst, ushort dport, byte[] payload)
        => new(frame, tsNs, IpAddr.Parse(src), sport, IpAddr.Parse(dst), dport, payload);

    private static KrpcMessage Empty(KrpcKind kind, byte[] tx) => new()
    {
        Kind = kind, TransactionId = tx, Port = -1, ImpliedPort = -1, Num = -1, Interval = -1, Seq = -1, Cas = -1, ErrorCode = -1,
    };

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Write_QueryAndResponse_ViewsShowTextAddressesBlobsAndMatchedMethod(bool background)
    {
        using var dir = new TempDir();
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var payload = new byte[57];
        using (var w = TestCaptureWriter.Begin(db, new CaptureSource("x.pcap", CaptureKind.File, "ab", 10), new() { BackgroundWriter = background }))
        {
            var q = Empty(KrpcKind.Query, [0xaa, 0x01]);
            q.Method = KrpcMethod.GetPeers; q.NodeId = IdA; q.InfoHash = Hash; q.Version = "LT\x01\x02"u8.ToArray();
            w.Add(Datagram(3, 1_700_000_000_123_456_789, "10.0.0.1", 6881, "2001:db8::1", 51413, payload), q);

            var nodeList = new byte[26 * 2];
            IdB.CopyTo(nodeList, 0); new byte[] { 192, 168, 1, 2, 0x1a, 0xe1 }.CopyTo(nodeList, 20);
            IdA.CopyTo(nodeList, 26); new byte[] { 8, 8, 4, 4, 0x00, 0x35 }.CopyTo(nodeList, 46);
            var r = Empty(KrpcKind.Response, [0xaa, 0x01]);
            r.NodeId = IdB; r.Nodes = nodeList; r.Token = [1, 2, 3, 4, 5];
            r.ExternalIp = [10, 0, 0, 1, 0x1a, 0xe1];
            w.Add(Datagram(4, 1_700_000_000_223_456_000, "2001:db8::1", 51413, "10.0.0.1", 6881, payload), r);

            var unmatched = Empty(KrpcKind.Response, [0xbb]);
            w.Add(Datagram(5, 1_700_000_001_000_000_000, "1.2.3.4", 1, "10.0.0.1", 6881, payload), unmatched);
            w.Frames = 5;
            w.Complete();
        }

        var c = db.Connection;
        var rows = Sql.Rows(c, "SELECT frame_no, ts_ns, src_ip, dst_ip, src_port, y, method, hex(tx_id), hex(node_id), hex(info_hash), hex(version), client, rtt_us, hex(token), external_ip, external_port, nodes_count, length, epoch_us(ts) FROM messages ORDER BY frame_no");
        Assert.Equal(3, rows.Count);
        Assert.Equal(3L, rows[0][0]);
        Assert.Equal(1_700_000_000_123_456_789L, rows[0][1]);
        Assert.Equal("10.0.0.1", rows[0][2]);
        Assert.Equal("2001:db8::1", rows[0][3]);
        Assert.Equal(6881, Convert.ToInt32(rows[0][4]));
        Assert.Equal("q", rows[0][5]);
        Assert.Equal("get_peers", rows[0][6]);
        Assert.Equal("AA01", rows[0][7]);
        Assert.Equal(Convert.ToHexString(IdA), rows[0][8]);
        Assert.Equal(Convert.ToHexString(Hash), rows[0][9]);
        Assert.Equal("4C540102", rows[0][10]);
        Assert.Equal("LT", rows[0][11]);
        Assert.Null(rows[0][12]);
        Assert.Equal(1_700_000_000_123_456L, rows[0][18]);

        Assert.Equal("r", rows[1][5]);
        Assert.Equal("get_peers", rows[1][6]);
        Assert.Equal(99_999L, rows[1][12]); // 99.999211 ms, truncated to µs
        Assert.Equal("0102030405", rows[1][13]);
        Assert.Equal("10.0.0.1", rows[1][14]);
        Assert.Equal(6881, Convert.ToInt32(rows[1][15]));
        Assert.Equal(2, Convert.ToInt32(rows[1][16]));
        Assert.Equal(57, Convert.ToInt32(rows[1][17]));

        Assert.Null(rows[2][6]);
        Assert.Equal("BB", rows[2][7]);

        var nodes = Sql.Rows(c, "SELECT frame_no, source, ip, port, hex(node_id), reporter_ip, reporter_port FROM node_sightings ORDER BY frame_no, source DESC, ip");
        Assert.Equal(4, nodes.Count);
        Assert.Equal(new object?[] { 3L, "sender", "10.0.0.1", (ushort)6881, Convert.ToHexString(IdA), null, null }, nodes[0]);
        Assert.Equal(new object?[] { 4L, "sender", "2001:db8::1", (ushort)51413, Convert.ToHexString(IdB), null, null }, nodes[1]);
        Assert.Equal(new object?[] { 4L, "nodes", "192.168.1.2", (ushort)6881, Convert.ToHexString(IdB), "2001:db8::1", (ushort)51413 }, nodes[2]);
        Assert.Equal(new object?[] { 4L, "nodes", "8.8.4.4", (ushort)53, Convert.ToHexString(IdA), "2001:db8::1", (ushort)51413 }, nodes[3]);

        var cap = Sql.Rows(c, "SELECT status, krpc_messages, frames, node_sightings, sha256, kind, first_ts, error FROM captures");
        Assert.Single(cap);
        Assert.Equal("complete", cap[0][0]);
        Assert.Equal(3L, cap[0][1]);
        Assert.Equal(5L, cap[0][2]);
        Assert.Equal(4L, cap[0][3]);
        Assert.Equal("ab", cap[0][4]);
        Assert.Equal("file", cap[0][5]);
        Assert.Null(cap[0][7]);
    }

    [Fact]
    public void Write_FieldsWithoutFixedWidthColumns_RoundTripThroughExtra()
    {
        // Odd lengths and rare fields take the JSON side path (d.extra); the views must show them exactly.
        using var dir = new TempDir();
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        byte[] longTx = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        byte[] oddId = [0xde, 0xad, 0xbe, 0xef];
        byte[] longVersion = "libtorrent-2.0"u8.ToArray();
        byte[] longToken = Enumerable.Range(0, 20).Select(i => (byte)(0xf0 - i)).ToArray();
        byte[] badUtf8 = [0x41, 0xff, 0x42];
        var nodes6 = new byte[38];
        IdB.CopyTo(nodes6, 0);
        new byte[] { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0x1a, 0xe2 }.CopyTo(nodes6, 20);
        using (var w = TestCaptureWriter.Begin(db, new CaptureSource("odd", CaptureKind.File)))
        {
            var q = Empty(KrpcKind.Query, longTx);
            q.Method = KrpcMethod.Other; q.MethodName = "vote"u8.ToArray(); q.NodeId = oddId; q.Target = IdA; q.InfoHash = Hash;
            q.Version = longVersion; q.Token = longToken; q.Port = 70_000; q.ImpliedPort = 0; q.Want = 3; q.ReadOnly = true;
            w.Add(Datagram(1, 1_000, "10.0.0.1", 1000, "10.0.0.2", 2000, []), q);

            var e = Empty(KrpcKind.Error, longTx);
            e.ErrorCode = 203; e.ErrorMessage = badUtf8;
            w.Add(Datagram(2, 2_000, "10.0.0.2", 2000, "10.0.0.1", 1000, []), e);

            var r = Empty(KrpcKind.Response, [9]);
            r.NodeId = IdB; r.Nodes6 = nodes6; r.ExternalIp = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x00, 0x50];
            w.Add(Datagram(3, 3_000, "2001:db8::7", 6881, "10.0.0.1", 1000, []), r);
            w.Complete();
        }

        var c = db.Connection;
        var rows = Sql.Rows(c, "SELECT y, method, hex(tx_id), hex(node_id), hex(target), hex(info_hash), version::VARCHAR, hex(token), port, implied_port, want, read_only, error_code, error_msg, rtt_us, external_ip, external_port FROM messages ORDER BY frame_no");
        Assert.Equal(new object?[] { "q", "vote", Convert.ToHexString(longTx), "DEADBEEF", Convert.ToHexString(IdA), Convert.ToHexString(Hash),
            "libtorrent-2.0", Convert.ToHexString(longToken), 70_000, false, (byte)3, true, null, null, null, null, null }, rows[0]);
        Assert.Equal(new object?[] { "e", "vote", Convert.ToHexString(longTx), null, null, null, null, null, null, null, null, false,
            203L, "A\uFFFDB", 1L, null, null }, rows[1]);
        Assert.Equal("2001:db8::1", rows[2][15]);
        Assert.Equal((ushort)80, rows[2][16]);
        Assert.Null(rows[2][1]);

        var six = Sql.Rows(c, "SELECT source, ip, port, hex(node_id), reporter_ip, reporter_port FROM node_sightings WHERE source = 'nodes6'");
        Assert.Equal(new object?[] { "nodes6", "2001:db8::8", (ushort)6882, Convert.ToHexString(IdB), "2001:db8::7", (ushort)6881 }, Assert.Single(six));
        // The query's odd-length id is no sender sighting; the response's 20-byte id is.
        Assert.Equal(1, Sql.Long(c, "SELECT count(*) FROM node_sightings WHERE source = 'sender'"));
    }

    [Fact]
    public void Open_FileCaptureLeftRunningWithCommittedRows_LosesItsRowsOnly()
    {
        // A file capture commits its sightings, then its messages with the final status: a crash between the
        // two leaves committed rows under a `running` capture. The next open must drop them (and only them).
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        var nodeList = new byte[26];
        IdB.CopyTo(nodeList, 0); new byte[] { 192, 168, 1, 2, 0x1a, 0xe1 }.CopyTo(nodeList, 20);
        using (var db = PcapDhtDatabase.Open(path))
        {
            foreach (var name in new[] { "kept.pcap", "crashed.pcap" })
                using (var w = TestCaptureWriter.Begin(db, new CaptureSource(name, CaptureKind.File)))
                {
                    Assert.True(new StoreSessionOptions().ParallelTables);
                    var r = Empty(KrpcKind.Response, [1]);
                    r.NodeId = IdA; r.Nodes = nodeList;
                    w.Add(Datagram(1, 1_000, "10.0.0.1", 1, "10.0.0.2", 2, []), r);
                    w.Complete();
                }
            db.Execute("UPDATE pcapdht_store.capture SET status = 'running' WHERE source = 'crashed.pcap'");
            Assert.Equal(4, Sql.Long(db.Connection, "SELECT count(*) FROM node_sightings"));
        }
        using (var db = PcapDhtDatabase.Open(path))
        {
            Assert.Equal(1, db.RecoveredCaptures);
            Assert.Equal("failed", Sql.Scalar(db.Connection, "SELECT status FROM captures WHERE source = 'crashed.pcap'"));
            Assert.Equal(new object?[] { "kept.pcap", 1L, 2L }, Assert.Single(Sql.Rows(db.Connection,
                "SELECT c.source, (SELECT count(*) FROM messages m WHERE m.capture_id = c.capture_id), (SELECT count(*) FROM node_sightings n WHERE n.capture_id = c.capture_id) FROM captures c WHERE c.status = 'complete'")));
            Assert.Equal(1, Sql.Long(db.Connection, "SELECT count(*) FROM pcapdht_store.node"));
            Assert.Equal(1, Sql.Long(db.Connection, "SELECT count(*) FROM pcapdht_store.msg"));
        }
    }

    [Fact]
    public void IsOpenRace_MatchesOnlyAVanishedWal()
    {
        // The message a test's open got while a sniffer closed the same file (its checkpoint deleted the WAL).
        Assert.True(PcapDhtDatabase.IsOpenRace("DuckDBOpen failed: IO Error: Cannot open file \"/tmp/x/live.duckdb.wal\": No such file or directory"));
        Assert.False(PcapDhtDatabase.IsOpenRace("DuckDBOpen failed: IO Error: Cannot open file \"/tmp/x/live.duckdb\": No such file or directory"));
        Assert.False(PcapDhtDatabase.IsOpenRace("IO Error: Cannot open file \"/tmp/x/live.duckdb.wal\": Permission denied"));
    }

    [Fact]
    public void Open_ViewsInBackground_WritersRunMeanwhileAndTheViewsArriveOnce()
    {
        using var dir = new TempDir();
        string path = dir.File("bg.duckdb");
        using (var db = PcapDhtDatabase.Open(path, PcapDhtDatabase.LockWait, viewsInBackground: true))
        {
            // A capture written while the views are being created (ingest's order).
            using (var w = TestCaptureWriter.Begin(db, new CaptureSource("x.pcap", CaptureKind.File, "cd", 10), new()))
            {
                var q = Empty(KrpcKind.Query, [0x01, 0x02]);
                q.Method = KrpcMethod.Ping; q.NodeId = IdA;
                for (int i = 0; i < 5000; i++) w.Add(Datagram(i + 1, 1_700_000_000_000_000_000 + i, "10.0.0.1", 6881, "10.0.0.2", 6881, new byte[40]), q);
                w.Frames = 5000;
                w.Complete();
            }
            db.WaitForViews();
            Assert.Equal(5000, Sql.Long(db.Connection, "SELECT count(*) FROM messages WHERE method = 'ping' AND src_ip = '10.0.0.1'"));
            Assert.Equal(5000, Sql.Long(db.Connection, "SELECT count(*) FROM node_sightings"));
        }
        // The stored hash says they are current: the next open leaves them alone (a dropped view stays dropped).
        using (var db = PcapDhtDatabase.Open(path))
            db.Execute("DROP VIEW malformed_krpc");
        using (var db = PcapDhtDatabase.Open(path, PcapDhtDatabase.LockWait, viewsInBackground: true))
        {
            db.WaitForViews();
            Assert.Equal(0, Sql.Long(db.Connection, "SELECT count(*) FROM duckdb_views() WHERE view_name = 'malformed_krpc'"));
            Assert.Equal(5000, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
        }
    }

    [Fact]
    public void Open_OlderStoreSchema_IsRefusedWithAClearMessage()
    {
        using var dir = new TempDir();
        string path = dir.File("old.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
            db.Execute("UPDATE pcapdht_store.meta SET value = '1' WHERE key = 'schema_version'");
        var ex = Assert.Throws<StoreException>(() => PcapDhtDatabase.Open(path));
        Assert.Contains("store schema 1", ex.Message);
        Assert.Contains("new database file", ex.Message);
    }

    [Fact]
    public void Write_ManyChunks_AllRowsArriveInOrder()
    {
        using var dir = new TempDir();
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        const int n = 20_000; // ~10 chunks: exercises the bounded pool and the writer thread
        var payload = new byte[10];
        using (var w = TestCaptureWriter.Begin(db, new CaptureSource("many", CaptureKind.File), new() { ChunksPerTable = 2 }))
        {
            for (int i = 1; i <= n; i++)
            {
                var q = Empty(KrpcKind.Query, [(byte)(i >> 8), (byte)i]);
                q.Method = KrpcMethod.Ping; q.NodeId = IdA;
                w.Add(Datagram(i, i * 1000L, "10.0.0.1", 1, "10.0.0.2", 2, payload), q);
            }
            w.Complete();
        }
        Assert.Equal(n, Sql.Long(db.Connection, "SELECT count(*) FROM messages WHERE method = 'ping'"));
        Assert.Equal((long)n * (n + 1) / 2, Sql.Long(db.Connection, "SELECT sum(frame_no)::BIGINT FROM messages"));
        Assert.Equal(n, Sql.Long(db.Connection, "SELECT count(*) FROM node_sightings WHERE source = 'sender'"));
        Assert.Equal(1, Sql.Long(db.Connection, "SELECT count(DISTINCT node_id) FROM node_sightings"));
    }

    [Fact]
    public void Dispose_WithoutComplete_RollsBackRowsAndMarksFailed()
    {
        using var dir = new TempDir();
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        using (var w = TestCaptureWriter.Begin(db, new CaptureSource("gone", CaptureKind.File)))
        {
            for (int i = 1; i <= 5000; i++)
            {
                var q = Empty(KrpcKind.Query, [1]);
                q.Method = KrpcMethod.Ping;
                w.Add(Datagram(i, i, "10.0.0.1", 1, "10.0.0.2", 2, []), q);
            }
        }
        Assert.Equal(0, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
        Assert.Equal("failed", Sql.Scalar(db.Connection, "SELECT status FROM captures"));
    }

    [Fact]
    public void Checkpoint_Live_RowsVisibleWhileRunning()
    {
        using var dir = new TempDir();
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        using var w = TestCaptureWriter.Begin(db, CaptureSource.Live("eth9"), new() { BackgroundWriter = false });
        var q = Empty(KrpcKind.Query, [1]);
        q.Method = KrpcMethod.FindNode; q.Target = IdB;
        w.Add(Datagram(1, 5, "10.0.0.1", 1, "10.0.0.2", 2, []), q);
        w.Checkpoint();
        Assert.Equal(1, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
        Assert.Equal("running", Sql.Scalar(db.Connection, "SELECT status FROM captures"));
        Assert.Equal("live:eth9", Sql.Scalar(db.Connection, "SELECT source FROM captures"));
        w.Add(Datagram(2, 6, "10.0.0.1", 1, "10.0.0.2", 2, []), q);
        w.Complete();
        Assert.Equal(2, Sql.Long(db.Connection, "SELECT count(*) FROM messages WHERE hex(target) = '" + Convert.ToHexString(IdB) + "'"));
        Assert.Equal("complete", Sql.Scalar(db.Connection, "SELECT status FROM captures"));
    }

    [Fact]
    public void Open_RunningCaptureLeftBehind_IsMarkedFailed()
    {
        using var dir = new TempDir();
        string path = dir.File("t.duckdb");
        using (var db = PcapDhtDatabase.Open(path))
            db.Execute("INSERT INTO pcapdht_store.capture (capture_id, source, kind, status, started_at) VALUES (7, 'x', 'file', 'running', now())");
        using (var db = PcapDhtDatabase.Open(path))
        {
            Assert.Equal(1, db.RecoveredCaptures);
            Assert.Equal("failed", Sql.Scalar(db.Connection, "SELECT status FROM captures WHERE capture_id = 7"));
        }
    }

    [Fact]
    public void IpText_MatchesDotNetFormatting()
    {
        using var db = PcapDhtDatabase.Open(":memory:");
        var rng = new Random(42);
        var addrs = new List<IpAddr> { IpAddr.Parse("::"), IpAddr.Parse("::1"), IpAddr.Parse("1::"), IpAddr.Parse("2001:db8:0:0:1:0:0:1"),
            IpAddr.Parse("2001:0:0:1::1"), IpAddr.Parse("fe80::1:0:0:0"), IpAddr.Parse("0.0.0.0"), IpAddr.Parse("255.255.255.255"),
            IpAddr.Parse("2001:db8:1:2:3:4:5:6") };
        Span<byte> b = stackalloc byte[16];
        for (int i = 0; i < 300; i++)
        {
            rng.NextBytes(b);
            // zero random groups so the '::' rule is exercised
            for (int g = 0; g < 8; g++) if (rng.Next(3) == 0) { b[2 * g] = 0; b[2 * g + 1] = 0; }
            if (i % 5 == 0) { b[..10].Clear(); b[10] = 0xff; b[11] = 0xff; }
            addrs.Add(IpAddr.FromV6Bytes(b));
        }
        var expected = new List<string>();
        var values = new List<string>();
        foreach (var a in addrs)
        {
            var ip = a.ToIPAddress();
            if (!a.IsV4 && ip.ToString().Contains('.')) continue; // .NET prints IPv4-compatible forms with a dotted tail
            expected.Add(ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4().ToString() : ip.ToString());
            values.Add($"({values.Count}, {a.Value}::UHUGEINT)");
        }
        var rows = Sql.Rows(db.Connection, $"SELECT pcapdht_ip_text(n) FROM (VALUES {string.Join(',', values)}) v(i, n) ORDER BY i");
        Assert.Equal(expected, rows.Select(r => (string)r[0]!).ToList());
        Assert.True(expected.Count > 250);
    }
}
