using System.Globalization;
using System.IO.Compression;
using PcapDht.Capture;
using PcapDht.Net;

namespace PcapDht.Tests.Capture;

/// <summary>
/// The recorded samples (samples-pcap/, real libtorrent and webtorrent DHT traffic with IPv4 and IPv6
/// fragments and ICMP errors) in every container: the datagrams, frame numbers, timestamps, addresses
/// and lengths equal the expected files that tshark made (samples-pcap/README.md).
/// </summary>
public sealed class SampleCaptureTests
{
    private static string Samples => Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap");

    public static TheoryData<string, string> Files => new()
    {
        { "dht-loopback.pcap", "dht-loopback.pcap" },
        { "dht-loopback-ns.pcap", "dht-loopback-ns.pcap" },
        { "dht-loopback.pcapng", "dht-loopback.pcapng" },
        { "dht-any-sll2.pcap", "dht-any-sll2.pcap" },
        { "dht-loopback.pcap.gz", "dht-loopback.pcap" },
        { "dht-loopback.pcap.zst", "dht-loopback.pcap" },
        { "dht-loopback.pcapng.gz", "dht-loopback.pcapng" },
        { "dht-loopback.pcapng.zst", "dht-loopback.pcapng" },
    };

    [Theory]
    [MemberData(nameof(Files))]
    public void Sample_DatagramsEqualExpected(string file, string expectedName)
    {
        var expected = ReadExpected(expectedName);
        var summary = File.ReadLines(Path.Combine(Samples, "expected", expectedName + ".summary.tsv"))
            .Select(l => l.Split('\t')).Where(f => f.Length == 2).ToDictionary(f => f[0], f => f[1]);

        using var reader = CaptureReader.Open(Path.Combine(Samples, file));
        var decoder = new PacketDecoder();
        var actual = new List<string>();
        while (reader.TryRead(out var frame))
        {
            if (!decoder.TryDecode(frame, out var d)) continue;
            long s = Math.DivRem(d.TimestampNs, 1_000_000_000, out long ns);
            actual.Add(string.Join('\t', d.FrameNumber, $"{s}.{ns:D9}", d.Source, d.SourcePort, d.Destination, d.DestinationPort, d.Payload.Length));
        }
        decoder.Finish();

        Assert.Null(reader.Damage);
        var c = decoder.Counters;
        Assert.Equal(long.Parse(summary["frames"], CultureInfo.InvariantCulture), c.Frames);
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected, actual);
        Assert.Equal(long.Parse(summary["reassembled_datagrams_ipv4"]) + long.Parse(summary["reassembled_datagrams_ipv6"]), c.Reassembled);
        Assert.Equal(long.Parse(summary["fragment_frames_ipv4"]) + long.Parse(summary["fragment_frames_ipv6"]), c.Fragments);
        Assert.Equal(long.Parse(summary["icmp_frames"]), c.NonUdp);
        Assert.Equal(0, c.ReassemblyDropped + c.Truncated + c.MalformedIp + c.MalformedUdp + c.NonIp + c.UnknownLinkTypeFrames);
    }

    private static List<string> ReadExpected(string name)
    {
        var dir = Path.Combine(Samples, "expected");
        var plain = Path.Combine(dir, name + ".tsv");
        using var stream = File.Exists(plain) ? File.OpenRead(plain) : (Stream)new GZipStream(File.OpenRead(plain + ".gz"), CompressionMode.Decompress);
        using var text = new StreamReader(stream);
        var rows = new List<string>();
        text.ReadLine(); // header
        while (text.ReadLine() is { } line) rows.Add(string.Join('\t', line.Split('\t').Take(7)));
        return rows;
    }
}
