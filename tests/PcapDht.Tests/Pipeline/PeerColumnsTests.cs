using System.Buffers.Binary;
using System.Text;
using PcapDht.Bencode.Simd;
using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Pipeline;
using PcapDht.Tests.Net;

namespace PcapDht.Tests.Pipeline;

/// <summary>
/// Every variant of the <c>values</c> transpose yields exactly the peers <see cref="CompactLists.Values"/> yields (the
/// enumerator the row encoder used before), in order, for lists of mixed, odd and broken entries read in pieces of any
/// size, and for every values list of the real captures; it writes no row past the room it was given, and the row
/// encoder's peer rows across chunk boundaries carry their message's frame, info-hash and source.
/// </summary>
public sealed unsafe class PeerColumnsTests
{
    public static TheoryData<SimdVariant> Variants() => new(SimdSelection.All.ToArray());

    private const ulong Guard = 0xDEAD_BEEF_DEAD_BEEFUL;
    private const ushort Guard16 = 0xBEEF;

    private static List<(UInt128 Ip, ushort Port)> Reference(byte[] list)
    {
        var peers = new List<(UInt128, ushort)>();
        foreach (var p in CompactLists.Values(list)) peers.Add((p.Address.Value, p.Port));
        return peers;
    }

    /// <summary>Reads the whole list <paramref name="room"/> rows per call, checking that no call writes past its room.</summary>
    private static List<(UInt128 Ip, ushort Port)> Transpose(SimdVariant variant, byte[] list, int room)
    {
        var peers = new List<(UInt128, ushort)>();
        var hi = new ulong[room + 1];
        var lo = new ulong[room + 1];
        var port = new ushort[room + 1];
        int offset = PeerColumns.Start(list);
        for (int calls = 0; ; calls++)
        {
            Assert.True(calls <= list.Length + 1, $"{variant}: no progress at offset {offset}");
            Array.Fill(hi, Guard);
            Array.Fill(lo, Guard);
            Array.Fill(port, Guard16);
            int n;
            bool done;
            fixed (ulong* h = hi, l = lo)
            fixed (ushort* p = port)
                n = PeerColumns.Values(variant, list, ref offset, room, h, l, p, out done);
            Assert.InRange(n, 0, room);
            Assert.True(done || n == room, $"{variant}: {n} of {room} rows written but the list is not done");
            Assert.True(hi[room] == Guard && lo[room] == Guard && port[room] == Guard16, $"{variant}: wrote past its room of {room}");
            for (int i = 0; i < n; i++) peers.Add(((UInt128)hi[i] << 64 | lo[i], port[i]));
            if (done) return peers;
        }
    }

    private static void AssertSame(byte[] list, string what)
    {
        var expected = Reference(list);
        foreach (var variant in SimdSelection.All)
            foreach (int room in new[] { 1, 2, 3, 4, 5, 7, 8, 9, 2048 })
            {
                var actual = Transpose(variant, list, room);
                Assert.True(expected.SequenceEqual(actual),
                    $"{what}, {variant}, room {room}: {actual.Count} peers, the enumerator {expected.Count}");
            }
    }

    /// <summary>A values list of <paramref name="entries"/> random entries of the kinds below, ended or not.</summary>
    private static byte[] RandomList(Random random, int entries, bool odd)
    {
        var s = new MemoryStream();
        s.WriteByte((byte)'l');
        for (int i = 0; i < entries; i++)
        {
            int kind = random.Next(odd ? 10 : 6);
            int length = kind switch { < 5 => 6, 5 => 18, 6 => random.Next(0, 30), 7 => 6, 8 => 18, _ => 7 };
            // kind 7: "06:" (a leading zero, still 6 bytes); kind 8: "018:".
            string header = (kind is 7 or 8 ? "0" : "") + length.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":";
            s.Write(Encoding.ASCII.GetBytes(header));
            var bytes = new byte[length];
            random.NextBytes(bytes);
            // Bytes that look like a prefix inside an entry must not be taken for one.
            if (length > 1 && random.Next(4) == 0) { bytes[0] = (byte)'6'; bytes[1] = (byte)':'; }
            s.Write(bytes);
        }
        s.WriteByte((byte)'e');
        return s.ToArray();
    }

