using PcapDht.Capture;
using PcapDht.Net;
using static PcapDht.Tests.Net.PacketBuilder;

namespace PcapDht.Tests.Net;

public sealed class ReassemblyTests
{
    private const long Second = 1_000_000_000;

    /// <summary>A DHT-sized response (3000 bytes of UDP payload) cut into 1480-byte (v4) or 1448-byte (v6) fragments.</summary>
    private static readonly byte[] Big = Payload(3000, 42);

    private static List<byte[]> V4(ushort id = 0x4242, byte[]? payload = null) => FragmentV4(Udp(6881, 1234, payload ?? Big), 1480, id);
    private static List<byte[]> V6(uint id = 0xABCDEF, byte[]? payload = null) => FragmentV6(Udp(6881, 1234, payload ?? Big), 1448, id);

    private sealed record Out(long Frame, long Ts, byte[] Payload);

    /// <summary>Feeds frames (link type raw) in order; returns the datagrams that came out.</summary>
    private static List<Out> Feed(PacketDecoder decoder, IEnumerable<byte[]> frames, long firstTs = 10 * Second, long step = 1000)
    {
        var outs = new List<Out>();
        long n = 0;
        foreach (var f in frames)
        {
            n++;
            var frame = new Frame(n, firstTs + n * step, 101, f.Length, f);
            if (decoder.TryDecode(frame, out var d)) outs.Add(new Out(d.FrameNumber, d.TimestampNs, d.Payload.ToArray()));
        }
        return outs;
    }

