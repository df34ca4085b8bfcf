using System.Buffers.Binary;
using System.Text;
using PacketDotNet;
using PcapDht.Net;
using PcapDht.Synth;

namespace PcapDht.Tests.Synth;

public class SynthGeneratorTests
{
    private static (byte[] Capture, SynthTruth Truth, byte[] Json) Generate(SynthOptions options, AsnRangeTable? table = null)
    {
        using var ms = new MemoryStream();
        var truth = SynthGenerator.Generate(options, table ?? SynthTestSupport.LoadFixture(), ms);
        using var js = new MemoryStream();
        truth.WriteJson(js);
        return (ms.ToArray(), truth, js.ToArray());
    }

    [Theory]
    [InlineData(SynthFormat.Pcap)]
    [InlineData(SynthFormat.PcapNg)]
    public void Generate_SameSeed_ByteIdenticalCaptureAndTruth(SynthFormat format)
    {
        var options = new SynthOptions { Seed = 42, Packets = 4000, Format = format };
        var a = Generate(options);
        var b = Generate(options);
        Assert.Equal(a.Capture, b.Capture);
        Assert.Equal(a.Json, b.Json);
    }

    [Fact]
    public void Generate_DifferentSeed_DifferentCaptureAndTruth()
    {
        var a = Generate(new SynthOptions { Seed = 1, Packets = 3000 });
        var b = Generate(new SynthOptions { Seed = 2, Packets = 3000 });
        Assert.NotEqual(a.Capture, b.Capture);
        Assert.True(a.Truth.DistinctIps > 0);
        Assert.NotEqual(a.Json, b.Json);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(1237)]
    [InlineData(6000)]
    public void Generate_Packets_WritesExactlyThatManyFrames(int packets)
    {
        var (capture, truth, _) = Generate(new SynthOptions { Seed = 5, Packets = packets });
        var frames = SynthTestSupport.ReadPcap(capture);
        Assert.Equal(packets, frames.Count);
        Assert.Equal(packets, truth.Frames);
        Assert.Equal(truth.Ipv4Frames + truth.Ipv6Frames, truth.Frames);
    }

    [Fact]
    public void Generate_Messages_WritesExactlyThatManyKrpcMessages()
    {
        var (capture, truth, _) = Generate(new SynthOptions { Seed = 9, Messages = 2500, FragmentShare = 0 });
        int krpc = 0, malformed = 0;
        foreach (var (_, data) in SynthTestSupport.ReadPcap(capture))
        {
            var payload = UdpPayload(data);
            if (MiniBencode.Krpc(payload) != null) krpc++;
            else if (payload.Length > 0 && payload[0] == 'd') malformed++;
        }
        Assert.Equal(2500, krpc);
        Assert.Equal(2500, truth.KrpcMessages);
        Assert.Equal(truth.Malformed, malformed);
        Assert.True(truth.Frames > 2500);
    }

    [Fact]
    public void Generate_Timestamps_SortedWithinDays_EndAtNewestResponse()
    {
        var end = new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var (capture, truth, _) = Generate(new SynthOptions { Seed = 3, Packets = 5000, End = end, Days = 42 });
        var frames = SynthTestSupport.ReadPcap(capture);
        long endUs = end.ToUnixTimeMilliseconds() * 1000;
        for (int i = 1; i < frames.Count; i++) Assert.True(frames[i].TsUs >= frames[i - 1].TsUs, $"frame {i + 1} goes back in time");
        Assert.True(frames[0].TsUs >= endUs - 42 * 86_400_000_000L);
        Assert.Equal(endUs, frames[^1].TsUs);
        Assert.Equal(endUs, truth.WindowEndUs);
        Assert.Equal(endUs - 30 * 86_400_000_000L, truth.WindowStartUs);
        var last = MiniBencode.Krpc(UdpPayload(frames[^1].Data));
        Assert.NotNull(last);
        Assert.Equal("r"u8.ToArray(), (byte[])last["y"]!);
        // Six weeks of traffic: some of it must fall before the 30-day window.
        Assert.True(truth.KrpcMessages > truth.KrpcMessagesInWindow);
        Assert.True(truth.KrpcMessagesInWindow > truth.KrpcMessages / 2);
    }

