using System.Buffers.Binary;
using PcapDht.Bencode.Simd;
using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Pipeline;
using PcapDht.Tests.Net;

namespace PcapDht.Tests.Pipeline;

/// <summary>
/// Every variant of the node-list transpose writes what the per-record reads wrote before it (the reference below
/// reads each field on its own slice) on random lists of edge lengths and on every node list of the real captures,
/// touches no element past the records it was given, and the row encoder splits a list across chunks correctly.
/// </summary>
public sealed unsafe class NodeColumnsTests
{
    public static TheoryData<SimdVariant> Variants() => new(SimdSelection.All.ToArray());

    private const ulong Guard = 0xDEAD_BEEF_DEAD_BEEFUL;
    private const uint Guard32 = 0xDEAD_BEEF;
    private const ushort Guard16 = 0xBEEF;

    /// <summary>Columns of one transpose, each one element longer than the records, its last element a guard.</summary>
    private sealed record Columns(ulong[] A, ulong[] B, uint[] Lo, ulong[] Ep, ulong[] IpHi, ulong[] IpLo, ushort[] Port);

    private static Columns Transpose(SimdVariant variant, byte[] list, bool v6)
    {
        int n = list.Length / (v6 ? 38 : 26);
        var c = new Columns(Filled(n, Guard), Filled(n, Guard), Filled(n, Guard32), Filled(n, Guard), Filled(n, Guard), Filled(n, Guard), Filled(n, Guard16));
        fixed (ulong* a = c.A, b = c.B, ep = c.Ep, hi = c.IpHi, lo6 = c.IpLo)
        fixed (uint* lo = c.Lo)
        fixed (ushort* port = c.Port)
        {
            if (v6) NodeColumns.Nodes6(variant, list, n, hi, lo6, port, a, b, lo);
            else NodeColumns.Nodes(variant, list, n, ep, a, b, lo);
        }
        return c;
    }

    private static T[] Filled<T>(int n, T value) => Enumerable.Repeat(value, n + 1).ToArray();

    /// <summary>What RowEncoder wrote per record before the transpose: each field read big-endian from its own slice.</summary>
    private static void AssertReference(byte[] list, bool v6, Columns c, string what)
    {
        int size = v6 ? 38 : 26, n = list.Length / size;
        for (int i = 0; i < n; i++)
        {
            var rec = list.AsSpan(i * size, size);
            Assert.True(BinaryPrimitives.ReadUInt64BigEndian(rec) == c.A[i], $"{what}: id_a of record {i}");
            Assert.True(BinaryPrimitives.ReadUInt64BigEndian(rec[8..]) == c.B[i], $"{what}: id_b of record {i}");
            Assert.True(BinaryPrimitives.ReadUInt32BigEndian(rec[16..]) == c.Lo[i], $"{what}: id_lo of record {i}");
            if (v6)
            {
                var ip = IpAddr.FromV6Bytes(rec.Slice(20, 16)).Value;
                Assert.True((ulong)(ip >> 64) == c.IpHi[i] && (ulong)ip == c.IpLo[i], $"{what}: ip of record {i}");
                Assert.True(BinaryPrimitives.ReadUInt16BigEndian(rec[36..]) == c.Port[i], $"{what}: port of record {i}");
            }
            else
            {
                ulong ep = (ulong)BinaryPrimitives.ReadUInt32BigEndian(rec.Slice(20, 4)) << 16 | BinaryPrimitives.ReadUInt16BigEndian(rec.Slice(24, 2));
                Assert.True(ep == c.Ep[i], $"{what}: ep of record {i}");
            }
        }
        // Nothing past the records (nor a column the list does not have) was written.
        Assert.Equal(Guard, c.A[n]);
        Assert.Equal(Guard, c.B[n]);
        Assert.Equal(Guard32, c.Lo[n]);
        Assert.Equal(Guard, c.Ep[v6 ? 0 : n]);
        Assert.Equal(Guard, c.IpHi[v6 ? n : 0]);
        Assert.Equal(Guard, c.IpLo[v6 ? n : 0]);
        Assert.Equal(Guard16, c.Port[v6 ? n : 0]);
    }