    [Fact]
    public void Values_MixedOddAndTruncatedLists_EqualTheEnumerator()
    {
        var random = new Random(6);
        int peers = 0;
        foreach (int entries in new[] { 0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 150 })
            foreach (bool odd in new[] { false, true })
            {
                byte[] list = RandomList(random, entries, odd);
                peers += Reference(list).Count;
                AssertSame(list, $"{entries} entries, odd {odd}");
                // Cut anywhere: an entry running past the end, a length without its colon, no 'e'.
                for (int cut = 0; cut < Math.Min(list.Length, 140); cut++)
                    AssertSame(list[..cut], $"{entries} entries, odd {odd}, cut at {cut}");
            }
        // Not a list, an integer among the entries, a 7-digit length, an empty entry.
        foreach (string text in new[] { "", "e", "le", "6:abcdef", "l6:abcdefi5e6:ghijkle", "l1234567:xe", "l0:6:abcdefe", "l6:abcdef6:ghijk" })
            AssertSame(Encoding.ASCII.GetBytes(text), $"'{text}'");
        Assert.True(peers > 300, $"{peers} peers in the random lists");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Values_AllOnesZerosAndARamp_KeepEveryBit(SimdVariant variant)
    {
        foreach (byte fill in new byte[] { 0x00, 0xFF, 0x80, 0x01 })
        {
            var list = new List<byte> { (byte)'l' };
            for (int i = 0; i < 13; i++) { list.AddRange("6:"u8.ToArray()); list.AddRange(Enumerable.Repeat(fill, 6)); }
            list.Add((byte)'e');
            Assert.Equal(Reference([.. list]), Transpose(variant, [.. list], 2048));
        }
        var ramp = new List<byte> { (byte)'l' };
        for (int i = 0; i < 13; i++) { ramp.AddRange("6:"u8.ToArray()); ramp.AddRange(Enumerable.Range(0, 6).Select(k => (byte)(i * 6 + k + 1))); }
        ramp.Add((byte)'e');
        var peers = Transpose(variant, [.. ramp], 2048);
        Assert.Equal(Reference([.. ramp]), peers);
        // The first peer is 1.2.3.4:0x0506, stored as ::ffff:1.2.3.4.
        Assert.Equal(((UInt128)0xFFFF_0102_0304UL, (ushort)0x0506), peers[0]);
    }

    [Fact]
    public void EveryVariant_EveryValuesListOfTheRealCaptures_EqualsTheEnumerator()
    {
        int lists = 0;
        long peers = 0;
        foreach (string path in NetOutcomeTests.AllCapturePaths())
        {
            using var reader = CaptureReader.Open(path);
            var decoder = new PacketDecoder();
            while (reader.TryRead(out var frame))
            {
                if (!decoder.TryDecode(frame, out var d)) continue;
                if (KrpcDecoder.Decode(d.Payload, SimdVariant.Scalar, out var m, out _) != KrpcDecodeResult.Message || m.Values.IsEmpty) continue;
                byte[] list = m.Values.ToArray();
                var expected = Reference(list);
                lists++;
                peers += expected.Count;
                foreach (var variant in SimdSelection.All)
                    Assert.True(expected.SequenceEqual(Transpose(variant, list, 2048)), $"{path} frame {d.FrameNumber} {variant}");
            }
        }
        Assert.True(lists > 10, $"{lists} values lists");
        Assert.True(peers > 2 * lists, $"{peers} peers in {lists} lists");
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void RowEncoder_ValuesAcrossChunkBoundaries_WriteEveryPeerOnce(SimdVariant variant)
    {
        // 31 replies of 150 entries (some not peers): ~4,400 peer rows, so chunk boundaries fall inside lists; every
        // other reply answers a get_peers with an info-hash, the others have none (NULL).
        var random = new Random(150);
        var sink = new CollectedChunks();
        using var encoder = new RowEncoder(sink, nodeVariant: variant);
        encoder.StartCapture(9, new CaptureStats());
        var expected = new List<(long Frame, bool Hash, UInt128 Ip, ushort Port)>();
        UInt128 hashHi = ((UInt128)0x0102_0304_0506_0708UL << 64) | 0x090A_0B0C_0D0E_0F10UL;
        for (int i = 0; i < 31; i++)
        {
            byte[] list = RandomList(random, 150, odd: true);
            long frame = 500 + i;
            bool hash = i % 2 == 0;
            var d = new UdpDatagram(frame, frame * 1_000_000_000L, IpAddr.Parse("10.0.0.1"), 1, IpAddr.Parse("10.0.0.2"), 2, new byte[10]);
            var m = new KrpcMessage { Kind = KrpcKind.Response, TransactionId = [1], Values = list, ValuesCount = 150, Port = -1, ImpliedPort = -1, ErrorCode = -1 };
            encoder.BeginMessage(d, m, 1);
            encoder.EndMessage(d, m, new MatchResult(KrpcMethod.GetPeers, null, -1, hash, hashHi, 0x1112_1314));
            foreach (var (ip, port) in Reference(list)) expected.Add((frame, hash, ip, port));
        }
        encoder.SubmitAll();
        Assert.Equal(expected.Count, encoder.Stats.PeerSightings);

        var rows = sink.Chunks.Where(c => c.Layout == StoreColumns.Peer).SelectMany(c => Enumerable.Range(0, c.Count).Select(r => (c, r))).ToList();
        Assert.Equal(expected.Count, rows.Count);
        Assert.True(sink.Chunks.Count(c => c.Layout == StoreColumns.Peer) >= 2, "the peer rows span several chunks");
        for (int i = 0; i < rows.Count; i++)
        {
            var (c, r) = rows[i];
            var e = expected[i];
            Assert.Equal(9, c.Get<int>(StoreColumns.CaptureId, r));
            Assert.Equal(e.Frame, c.Get<long>(StoreColumns.FrameNo, r));
            Assert.Equal(e.Frame * 1_000_000, c.Get<long>(StoreColumns.Ts, r));
            Assert.Equal((ulong)(e.Ip >> 64), c.Get<ulong>(StoreColumns.P.IpHi, r));
            Assert.Equal((ulong)e.Ip, c.Get<ulong>(StoreColumns.P.IpHi + 1, r));
            Assert.Equal(e.Port, c.Get<ushort>(StoreColumns.P.Port, r));
            Assert.Equal(RowEncoder.FromValues, c.Get<byte>(StoreColumns.P.Source, r));
            Assert.Equal(!e.Hash, c.IsNull(StoreColumns.P.IhA, r));
            Assert.Equal(!e.Hash, c.IsNull(StoreColumns.P.IhA + 1, r));
            Assert.Equal(!e.Hash, c.IsNull(StoreColumns.P.IhLo, r));
            if (e.Hash)
            {
                Assert.Equal(0x0102_0304_0506_0708UL, c.Get<ulong>(StoreColumns.P.IhA, r));
                Assert.Equal(0x090A_0B0C_0D0E_0F10UL, c.Get<ulong>(StoreColumns.P.IhA + 1, r));
                Assert.Equal(0x1112_1314u, c.Get<uint>(StoreColumns.P.IhLo, r));
            }
        }
        foreach (var c in sink.Chunks) c.Release();
    }
}
