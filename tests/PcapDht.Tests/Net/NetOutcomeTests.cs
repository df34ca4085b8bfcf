using PcapDht.Capture;
using PcapDht.Net;
using PcapDht.Tests.Capture;
using static PcapDht.Tests.Net.PacketBuilder;

namespace PcapDht.Tests.Net;

/// <summary>
/// Issue 19 #5: every frame ends in exactly one outcome counter of <see cref="NetCounters"/>, so frames equal the
/// sum of the outcomes. Before, a fragment that did not complete a datagram — held, overlapping (identical bytes
/// too), of a datagram already abandoned, or refused by the byte limit — ended in none.
/// </summary>
public sealed class NetOutcomeTests
{
    private const long Second = 1_000_000_000;

    /// <summary>Every capture the project has: the samples in every container, the fixtures and the third-party captures.</summary>
    public static TheoryData<string> AllCaptures() => new(AllCapturePaths());

    internal static IEnumerable<string> AllCapturePaths()
    {
        foreach (var f in Directory.EnumerateFiles(Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap")).Order())
            if (f.Contains(".pcap")) yield return f;
        foreach (var f in Directory.EnumerateFiles(Path.GetDirectoryName(CaptureTestFiles.Fixture("x"))!).Order())
            yield return f;
        if (CaptureTestFiles.SharedCaptures is { } shared)
            foreach (var f in Directory.EnumerateFiles(shared).Order())
                if (f.Contains(".pcap")) yield return f;
    }

    [Theory]
    [MemberData(nameof(AllCaptures))]
    public void EveryCapture_FramesEqualTheSumOfOutcomes(string path)
    {
        using var reader = CaptureReader.Open(path);
        var decoder = new PacketDecoder();
        while (reader.TryRead(out var frame))
        {
            decoder.TryDecode(frame, out _);
            Assert.Equal(decoder.Counters.Frames, decoder.Counters.OutcomeTotal);
        }
        decoder.Finish();
        var c = decoder.Counters;
        Assert.True(c.Frames > 0, path);
        Assert.Equal(reader.FramesRead, c.Frames);
        Assert.Equal(c.Frames, c.Outcomes().Sum(o => o.Value));
    }

    /// <summary>
    /// A pcapng capture with every way a frame can end, and each frame's expected outcome (with
    /// <see cref="CraftedLimits"/>; with the default limits the last fragment is held instead of refused).
    /// </summary>
    internal static (byte[] Capture, List<(int Link, byte[] Data, int? Original, string Outcome)> Frames) CraftedCapture()
    {
        var big = Udp(6881, 1234, Payload(3000, 5));
        var v4 = FragmentV4(big, 1480, id: 1);
        var v6 = FragmentV6(big, 1448, id: 2);
        var overlapSame = FragmentV4(big, 1480, id: 3);
        var limited = FragmentV4(Udp(6881, 1234, Payload(60_000, 6)), 1480, id: 4);
        var frames = new List<(int Link, byte[] Data, int? Original, string Outcome)>
        {
            (101, IPv4(17, Udp(6881, 6882, KrpcPing)), null, "udp_datagrams"),
            (1, Ethernet(0x0806, new byte[28]), null, "non_ip"),
            (101, IPv4(6, new byte[20]), null, "non_udp"),
            (1, Ethernet(0x0800, IPv4(17, Udp(1, 2, KrpcPing)))[..40], 100, "truncated"),
            (101, IPv4(17, Udp(1, 2, KrpcPing), totalLengthField: 500), null, "malformed_ip"), // IP length beyond the packet
            (101, IPv4(17, Udp(1, 2, KrpcPing, lengthField: 1000)), null, "malformed_udp"), // UDP length beyond the packet
            (147, IPv4(17, Udp(1, 2, KrpcPing)), null, "unknown_link_type"),
            (101, v4[0], null, "fragments_held"),
            (101, v4[0], null, "duplicate_fragments"),
            (101, v4[1], null, "fragments_held"),
            (101, v4[2], null, "udp_datagrams"),
            (229, v6[1], null, "fragments_held"),
            (229, v6[0], null, "fragments_held"),
            (229, v6[2], null, "udp_datagrams"),
            (101, IPv4(17, new byte[13], id: 9, moreFragments: true), null, "malformed_fragments"),
            // An overlap whose bytes agree with what is held (offset 8 inside the first fragment), then the rest of that datagram.
            (101, overlapSame[0], null, "fragments_held"),
            (101, IPv4(17, big.AsSpan(8, 1480), id: 3, fragmentOffset: 8, moreFragments: true), null, "overlapping_fragments"),
            (101, overlapSame[1], null, "overlapping_fragments"),
            (101, overlapSame[2], null, "overlapping_fragments"),
            // 60 KB in 1480-byte fragments: the buffer doubles from 2 KiB; the third fragment needs 8 KiB, beyond the 6 KiB limit.
            (101, limited[0], null, "fragments_held"),
            (101, limited[1], null, "fragments_held"),
            (101, limited[2], null, "fragments_over_limit"),
        };
        var b = CaptureBuilder.PcapNg().Section(false).Interface(101).Interface(1).Interface(229).Interface(147);
        int Iface(int link) => link switch { 101 => 0, 1 => 1, 229 => 2, _ => 3 };
        ulong t = 1_700_000_000_000_000;
        foreach (var (link, data, original, _) in frames) b.Enhanced(Iface(link), t++, data, original);
        return (b.ToArray(), frames);
    }

    internal static readonly ReassemblyLimits CraftedLimits = new(16, 6 << 10, 60 * Second);

    /// <summary>A crafted capture with every way a frame can end, through the real reader.</summary>
    [Fact]
    public void CraftedCaptureWithEveryOutcome_EachFrameCountedOnce()
    {
        var (capture, frames) = CraftedCapture();
        using var reader = CaptureReader.Open(new MemoryStream(capture), "crafted");
        var decoder = new PacketDecoder(CraftedLimits);
        var expected = new Dictionary<string, long>();
        int i = 0;
        while (reader.TryRead(out var frame))
        {
            var before = decoder.Counters.Outcomes().ToDictionary(o => o.Key, o => o.Value);
            decoder.TryDecode(frame, out _);
            var changed = decoder.Counters.Outcomes().Where(o => o.Value != before[o.Key]).Select(o => o.Key).ToList();
            Assert.Equal([frames[i].Outcome], changed);
            expected[frames[i].Outcome] = expected.GetValueOrDefault(frames[i].Outcome) + 1;
            i++;
        }
        Assert.Null(reader.Damage);
        Assert.Equal(frames.Count, i);
        var c = decoder.Counters;
        Assert.Equal(frames.Count, c.Frames);
        Assert.Equal(c.Frames, c.OutcomeTotal);
        Assert.Equal(expected, c.Outcomes().Where(o => o.Value != 0).ToDictionary(o => o.Key, o => o.Value));
        Assert.Equal((2L, 1L, 1L), (c.Reassembled, c.ReassemblyDroppedOverlap, c.ReassemblyDroppedLimit));
    }

    /// <summary>Identical bytes at another offset are still an overlap (RFC 5722; only exact duplicates are ignored).</summary>
    [Fact]
    public void IdenticalOverlap_IsCountedAndDropsTheDatagram()
    {
        var transport = Udp(6881, 1234, Payload(3000, 42));
        var f = FragmentV6(transport, 1448, id: 77);
        var decoder = new PacketDecoder();
        var shifted = IPv6(44, FragmentHeader(17, 16, true, 77, transport.AsSpan(16, 1448)));
        long n = 0;
        foreach (var data in new[] { f[0], shifted, f[1], f[2] })
            Assert.False(decoder.TryDecode(new Frame(++n, n * 1000, 229, data.Length, data), out _));
        var c = decoder.Counters;
        Assert.Equal((1L, 3L, 1L), (c.FragmentsHeld, c.OverlappingFragments, c.ReassemblyDroppedOverlap));
        Assert.Equal(c.Frames, c.OutcomeTotal);
    }

    [Fact]
    public void OutcomeNames_AreStableAndUnique()
    {
        var names = new NetCounters().Outcomes().Select(o => o.Key).ToList();
        Assert.Equal(
            ["udp_datagrams", "non_ip", "non_udp", "truncated", "malformed_ip", "malformed_udp", "unknown_link_type",
             "fragments_held", "duplicate_fragments", "malformed_fragments", "overlapping_fragments", "fragments_over_limit"],
            names);
    }
}
