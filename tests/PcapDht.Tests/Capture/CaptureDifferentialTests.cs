using System.IO.Compression;
using PcapDht.Capture;
using PcapDht.Net;

namespace PcapDht.Tests.Capture;

/// <summary>Skips with a message when ../shared/captures/ (third-party captures, never in the repo) is absent.</summary>
public sealed class SharedCapturesTheoryAttribute : TheoryAttribute
{
    public SharedCapturesTheoryAttribute()
    {
        if (CaptureTestFiles.SharedCaptures == null) Skip = "../shared/captures/ not found next to the repository: third-party capture checks skipped";
    }
}

public sealed class SharedCapturesFactAttribute : FactAttribute
{
    public SharedCapturesFactAttribute()
    {
        if (CaptureTestFiles.SharedCaptures == null) Skip = "../shared/captures/ not found next to the repository: third-party capture checks skipped";
    }
}

/// <summary>The reader + decoder against tshark on real captures, and every container flavour against each other.</summary>
public sealed class CaptureDifferentialTests
{
    public sealed record Datagram(long Frame, long TimestampUs, string Source, int SourcePort, string Destination, int DestinationPort, string PayloadHex);

    public static (List<Datagram> Datagrams, long Frames, NetCounters Counters, CaptureDamage? Damage) Decode(string path)
    {
        using var reader = CaptureReader.Open(path);
        var decoder = new PacketDecoder();
        var list = new List<Datagram>();
        while (reader.TryRead(out var frame))
        {
            if (decoder.TryDecode(frame, out var d))
            {
                list.Add(new Datagram(d.FrameNumber, d.TimestampNs / 1000, d.Source.ToString(), d.SourcePort,
                    d.Destination.ToString(), d.DestinationPort, Convert.ToHexString(d.Payload).ToLowerInvariant()));
            }
        }
        decoder.Finish();
        return (list, reader.FramesRead, decoder.Counters, reader.Damage);
    }

