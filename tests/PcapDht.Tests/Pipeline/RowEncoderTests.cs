using System.Buffers.Binary;
using DuckDB.NET.Native;
using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Pipeline;
using PcapDht.Store;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Pipeline;

/// <summary>The row encoder and the column layouts: no database connection needed, one definition of each table.</summary>
public class RowEncoderTests
{
    private static string Sample(string name) => Path.Combine(PcapDht.Tests.Capture.CaptureTestFiles.RepoRoot, "samples-pcap", name);

    [Fact]
    public void Pipeline_RecordedSwarm_EncodesWithoutAnyDatabase()
    {
        // No PcapDhtDatabase and no DuckDB connection exist in this test: the chunks' types come from the layouts.
        var sink = new CollectedChunks();
        using var pipeline = new CapturePipeline(sink);
        pipeline.StartCapture(42);
        using (var reader = CaptureReader.Open(Sample("dht-loopback.pcap")))
            while (reader.TryRead(out var frame)) pipeline.Process(frame, out _);
        pipeline.EndOfInput();
        pipeline.Encoder.SubmitAll();
        var t = pipeline.Totals();

        long Rows(TableLayout table) => sink.Chunks.Where(c => c.Layout == table).Sum(c => (long)c.Count);
        Assert.Equal(6937, t.Stats.KrpcMessages);
        Assert.Equal(t.Stats.KrpcMessages, Rows(StoreColumns.Msg));
        Assert.Equal(t.Stats.PeerSightings, Rows(StoreColumns.Peer));
        Assert.Equal(t.Stats.Malformed, Rows(StoreColumns.Malformed));
        Assert.All(sink.Chunks, c => Assert.All(Enumerable.Range(0, c.Count), r => Assert.Equal(42, c.Get<int>(StoreColumns.CaptureId, r))));
        // frame_no increases within the message rows, and every row's timestamp lies in the capture's span.
        var msg = sink.Chunks.Where(c => c.Layout == StoreColumns.Msg).SelectMany(c => Enumerable.Range(0, c.Count).Select(r => (Frame: c.Get<long>(StoreColumns.FrameNo, r), Us: c.Get<long>(StoreColumns.Ts, r)))).ToList();
        Assert.True(msg.Zip(msg.Skip(1)).All(p => p.First.Frame < p.Second.Frame));
        Assert.All(msg, m => Assert.InRange(m.Us, t.Stats.FirstTimestampNs / 1000, t.Stats.LastTimestampNs / 1000));
        Assert.Equal("1:EN10MB", t.LinkTypes);
        Assert.True(t.Stats.MatchedResponses > 3000, $"{t.Stats.MatchedResponses} matched");
        foreach (var c in sink.Chunks) c.Release();
    }