    public static TheoryData<SimdVariant, bool> VariantsAndFamilies()
    {
        var data = new TheoryData<SimdVariant, bool>();
        foreach (var v in SimdSelection.All) { data.Add(v, false); data.Add(v, true); }
        return data;
    }

    [Theory]
    [MemberData(nameof(VariantsAndFamilies))]
    public void NodeLists_RandomListsOfEdgeLengths_EqualThePerRecordReads(SimdVariant variant, bool v6)
    {
        // Around 0, one record, one step of 2 and of 4 records, and a step plus a partial record (8x26+13 bytes).
        int size = v6 ? 38 : 26;
        var random = new Random(v6 ? 32 : 17);
        int[] lengths = [0, 1, size - 1, size, size + 1, 2 * size - 1, 2 * size, 2 * size + 1, 3 * size - 1, 3 * size,
            4 * size - 1, 4 * size, 4 * size + 1, 5 * size, 8 * size + size / 2, 16 * size, 16 * size + size - 1, 2000];
        foreach (int length in lengths.Concat(Enumerable.Range(0, 40).Select(_ => random.Next(0, 1200))))
        {
            byte[] list = new byte[length];
            random.NextBytes(list);
            AssertReference(list, v6, Transpose(variant, list, v6), $"{variant}, {length} bytes");
        }
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Nodes_AllOnesAndAllZeros_KeepEveryBit(SimdVariant variant)
    {
        // A shuffle that zeroes or duplicates a byte shows on these where random bytes might hide it by chance.
        foreach (byte fill in new byte[] { 0x00, 0xFF, 0x80, 0x01 })
            foreach (bool v6 in new[] { false, true })
            {
                byte[] list = Enumerable.Repeat(fill, 9 * (v6 ? 38 : 26)).ToArray();
                AssertReference(list, v6, Transpose(variant, list, v6), $"{variant}, fill {fill:x2}, v6 {v6}");
            }
        // Each byte its own index: a byte taken from the wrong place changes the value.
        byte[] ramp = Enumerable.Range(0, 12 * 38).Select(i => (byte)(i * 7 + 3)).ToArray();
        AssertReference(ramp[..(12 * 26)], false, Transpose(variant, ramp[..(12 * 26)], false), $"{variant}, ramp");
        AssertReference(ramp, true, Transpose(variant, ramp, true), $"{variant}, ramp v6");
    }

    [Fact]
    public void Nodes_CountBeyondTheList_Throws()
    {
        byte[] list = new byte[51];
        ulong[] x = new ulong[2];
        uint[] y = new uint[2];
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            fixed (ulong* px = x)
            fixed (uint* py = y)
                NodeColumns.Nodes(SimdVariant.Scalar, list, 2, px, px, px, py);
        });
    }

    [Fact]
    public void EveryVariant_EveryNodeListOfTheRealCaptures_EqualsScalar()
    {
        int lists = 0, lists6 = 0;
        long records = 0;
        foreach (string path in NetOutcomeTests.AllCapturePaths())
        {
            using var reader = CaptureReader.Open(path);
            var decoder = new PacketDecoder();
            while (reader.TryRead(out var frame))
            {
                if (!decoder.TryDecode(frame, out var d)) continue;
                if (KrpcDecoder.Decode(d.Payload, SimdVariant.Scalar, out var m, out _) != KrpcDecodeResult.Message) continue;
                foreach (var (list, v6) in new[] { (m.Nodes.ToArray(), false), (m.Nodes6.ToArray(), true) })
                {
                    if (list.Length == 0) continue;
                    if (v6) lists6++; else lists++;
                    records += list.Length / (v6 ? 38 : 26);
                    var scalar = Transpose(SimdVariant.Scalar, list, v6);
                    AssertReference(list, v6, scalar, $"{path} frame {d.FrameNumber} scalar");
                    foreach (var variant in SimdSelection.All)
                        AssertEqualColumns(scalar, Transpose(variant, list, v6), $"{path} frame {d.FrameNumber} {variant}");
                }
            }
        }
        // The samples alone hold thousands of `nodes` lists and some `nodes6` ones (libtorrent over IPv6 loopback).
        Assert.True(lists > 1000, $"{lists} nodes lists");
        Assert.True(lists6 > 0, $"{lists6} nodes6 lists");
        Assert.True(records > 8 * lists, $"{records} records in {lists + lists6} lists");
    }

    private static void AssertEqualColumns(Columns expected, Columns actual, string what)
    {
        Assert.True(expected.A.SequenceEqual(actual.A), $"{what}: id_a");
        Assert.True(expected.B.SequenceEqual(actual.B), $"{what}: id_b");
        Assert.True(expected.Lo.SequenceEqual(actual.Lo), $"{what}: id_lo");
        Assert.True(expected.Ep.SequenceEqual(actual.Ep), $"{what}: ep");
        Assert.True(expected.IpHi.SequenceEqual(actual.IpHi), $"{what}: ip_hi");
        Assert.True(expected.IpLo.SequenceEqual(actual.IpLo), $"{what}: ip_lo");
        Assert.True(expected.Port.SequenceEqual(actual.Port), $"{what}: port");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void RowEncoder_NodeListsAcrossChunkBoundaries_WriteEveryRowOnce_EachContactOnceInNodeDim(SimdVariant variant)
    {
        // 37 messages of 101 nodes and 23 nodes6 each: 3,737 node rows (two chunks of 2,048 rows, the boundary inside a
        // list) and 851 node6 rows; every row carries its message's frame and time. Each list repeats contacts of the
        // message before (the first 40 nodes, 9 nodes6) and of the same list (its last 3 records repeat its first 3), so
        // contacts are looked up both found and new, and their node_dim rows span two chunks too.
        var random = new Random(26);
        var sink = new CollectedChunks();
        using var encoder = new RowEncoder(sink, nodeVariant: variant);
        encoder.StartCapture(7, new CaptureStats());
        var expected = new List<(long Frame, byte[] Record)>();
        var expected6 = new List<(long Frame, byte[] Record)>();
        byte[] last = [], last6 = [];
        for (int i = 0; i < 37; i++)
        {
            byte[] nodes = new byte[101 * 26 + 5], nodes6 = new byte[23 * 38];
            random.NextBytes(nodes);
            random.NextBytes(nodes6);
            if (i > 0)
            {
                last.AsSpan(0, 40 * 26).CopyTo(nodes.AsSpan(30 * 26));
                last6.AsSpan(0, 9 * 38).CopyTo(nodes6.AsSpan(5 * 38));
            }
            nodes.AsSpan(0, 3 * 26).CopyTo(nodes.AsSpan(98 * 26));
            nodes6.AsSpan(0, 3 * 38).CopyTo(nodes6.AsSpan(20 * 38));
            (last, last6) = (nodes, nodes6);
            long frame = 1000 + i;
            var d = new UdpDatagram(frame, frame * 1_000_000_000L, IpAddr.Parse("10.0.0.1"), 1, IpAddr.Parse("10.0.0.2"), 2, new byte[10]);
            var m = new KrpcMessage { Kind = KrpcKind.Response, TransactionId = [1], Nodes = nodes, Nodes6 = nodes6, Port = -1, ImpliedPort = -1, ErrorCode = -1 };
            encoder.BeginMessage(d, m, 1);
            encoder.EndMessage(d, m, default);
            for (int r = 0; r < 101; r++) expected.Add((frame, nodes[(r * 26)..((r + 1) * 26)]));
            for (int r = 0; r < 23; r++) expected6.Add((frame, nodes6[(r * 38)..((r + 1) * 38)]));
        }
        encoder.SubmitAll();
        Assert.Equal(37 * 124, encoder.Stats.NodeSightings);

        // node_dim: key -> (ip_hi, ip_lo, port, id_a, id_b, id_lo) and the frame of its row; each key once.
        var contacts = new Dictionary<uint, (ulong, ulong, ushort, ulong, ulong, uint, long Frame)>();
        foreach (var c in sink.Chunks.Where(c => c.Layout == StoreColumns.NodeDim))
            for (int r = 0; r < c.Count; r++)
            {
                Assert.Equal(7, c.Get<int>(StoreColumns.CaptureId, r));
                Assert.True(contacts.TryAdd(c.Get<uint>(StoreColumns.ND.Key, r), (c.Get<ulong>(StoreColumns.ND.IpHi, r), c.Get<ulong>(StoreColumns.ND.IpHi + 1, r),
                    c.Get<ushort>(StoreColumns.ND.Port, r), c.Get<ulong>(StoreColumns.ND.IdA, r), c.Get<ulong>(StoreColumns.ND.IdA + 1, r),
                    c.Get<uint>(StoreColumns.ND.IdLo, r), c.Get<long>(StoreColumns.FrameNo, r))), "a key is written to node_dim once");
            }
        Assert.True(sink.Chunks.Count(c => c.Layout == StoreColumns.NodeDim) == 2, "the contacts span two chunks");
        static (ulong, ulong, ushort, ulong, ulong, uint) V4(byte[] rec) => (0, 0xFFFF_0000_0000UL | BinaryPrimitives.ReadUInt32BigEndian(rec.AsSpan(20)),
            BinaryPrimitives.ReadUInt16BigEndian(rec.AsSpan(24)), BinaryPrimitives.ReadUInt64BigEndian(rec), BinaryPrimitives.ReadUInt64BigEndian(rec.AsSpan(8)),
            BinaryPrimitives.ReadUInt32BigEndian(rec.AsSpan(16)));
        static (ulong, ulong, ushort, ulong, ulong, uint) V6(byte[] rec) => (BinaryPrimitives.ReadUInt64BigEndian(rec.AsSpan(20)),
            BinaryPrimitives.ReadUInt64BigEndian(rec.AsSpan(28)), BinaryPrimitives.ReadUInt16BigEndian(rec.AsSpan(36)), BinaryPrimitives.ReadUInt64BigEndian(rec),
            BinaryPrimitives.ReadUInt64BigEndian(rec.AsSpan(8)), BinaryPrimitives.ReadUInt32BigEndian(rec.AsSpan(16)));
        var firstFrame = new Dictionary<(ulong, ulong, ushort, ulong, ulong, uint), long>();
        foreach (var (frame, rec) in expected) firstFrame.TryAdd(V4(rec), frame);
        foreach (var (frame, rec) in expected6) firstFrame.TryAdd(V6(rec), frame);
        Assert.Equal(firstFrame.Count, contacts.Count);
        Assert.True(contacts.Count < expected.Count + expected6.Count - 1000, "contacts repeat");

        void AssertRows(TableLayout table, List<(long Frame, byte[] Record)> want, Func<byte[], (ulong, ulong, ushort, ulong, ulong, uint)> contact)
        {
            var rows = sink.Chunks.Where(c => c.Layout == table).SelectMany(c => Enumerable.Range(0, c.Count).Select(r => (c, r))).ToList();
            Assert.Equal(want.Count, rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var (c, r) = rows[i];
                Assert.Equal(7, c.Get<int>(StoreColumns.CaptureId, r));
                Assert.Equal(want[i].Frame, c.Get<long>(StoreColumns.FrameNo, r));
                Assert.Equal(want[i].Frame * 1_000_000, c.Get<long>(StoreColumns.Ts, r));
                var (ipHi, ipLo, port, idA, idB, idLo, first) = contacts[c.Get<uint>(StoreColumns.N.Key, r)];
                var wanted = contact(want[i].Record);
                Assert.Equal(wanted, (ipHi, ipLo, port, idA, idB, idLo));
                Assert.Equal(firstFrame[wanted], first);
            }
        }
        AssertRows(StoreColumns.Node, expected, V4);
        Assert.True(sink.Chunks.Count(c => c.Layout == StoreColumns.Node) == 2, "the node rows span two chunks");
        AssertRows(StoreColumns.Node6, expected6, V6);
        foreach (var c in sink.Chunks) c.Release();
    }

    [Fact]
    public void Choose_ForcedByTheEnvironmentVariable_ElseTheMeasuredDefault()
    {
        Assert.Equal(SimdVariant.Scalar, NodeColumns.Choose("scalar"));
        Assert.Equal(SimdVariant.Vector128, NodeColumns.Choose("v128"));
        Assert.Equal(SimdVariant.Vector256, NodeColumns.Choose("v256"));
        Assert.Equal(NodeColumns.Choose(null), NodeColumns.Choose("no-such-variant"));
    }
}