    /// <summary>
    /// What tshark (reassembly on) shows as UDP: frame, ports, payload. In a capture of UDP tunnels (VXLAN,
    /// GENEVE) every frame has the outer UDP: only frames with an inner one count, and its fields are taken.
    /// </summary>
    private static List<(long Frame, int SourcePort, int DestinationPort, string PayloadHex)> Tshark(string path, bool udpTunnel = false)
    {
        var text = CaptureTestFiles.Run("tshark", "-r", path, "-o", "ip.defragment:TRUE", "-o", "ipv6.defragment:TRUE",
            "-Y", udpTunnel ? "udp && !icmp && !icmpv6 && count(udp.srcport) == 2" : "udp && !icmp && !icmpv6",
            "-T", "fields", "-E", "separator=,", "-E", "occurrence=l", "-e", "frame.number", "-e", "udp.srcport",
            "-e", "udp.dstport", "-e", "udp.payload");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(','))
            .Select(f => (long.Parse(f[0]), int.Parse(f[1]), int.Parse(f[2]), f[3].Replace(":", "").ToLowerInvariant())).ToList();
    }

    private static void AssertSameAsTshark(string path, bool udpTunnel = false)
    {
        var (ours, frames, counters, damage) = Decode(path);
        var theirs = Tshark(path, udpTunnel);
        Assert.Null(damage);
        Assert.Equal(CaptureTestFiles.TsharkFrameCount(path), frames);
        Assert.Equal(frames, counters.Frames);
        Assert.Equal(theirs.Select(t => t.Frame), ours.Select(o => o.Frame));
        Assert.Equal(theirs, ours.Select(o => (o.Frame, o.SourcePort, o.DestinationPort, o.PayloadHex)));
    }

    public static TheoryData<string> Fixtures => new() { "fx-lo.pcap", "fx-sll2.pcap" };

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void RecordedFixture_DatagramsEqualTsharks(string name) => AssertSameAsTshark(CaptureTestFiles.Fixture(name));

    [Fact]
    public void RecordedFixture_HasFragmentedDatagramsOfBothFamilies()
    {
        var (ours, _, counters, _) = Decode(CaptureTestFiles.Fixture("fx-lo.pcap"));
        // 7 IPv4 + 6 IPv6 requests and as many ICMP-free sends; sizes above 1472/1452 bytes fragment on a 1500-byte MTU.
        Assert.Equal(13, ours.Count);
        Assert.Equal(6, counters.Reassembled);
        Assert.Equal(0, counters.ReassemblyDropped);
        Assert.Contains(ours, d => d.Source == "::1" && d.PayloadHex.Length == 2 * 9000);
        Assert.Contains(ours, d => d.Source == "127.0.0.1" && d.PayloadHex.Length == 2 * 9000);
        Assert.All(ours, d => Assert.Equal(6881, d.DestinationPort));
    }

    /// <summary>pcap, nanosecond pcap, pcapng (editcap), gzip and zstd of each: the same datagrams come out.</summary>
    [Fact]
    public void EveryContainerFlavour_GivesTheSameDatagrams()
    {
        using var dir = new TempDir();
        var source = CaptureTestFiles.Fixture("fx-lo.pcap");
        var plain = dir.File("fx.pcap");
        File.Copy(source, plain);
        var flavours = new List<string> { plain, dir.File("fx.nsec.pcap"), dir.File("fx.pcapng") };
        CaptureTestFiles.Run("editcap", "-F", "nsecpcap", plain, flavours[1]);
        CaptureTestFiles.Run("editcap", "-F", "pcapng", plain, flavours[2]);
        foreach (var f in flavours.ToList())
        {
            var bytes = File.ReadAllBytes(f);
            var gz = f + ".gz";
            using (var o = File.Create(gz))
            using (var z = new GZipStream(o, CompressionLevel.Optimal)) z.Write(bytes);
            var zst = f + ".zst";
            File.WriteAllBytes(zst, new ZstdSharp.Compressor(3).Wrap(bytes).ToArray());
            flavours.Add(gz);
            flavours.Add(zst);
        }

        var reference = Decode(plain).Datagrams;
        Assert.Equal(13, reference.Count);
        foreach (var f in flavours)
        {
            var (datagrams, frames, _, damage) = Decode(f);
            Assert.Null(damage);
            Assert.Equal(31, frames);
            Assert.Equal(reference, datagrams);
        }
    }

    [Fact]
    public void Sll2Fixture_CarriesTheSamePayloadsAsEthernetFixture()
    {
        var lo = Decode(CaptureTestFiles.Fixture("fx-lo.pcap")).Datagrams;
        var any = Decode(CaptureTestFiles.Fixture("fx-sll2.pcap"));
        using var reader = CaptureReader.Open(CaptureTestFiles.Fixture("fx-sll2.pcap"));
        Assert.True(reader.TryRead(out var first));
        Assert.Equal(PacketDecoder.LinkLinuxSll2, first.LinkType);
        Assert.Equal(lo.Select(d => (d.Source, d.SourcePort, d.PayloadHex)), any.Datagrams.Select(d => (d.Source, d.SourcePort, d.PayloadHex)));
    }

    /// <summary>
    /// The recorded fixture's frames re-framed for the point-to-point link layers ISPs capture on: PPPoE in an
    /// 802.1Q VLAN (DSL/fibre access), PPPoE without Ethernet (LINKTYPE 51), PPP in HDLC-like framing (9), Cisco
    /// HDLC (104); in the UDP tunnels of cloud traffic mirroring (VXLAN, GENEVE) and in ERSPAN. tshark must see the same
    /// UDP datagrams in each, fragments reassembled, and so must we.
    /// </summary>
    [Theory]
    [InlineData("pppoe-vlan")]
    [InlineData("ppp-ether-51")]
    [InlineData("ppp-9")]
    [InlineData("cisco-hdlc-104")]
    [InlineData("vxlan")]
    [InlineData("geneve")]
    [InlineData("erspan-ii")]
    public void RecordedFixture_Reframed_DatagramsEqualTsharksAndTheOriginal(string framing)
    {
        using var dir = new TempDir();
        var source = CaptureTestFiles.Fixture("fx-lo.pcap");
        int linkType = framing switch { "ppp-ether-51" => 51, "ppp-9" => 9, "cisco-hdlc-104" => 104, _ => 1 };
        var pcap = CaptureBuilder.Pcap(linkType);
        using (var reader = CaptureReader.Open(source))
        {
            while (reader.TryRead(out var frame))
            {
                var ethernet = frame.Data;
                ushort etherType = System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(ethernet[12..]);
                var ip = ethernet[14..].ToArray();
                ushort pppProtocol = etherType == 0x86DD ? (ushort)0x0057 : (ushort)0x0021;
                byte[] data = framing switch
                {
                    "pppoe-vlan" => Net.PacketBuilder.Ethernet(0x8864, Net.PacketBuilder.Pppoe(pppProtocol, ip), (0x8100, 35)),
                    "ppp-ether-51" => Net.PacketBuilder.Pppoe(pppProtocol, ip),
                    "ppp-9" => [0xFF, 0x03, .. Net.PacketBuilder.Ppp(pppProtocol), .. ip],
                    "cisco-hdlc-104" => [0x0F, 0x00, ethernet[12], ethernet[13], .. ip],
                    // Cloud traffic mirroring: the whole frame in VXLAN over IPv4, or in GENEVE (with an option) over IPv6.
                    "vxlan" => Net.PacketBuilder.Ethernet(0x0800, Net.PacketBuilder.IPv4(17,
                        Net.PacketBuilder.Udp(55555, 4789, Net.PacketBuilder.Vxlan(ethernet, 42)), [192, 0, 2, 1], [192, 0, 2, 2])),
                    "geneve" => Net.PacketBuilder.Ethernet(0x86DD, Net.PacketBuilder.IPv6(17,
                        Net.PacketBuilder.Udp(55555, 6081, Net.PacketBuilder.Geneve(0x6558, ethernet, optionWords: 2)))),
                    // A switch mirroring the port to a remote collector.
                    _ => Net.PacketBuilder.Ethernet(0x0800, Net.PacketBuilder.IPv4(47,
                        Net.PacketBuilder.Gre(0x88BE, Net.PacketBuilder.ErspanII(ethernet), sequence: true), [192, 0, 2, 1], [192, 0, 2, 2])),
                };
                pcap.PcapRecord((uint)(frame.TimestampNs / 1_000_000_000), (uint)(frame.TimestampNs % 1_000_000_000 / 1000), data);
            }
        }
        var path = dir.File(framing + ".pcap");
        File.WriteAllBytes(path, pcap.ToArray());

        AssertSameAsTshark(path, udpTunnel: framing is "vxlan" or "geneve");
        var original = Decode(source).Datagrams;
        var reframed = Decode(path);
        Assert.Equal(13, reframed.Datagrams.Count);
        Assert.Equal(6, reframed.Counters.Reassembled);
        Assert.Equal(original, reframed.Datagrams);
    }

    public static TheoryData<string> SharedFiles => new()
    {
        "suricata-verify_bittorrent-dht_input.pcap",
        "happy-shark_bt-dht_get_peers_reply_with_strange_value_length.pcapng",
        "happy-shark_bt-dht_get_peers_response_with_ipv6_peer.pcapng",
        "arkime_bt-udp.pcap",
        "nDPI_targusdataspeed_false_positives.pcap",
    };

    [SharedCapturesTheory]
    [MemberData(nameof(SharedFiles))]
    public void ThirdPartyCapture_DatagramsEqualTsharks(string name) => AssertSameAsTshark(Path.Combine(CaptureTestFiles.SharedCaptures!, name));

    [SharedCapturesTheory]
    [InlineData("suricata-verify_bittorrent-dht_input.pcap", 16, 1, "axje.u")] // packet 8: values 97.120.106.101:11893
    [InlineData("happy-shark_bt-dht_get_peers_reply_with_strange_value_length.pcapng", 1, 228, "6:valuesl12:")]
    [InlineData("happy-shark_bt-dht_get_peers_response_with_ipv6_peer.pcapng", 1, 229, "18:\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\u0001\u001e\u00c9")]
    [InlineData("arkime_bt-udp.pcap", 3, 1, "d1:q9:find_node")]
    [InlineData("nDPI_targusdataspeed_false_positives.pcap", 4, 1, "2:ip6:")]
    public void ThirdPartyCapture_KnownCountsLinkTypesAndPayloads(string name, int datagrams, int linkType, string contains)
    {
        var path = Path.Combine(CaptureTestFiles.SharedCaptures!, name);
        var (ours, frames, counters, damage) = Decode(path);
        Assert.Null(damage);
        Assert.Equal(datagrams, frames);
        Assert.Equal(datagrams, ours.Count);
        Assert.Equal(datagrams, counters.UdpDatagrams);
        using var reader = CaptureReader.Open(path);
        Assert.True(reader.TryRead(out var first));
        Assert.Equal(linkType, first.LinkType);
        var needle = Convert.ToHexString(System.Text.Encoding.Latin1.GetBytes(contains)).ToLowerInvariant();
        Assert.Contains(ours, d => d.PayloadHex.Contains(needle));
    }
}