    [Fact]
    public void Generate_WindowBoundary_QueriesOneMicrosecondBeforeAndExactlyAtStart()
    {
        var (capture, truth, _) = Generate(new SynthOptions { Seed = 11, Packets = 3000 });
        var frames = SynthTestSupport.ReadPcap(capture);
        var at = frames.Where(f => f.TsUs == truth.WindowStartUs).Select(f => MiniBencode.Krpc(UdpPayload(f.Data))).ToList();
        var before = frames.Where(f => f.TsUs == truth.WindowStartUs - 1).Select(f => MiniBencode.Krpc(UdpPayload(f.Data))).ToList();
        Assert.Contains(at, m => m != null && ((byte[])m["y"]!)[0] == 'q');
        Assert.Contains(before, m => m != null && ((byte[])m["y"]!)[0] == 'q');
    }

    [Fact]
    public void Generate_KrpcEncoding_SortedKeysClientVersionsAndTransactionIds()
    {
        var (capture, _, _) = Generate(new SynthOptions { Seed = 21, Packets = 4000 });
        int withLt = 0, withoutV = 0, withIp = 0, tid2 = 0, tid4 = 0;
        var methods = new HashSet<string>();
        foreach (var (_, data) in SynthTestSupport.ReadPcap(capture))
        {
            var m = MiniBencode.Krpc(UdpPayload(data));
            if (m == null) continue;
            AssertSorted(m);
            var t = (byte[])m["t"]!;
            Assert.True(t.Length is 2 or 4, "transaction ids are 2 or 4 bytes");
            if (t.Length == 2) tid2++; else tid4++;
            if (m["v"] is byte[] v)
            {
                Assert.Equal(4, v.Length);
                if (v[0] == 'L' && v[1] == 'T') withLt++;
            }
            else withoutV++;
            if (m["ip"] is byte[] ip) { Assert.True(ip.Length is 6 or 18); withIp++; }
            if (m["q"] is byte[] q) methods.Add(Encoding.ASCII.GetString(q));
            if (m["r"] is MiniBencode.Dict r)
            {
                if (r["nodes"] is byte[] n) Assert.Equal(0, n.Length % 26);
                if (r["nodes6"] is byte[] n6) Assert.Equal(0, n6.Length % 38);
                Assert.Equal(20, ((byte[])r["id"]!).Length);
            }
        }
        Assert.True(withLt > 0 && withoutV > 0 && withIp > 0 && tid2 > 0 && tid4 > 0);
        foreach (var name in new[] { "ping", "find_node", "get_peers", "announce_peer", "sample_infohashes", "get" })
            Assert.Contains(name, methods);
    }

    private static void AssertSorted(MiniBencode.Dict d)
    {
        for (int i = 1; i < d.Items.Count; i++)
            Assert.True(string.CompareOrdinal(d.Items[i - 1].Key, d.Items[i].Key) < 0,
                $"key '{d.Items[i].Key}' after '{d.Items[i - 1].Key}'");
        foreach (var (_, v) in d.Items) if (v is MiniBencode.Dict inner) AssertSorted(inner);
    }