    public static TheoryData<string, int[]> Orders => new()
    {
        { "in order", [0, 1, 2] },
        { "reverse", [2, 1, 0] },
        { "last first", [2, 0, 1] },
        { "middle first", [1, 2, 0] },
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public void IPv4Fragments_AnyOrder_ReassembleOnTheCompletingFrame(string name, int[] order)
    {
        var frags = V4();
        Assert.Equal(3, frags.Count);
        var decoder = new PacketDecoder();
        var outs = Feed(decoder, order.Select(i => frags[i]));
        var d = Assert.Single(outs);
        Assert.Equal(Big, d.Payload);
        Assert.Equal(3, d.Frame); // the frame that completed it, as Wireshark shows it
        Assert.Equal(10 * Second + 3000, d.Ts);
        Assert.Equal((3L, 1L, 0L), (decoder.Counters.Fragments, decoder.Counters.Reassembled, decoder.Counters.ReassemblyDropped));
        Assert.Equal(0, decoder.PendingReassembly);
        Assert.True(name.Length > 0);
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void IPv6Fragments_AnyOrder_Reassemble(string name, int[] order)
    {
        var frags = V6();
        Assert.Equal(3, frags.Count);
        var decoder = new PacketDecoder();
        var d = Assert.Single(Feed(decoder, order.Select(i => frags[i])));
        Assert.Equal(Big, d.Payload);
        Assert.Equal(1, decoder.Counters.Reassembled);
        Assert.True(name.Length > 0);
    }

    [Fact]
    public void IPv6Fragments_WithDestinationOptionsInTheFragmentablePart_Reassemble()
    {
        // Destination options (60) after the fragment header belong to the reassembled payload (RFC 8200 §4.5).
        var frags = FragmentV6(Extension(17, Udp(6881, 1234, Big)), 1448, next: 60);
        var decoder = new PacketDecoder();
        var d = Assert.Single(Feed(decoder, frags.AsEnumerable().Reverse()));
        Assert.Equal(Big, d.Payload);
    }

    [Fact]
    public void InterleavedDatagrams_FromBothFamilies_AreKeptApart()
    {
        var a = V4(1, Payload(2000, 1));
        var b = V4(2, Payload(2500, 2));
        var c = V6(1, Payload(4000, 3));
        var decoder = new PacketDecoder();
        var outs = Feed(decoder, [a[0], b[0], c[0], c[1], a[1], c[2], b[1]]);
        Assert.Equal([Payload(2000, 1), Payload(4000, 3), Payload(2500, 2)], outs.Select(o => o.Payload));
        Assert.Equal([5L, 6, 7], outs.Select(o => o.Frame));
    }

    [Fact]
    public void ExactDuplicateFragment_IsIgnored()
    {
        var f = V4();
        var decoder = new PacketDecoder();
        var outs = Feed(decoder, [f[0], f[0], f[1], f[1], f[2], f[2]]);
        var d = Assert.Single(outs);
        Assert.Equal(Big, d.Payload);
        // The copy of the last fragment arrives after completion: it opens a new datagram that never completes.
        Assert.Equal(2, decoder.Counters.DuplicateFragments);
        decoder.Finish();
        Assert.Equal(1, decoder.Counters.ReassemblyIncompleteAtEnd);
    }

    [Fact]
    public void OverlappingFragment_DropsTheWholeDatagram()
    {
        var transport = Udp(6881, 1234, Big);
        var f = V4();
        // Same offset as fragment 1 but shorter: an overlap that is not an exact duplicate.
        var overlap = IPv4(17, transport.AsSpan(1480, 800), id: 0x4242, fragmentOffset: 1480, moreFragments: true);
        var decoder = new PacketDecoder();
        var outs = Feed(decoder, [f[0], overlap, f[1], f[2]]);
        Assert.Empty(outs);
        Assert.Equal(1, decoder.Counters.ReassemblyDroppedOverlap);
        decoder.Finish();
        Assert.Equal(0, decoder.Counters.ReassemblyIncompleteAtEnd); // dropped once, not twice
        Assert.Equal(1, decoder.Counters.ReassemblyDropped);
    }

    [Fact]
    public void SameRangeWithDifferentBytes_IsAnOverlapNotADuplicate()
    {
        var f = V6();
        var altered = (byte[])f[1].Clone();
        altered[^1] ^= 0xFF;
        var decoder = new PacketDecoder();
        Assert.Empty(Feed(decoder, [f[0], f[1], altered, f[2]]));
        Assert.Equal(1, decoder.Counters.ReassemblyDroppedOverlap);
        Assert.Equal(0, decoder.Counters.DuplicateFragments);
    }

    [Fact]
    public void MissingFragment_TimesOutByCaptureTime()
    {
        var f = V4(7);
        var g = V4(8);
        var decoder = new PacketDecoder(new ReassemblyLimits(100, 1 << 20, 30 * Second));
        var outs = new List<Out>();
        outs.AddRange(Feed(decoder, [f[0], f[1]], firstTs: 0));
        Assert.Equal(1, decoder.PendingReassembly);
        // 31 s later (capture time) the first datagram is given up; the second completes normally.
        outs.AddRange(Feed(decoder, g, firstTs: 31 * Second));
        Assert.Single(outs);
        Assert.Equal(1, decoder.Counters.ReassemblyDroppedTimeout);
        // A late fragment of the timed-out datagram starts over and never completes.
        Feed(decoder, [f[2]], firstTs: 32 * Second);
        decoder.Finish();
        Assert.Equal(1, decoder.Counters.ReassemblyIncompleteAtEnd);
    }

    [Fact]
    public void ConcurrentDatagramLimit_DropsTheOldest()
    {
        var decoder = new PacketDecoder(new ReassemblyLimits(2, 1 << 20, 60 * Second));
        var a = V4(1);
        var b = V4(2);
        var c = V4(3);
        var outs = Feed(decoder, [a[0], b[0], c[0], b[1], b[2], c[1], c[2]]);
        Assert.Equal(2, outs.Count); // b and c; a, the oldest, was evicted when c arrived
        Assert.Equal(1, decoder.Counters.ReassemblyDroppedLimit);
        Assert.Equal(0, decoder.PendingReassembly);
    }

    [Fact]
    public void ByteLimit_BoundsMemoryAndCountsDrops()
    {
        // Each first fragment takes a 2 KiB buffer; 10 KiB hold five.
        var decoder = new PacketDecoder(new ReassemblyLimits(100, 10 << 10, 60 * Second));
        var frags = Enumerable.Range(1, 50).Select(i => V4((ushort)i)[0]).ToList();
        Assert.Empty(Feed(decoder, frags));
        Assert.InRange(decoder.PendingReassembly, 1, 5);
        Assert.Equal(50 - decoder.PendingReassembly, decoder.Counters.ReassemblyDroppedLimit);
    }

    /// <summary>
    /// Fuzz finding (net target): a datagram that starts on a recycled buffer took it without checking the byte limit,
    /// so a 16 KiB buffer left by an earlier datagram pushed the held bytes past the limit.
    /// </summary>
    [Fact]
    public void RecycledBuffer_StaysWithinTheByteLimit()
    {
        var limits = new ReassemblyLimits(100, 20_000, 60 * Second);
        var decoder = new PacketDecoder(limits);
        // X grows its buffer to 16 KiB; Y's growth to 4 KiB evicts X, whose buffer is recycled; Z starts on it.
        var x = FragmentV4(Udp(6881, 1234, Payload(12_000, 1)), 1480, id: 1)[..^1];
        var y = V4(2);
        var z = V4(3);
        long n = 0;
        foreach (var f in x.Concat([y[0], y[1], z[0]]))
        {
            Assert.False(decoder.TryDecode(new Frame(++n, n * 1000, 101, f.Length, f), out _));
            Assert.InRange(decoder.PendingReassemblyBytes, 0, limits.MaxBytes);
        }
        Assert.Equal(1, decoder.Counters.ReassemblyDroppedLimit);
        Assert.Equal(2, decoder.PendingReassembly);
        Assert.Equal(decoder.Counters.Frames, decoder.Counters.OutcomeTotal);
    }

    [Theory]
    [InlineData(100, true)] // more-fragments with a length not a multiple of 8
    [InlineData(65528, false)] // ends beyond 65535
    public void ImpossibleFragment_IsCountedMalformed(int offsetOrLength, bool oddLength)
    {
        var decoder = new PacketDecoder();
        var frag = oddLength
            ? IPv4(17, new byte[offsetOrLength + 3], moreFragments: true)
            : IPv4(17, new byte[100], fragmentOffset: offsetOrLength, moreFragments: false);
        Assert.Empty(Feed(decoder, [frag]));
        Assert.Equal(1, decoder.Counters.MalformedFragments);
        Assert.Equal(0, decoder.PendingReassembly);
    }

    [Fact]
    public void TruncatedFragment_IsNotReassembled()
    {
        var f = V4();
        var decoder = new PacketDecoder();
        var cut = f[1][..600];
        Assert.False(decoder.TryDecode(new Frame(1, 0, 101, f[1].Length, cut), out _));
        Assert.Equal(1, decoder.Counters.Truncated);
        Assert.Equal(0, decoder.Counters.Fragments);
        Assert.Empty(Feed(decoder, [f[0], f[2]]));
    }
}