    [Fact]
    public void DropCaptureRows_KeepsEarlierCapturesRows_AndTheDroppedRowsNullsDoNotLeak()
    {
        using var dir = new TempDir();
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        using var session = StoreSession.Attach(db, new StoreSessionOptions { BackgroundWriter = false });
        using var pipeline = new CapturePipeline(session);
        int[] ids = session.RegisterCaptures([new CaptureSource("kept", CaptureKind.File), new CaptureSource("dropped", CaptureKind.File)]);
        var d = new UdpDatagram(1, 1_000_000, IpAddr.Parse("10.0.0.1"), 1, IpAddr.Parse("10.0.0.2"), 2, new byte[10]);
        byte[] id20 = Enumerable.Range(1, 20).Select(i => (byte)i).ToArray();

        session.StartCapture(ids[0]);
        pipeline.StartCapture(ids[0]);
        var withId = new KrpcMessage { Kind = KrpcKind.Query, Method = KrpcMethod.Ping, TransactionId = [1], NodeId = id20, Port = -1, ImpliedPort = -1, ErrorCode = -1 };
        pipeline.Add(d, withId);
        session.CompleteCapture(ids[0], pipeline.Totals(), "complete");

        // The second capture's rows have no id (NULL id columns) and are dropped; the rows written in their place must not inherit the NULLs.
        session.StartCapture(ids[1]);
        pipeline.StartCapture(ids[1]);
        var noId = new KrpcMessage { Kind = KrpcKind.Query, Method = KrpcMethod.Ping, TransactionId = [2], Port = -1, ImpliedPort = -1, ErrorCode = -1 };
        for (int i = 0; i < 5; i++) pipeline.Add(d, noId);
        pipeline.Encoder.DropCaptureRows();
        session.DiscardCapture(ids[1], null);
        pipeline.StartCapture(ids[0]); // more rows of a capture after the dropped ones (as the next file would write)
        for (int i = 0; i < 5; i++) pipeline.Add(d, withId);
        pipeline.Encoder.SubmitAll();
        session.Commit();

        Assert.Equal(6L, Sql.Long(db.Connection, $"SELECT count(*) FROM messages WHERE capture_id = {ids[0]} AND node_id IS NOT NULL"));
        Assert.Equal(6L, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
        Assert.Equal(1L, Sql.Long(db.Connection, "SELECT count(*) FROM captures"));
    }

    [Fact]
    public void Endpoints_EachMessageRowNamesItsSenderAndDestination_EachEndpointOnceInEndpointDim_KeysNeverReusedInACapture()
    {
        // 3,000 senders (address, port, id) over 600 addresses, so endpoint_dim spans two chunks of 2,048 rows; one in
        // seven messages is an error (no id) and one in eleven has a 19-byte id (kept in extra): those senders are an
        // address and port without id, the same endpoint as a destination at that address and port.
        var random = new Random(5);
        var sink = new CollectedChunks();
        using var encoder = new RowEncoder(sink);
        byte[][] ids = [.. Enumerable.Range(0, 3000).Select(_ => { var b = new byte[20]; random.NextBytes(b); return b; })];
        IpAddr Address(int i) => i % 2 == 0 ? IpAddr.Parse($"10.{i % 7}.{i / 256 % 256}.{i % 256}") : IpAddr.Parse($"2001:db8::{i:x}");
        var want = new List<(int Capture, (UInt128, ushort, UInt128?) Src, (UInt128, ushort, UInt128?) Dst)>();
        long frame = 0;
        void Messages(int capture, int count)
        {
            encoder.StartCapture(capture, new CaptureStats());
            for (int i = 0; i < count; i++)
            {
                int s = random.Next(3000), t = random.Next(3000);
                var (src, srcPort, dst, dstPort) = (Address(s % 600), (ushort)(6881 + s % 5), Address(t % 600), (ushort)(6881 + t % 5));
                frame++;
                var d = new UdpDatagram(frame, frame * 1_000_000L, src, srcPort, dst, dstPort, new byte[10]);
                var m = i % 7 == 0
                    ? new KrpcMessage { Kind = KrpcKind.Error, TransactionId = [1], Port = -1, ImpliedPort = -1, ErrorCode = 201 }
                    : new KrpcMessage { Kind = KrpcKind.Query, Method = KrpcMethod.Ping, TransactionId = [1], NodeId = i % 11 == 0 ? ids[s][..19] : ids[s], Port = -1, ImpliedPort = -1, ErrorCode = -1 };
                encoder.BeginMessage(d, m, 1);
                encoder.EndMessage(d, m, default);
                UInt128? id = m.NodeId.Length == 20 ? new UInt128(BinaryPrimitives.ReadUInt64BigEndian(ids[s]), BinaryPrimitives.ReadUInt64BigEndian(ids[s].AsSpan(8))) << 32 | BinaryPrimitives.ReadUInt32BigEndian(ids[s].AsSpan(16)) : null;
                want.Add((capture, (src.Value, srcPort, id), (dst.Value, dstPort, null)));
            }
        }
        Messages(7, 6000);
        Messages(8, 500);  // another capture numbers its own endpoints from 0
        Messages(7, 2000); // capture 7 goes on where its numbering stopped
        encoder.SubmitAll();

        var endpoints = new Dictionary<(int, uint), (UInt128, ushort, UInt128?)>();
        foreach (var c in sink.Chunks.Where(c => c.Layout == StoreColumns.EndpointDim))
            for (int r = 0; r < c.Count; r++)
            {
                UInt128? id = c.IsNull(StoreColumns.E.IdA, r) ? null
                    : new UInt128(c.Get<ulong>(StoreColumns.E.IdA, r), c.Get<ulong>(StoreColumns.E.IdA + 1, r)) << 32 | c.Get<uint>(StoreColumns.E.IdLo, r);
                Assert.Equal(c.IsNull(StoreColumns.E.IdA, r), c.IsNull(StoreColumns.E.IdLo, r));
                var endpoint = (new UInt128(c.Get<ulong>(StoreColumns.E.IpHi, r), c.Get<ulong>(StoreColumns.E.IpHi + 1, r)), c.Get<ushort>(StoreColumns.E.Port, r), id);
                Assert.True(endpoints.TryAdd((c.Get<int>(StoreColumns.CaptureId, r), c.Get<uint>(StoreColumns.E.Key, r)), endpoint), "a key names one endpoint of its capture");
            }
        Assert.True(sink.Chunks.Count(c => c.Layout == StoreColumns.EndpointDim) >= 2, "the endpoints span two chunks");
        // Each capture's endpoints once, as long as the dictionary holds them (it is bounded, and starts over when capture 7 goes on).
        var distinct7 = want.Take(6000).SelectMany(w => new[] { w.Src, w.Dst }).Distinct().Count();
        Assert.Equal(distinct7, endpoints.Keys.Count(k => k.Item1 == 7 && k.Item2 < distinct7));
        Assert.Equal(want.Skip(6000).Take(500).SelectMany(w => new[] { w.Src, w.Dst }).Distinct().Count(), endpoints.Keys.Count(k => k.Item1 == 8));
        Assert.Contains(endpoints.Keys, k => k == (8, 0u));
        Assert.True(endpoints.Values.Any(e => e.Item3 == null) && endpoints.Values.Any(e => e.Item3 != null));

        var rows = sink.Chunks.Where(c => c.Layout == StoreColumns.Msg).SelectMany(c => Enumerable.Range(0, c.Count).Select(r => (c, r))).ToList();
        Assert.Equal(want.Count, rows.Count);
        for (int i = 0; i < rows.Count; i++)
        {
            var (c, r) = rows[i];
            int capture = c.Get<int>(StoreColumns.CaptureId, r);
            Assert.Equal(want[i].Capture, capture);
            Assert.Equal(want[i].Src, endpoints[(capture, c.Get<uint>(StoreColumns.M.SrcKey, r))]);
            Assert.Equal(want[i].Dst, endpoints[(capture, c.Get<uint>(StoreColumns.M.DstKey, r))]);
        }
        foreach (var c in sink.Chunks) c.Release();
    }

    [Fact]
    public void Layouts_CreateTheTablesTheEncoderWrites()
    {
        foreach (var t in StoreColumns.All)
        {
            // The three leading columns sit at the same leaf indices in every row table.
            Assert.Equal(StoreColumns.CaptureId, t.Leaf("capture_id"));
            Assert.Equal(StoreColumns.FrameNo, t.Leaf("frame_no"));
            Assert.Equal(StoreColumns.Ts, t.Leaf("ts"));
            Assert.StartsWith($"CREATE TABLE IF NOT EXISTS pcapdht_store.{t.Table} (", t.CreateTableSql());
        }
        // The two dimension tables share their leaves after the key, name and type (RowEncoder writes both by offset).
        Assert.Equal(StoreColumns.NodeDim.Leaves.Skip(StoreColumns.ND.Key).Select(l => (l.Name[2..], l.Type)),
            StoreColumns.EndpointDim.Leaves.Skip(StoreColumns.E.Key).Select(l => (l.Name[2..], l.Type)));
        // What DuckDB made of the DDL is exactly the layout (names, types, order), as the appender checks.
        using var db = PcapDhtDatabase.Open(":memory:");
        foreach (var t in StoreColumns.All)
        {
            var cols = Sql.Rows(db.Connection, $"SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'pcapdht_store' AND table_name = '{t.Table}' ORDER BY column_index");
            Assert.Equal(t.Columns.Select(c => c.Name), cols.Select(r => (string)r[0]!));
        }
        Assert.Equal("STRUCT(k UINTEGER, ip_hi UBIGINT, ip_lo UBIGINT, port USMALLINT, id_a UBIGINT, id_b UBIGINT, id_lo UINTEGER)",
            Sql.Scalar(db.Connection, "SELECT data_type FROM duckdb_columns() WHERE schema_name = 'pcapdht_store' AND table_name = 'node_dim' AND column_name = 'n'"));
        Assert.Throws<ArgumentException>(() => StoreColumns.Msg.Leaf("d.nope"));
        Assert.Equal(DuckDBType.Varchar, StoreColumns.Msg.Leaves[StoreColumns.M.Extra].Type);
    }

    [Fact]
    public void Appender_TableOfAnotherLayout_IsRefusedWithOneLine()
    {
        using var dir = new TempDir();
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        db.Execute("DROP TABLE pcapdht_store.node_dim; CREATE TABLE pcapdht_store.node_dim (capture_id INTEGER, frame_no BIGINT, ts TIMESTAMPTZ, n STRUCT(k UINTEGER, ip_hi UBIGINT, ip_lo UBIGINT, port USMALLINT, id_b UBIGINT, id_a UBIGINT, id_lo UINTEGER))");
        var ex = Assert.Throws<StoreException>(() => StoreSession.Attach(db).Dispose());
        Assert.Contains("n.id_b", ex.Message);
        Assert.Contains("written by another version", ex.Message);
        Assert.DoesNotContain("\n", ex.Message);
    }
}