    [Fact]
    public void Generate_PcapNg_HoldsTheSameFramesAsPcap()
    {
        var pcap = Generate(new SynthOptions { Seed = 8, Packets = 2000, Format = SynthFormat.Pcap });
        var ng = Generate(new SynthOptions { Seed = 8, Packets = 2000, Format = SynthFormat.PcapNg });
        var frames = SynthTestSupport.ReadPcap(pcap.Capture);
        var blocks = ng.Capture;
        Assert.Equal(0x0A0D0D0Au, BinaryPrimitives.ReadUInt32LittleEndian(blocks));
        int pos = BinaryPrimitives.ReadInt32LittleEndian(blocks.AsSpan(4));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(blocks.AsSpan(pos)));
        pos += BinaryPrimitives.ReadInt32LittleEndian(blocks.AsSpan(pos + 4));
        int n = 0;
        while (pos < blocks.Length)
        {
            Assert.Equal(6u, BinaryPrimitives.ReadUInt32LittleEndian(blocks.AsSpan(pos)));
            int total = BinaryPrimitives.ReadInt32LittleEndian(blocks.AsSpan(pos + 4));
            Assert.Equal(total, BinaryPrimitives.ReadInt32LittleEndian(blocks.AsSpan(pos + total - 4)));
            long ts = ((long)BinaryPrimitives.ReadUInt32LittleEndian(blocks.AsSpan(pos + 12)) << 32)
                | BinaryPrimitives.ReadUInt32LittleEndian(blocks.AsSpan(pos + 16));
            int len = BinaryPrimitives.ReadInt32LittleEndian(blocks.AsSpan(pos + 20));
            Assert.Equal(frames[n].TsUs, ts);
            Assert.Equal(frames[n].Data, blocks.AsSpan(pos + 28, len).ToArray());
            pos += total;
            n++;
        }
        Assert.Equal(frames.Count, n);
    }

    [Fact]
    public void Generate_Frames_ParseWithPacketDotNetAndCarryValidChecksums()
    {
        var (capture, truth, _) = Generate(new SynthOptions { Seed = 13, Packets = 5000, FragmentShare = 0.2 });
        int checkedUdp = 0, fragments = 0;
        foreach (var (_, data) in SynthTestSupport.ReadPcap(capture))
        {
            var eth = (EthernetPacket)Packet.ParsePacket(LinkLayers.Ethernet, data);
            if (eth.PayloadPacket is IPv4Packet v4)
            {
                Assert.True(v4.ValidIPChecksum, "IPv4 header checksum");
                if (v4.FragmentFlags != 2 && ((v4.FragmentFlags & 1) != 0 || v4.FragmentOffset != 0)) { fragments++; continue; }
            }
            else if (eth.PayloadPacket is IPv6Packet v6 && (int)v6.NextHeader == 44)
            {
                fragments++;
                continue;
            }
            var udp = eth.Extract<UdpPacket>();
            Assert.NotNull(udp);
            Assert.True(udp.ValidUdpChecksum, "UDP checksum");
            checkedUdp++;
        }
        Assert.Equal(truth.Frames - truth.FragmentFrames, checkedUdp);
        Assert.Equal(truth.FragmentFrames, fragments);
        Assert.True(truth.FragmentedDatagrams > 5);
    }

    /// <summary>UDP payload of an unfragmented Ethernet/IPv4 or IPv6 frame (empty for fragments).</summary>
    internal static ReadOnlySpan<byte> UdpPayload(byte[] frame)
    {
        ushort type = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(12));
        if (type == 0x0800)
        {
            ushort frag = BinaryPrimitives.ReadUInt16BigEndian(frame.AsSpan(20));
            if ((frag & 0x3fff) != 0) return default;
            return frame.AsSpan(14 + 20 + 8);
        }
        if (frame[20] != 17) return default;
        return frame.AsSpan(14 + 40 + 8);
    }
}

public class SynthSingleFamilyTests
{
    [Theory]
    [InlineData("5.44.0.0,5.44.255.255,65540,V4-ONLY-A\n37.120.0.0,37.120.0.255,65541,V4-ONLY-B\n", 0x0800)]
    [InlineData("2a00:1000::,2a00:10ff:ffff:ffff:ffff:ffff:ffff:ffff,65540,V6-ONLY\n", 0x86DD)]
    public void Generate_OneFamilyOfRanges_EveryFrameOfThatFamily_EveryKrpcAddressInARange(string csv, int etherType)
    {
        var table = AsnRangeTable.Parse(new StringReader(csv), "one-family.csv");
        using var ms = new MemoryStream();
        var truth = SynthGenerator.Generate(new SynthOptions { Seed = 4, Packets = 3000, FragmentShare = 0 }, table, ms);
        int krpc = 0;
        foreach (var (_, data) in SynthTestSupport.ReadPcap(ms.ToArray()))
        {
            Assert.Equal(etherType, System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(data.AsSpan(12)));
            if (MiniBencode.Krpc(SynthGeneratorTests.UdpPayload(data)) == null) continue;
            krpc++;
            var (src, dst) = etherType == 0x0800
                ? (IpAddr.FromV4Bytes(data.AsSpan(26, 4)), IpAddr.FromV4Bytes(data.AsSpan(30, 4)))
                : (IpAddr.FromV6Bytes(data.AsSpan(22, 16)), IpAddr.FromV6Bytes(data.AsSpan(38, 16)));
            Assert.True(table.IndexOf(src) >= 0, $"{src} outside the ranges");
            Assert.True(table.IndexOf(dst) >= 0, $"{dst} outside the ranges");
        }
        Assert.Equal(truth.KrpcMessages, krpc);
        Assert.Equal(0, truth.UnmatchedIps);
    }
}
