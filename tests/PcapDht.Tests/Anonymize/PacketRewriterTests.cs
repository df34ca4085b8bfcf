using System.Buffers.Binary;
using System.Net;
using PcapDht.Anonymize;
using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;
using static PcapDht.Tests.Net.PacketBuilder;

namespace PcapDht.Tests.Anonymize;

/// <summary>
/// Crafted frames, one per place an address hides: every encapsulation the decoder reads, IPv4
/// options, ICMP quotes, ARP, fragments out of order; checksums made right before and checked after
/// with an independent RFC 1071 sum.
/// </summary>
public class PacketRewriterTests
{
    private static readonly AnonymizationKey Key = AnonymizationKey.Parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    private static readonly byte[] NodeA = [198, 51, 100, 23], NodeB = [203, 0, 113, 9], Peer4 = [100, 64, 3, 4], Outer4 = [172, 16, 9, 9];
    private static readonly byte[] Peer6 = IPAddress.Parse("2001:db8:77::5").GetAddressBytes();

    /// <summary>A find_node/get_peers style response: two nodes, three values (v4, v6, odd 12 bytes), BEP 42 ip.</summary>
    private static byte[] Krpc()
    {
        byte[] Node(byte fill, byte[] ip) => [.. Enumerable.Repeat(fill, 20), .. ip, 0x1A, 0xE1];
        byte[] nodes = [.. Node(0x11, NodeA), .. Node(0x22, NodeB)];
        return [.. "d2:ip6:"u8, .. V4B, 0x1A, 0xE1, .. "1:rd2:id20:"u8, .. Enumerable.Repeat((byte)0x33, 20), .. "5:nodes52:"u8, .. nodes,
            .. "6:valuesl6:"u8, .. Peer4, 0, 80, .. "18:"u8, .. Peer6, 0, 81, .. "12:"u8, .. Peer4, .. Peer4, .. Peer4,
            .. "ee1:t2:aa1:y1:re"u8];
    }

    private static readonly byte[][] Originals = [V4A, V4B, V6A, V6B, NodeA, NodeB, Peer4, Peer6, Outer4];

    [Fact]
    public void Rewrite_EveryEncapsulation_AddressesMappedChecksumsValidNothingOriginalLeft()
    {
        byte[] krpc = Krpc();
        byte[] udp4 = Udp4(V4A, V4B, 6881, 6882, krpc);
        byte[] vxlanInner = Ethernet(0x0800, udp4);
        byte[] icmpQuote = udp4[..(20 + 8 + 40)]; // the first 40 bytes of the KRPC payload
        var frames = new List<byte[]>
        {
            Ethernet(0x0800, udp4),                                                          // 0
            Ethernet(0x86DD, Udp6(V6A, V6B, 6881, 6882, krpc), (0x8100, 7)),                 // 1
            Ethernet(0x0800, Udp4(Outer4, V4A, 50000, 4789, Vxlan(vxlanInner))),             // 2
            Ethernet(0x86DD, FixIPv6(IPv6(47, Gre(0x0800, udp4, checksum: true)))),          // 3
            Ethernet(0x0800, Udp4(V4A, V4B, 6881, 6882, krpc, options: [7, 11, 4, .. V4A, .. NodeA])), // 4: record route
            Ethernet(0x0800, FixIPv4(IPv4(1, Icmp([3, 3, 0, 0, 0, 0, 0, 0, .. icmpQuote]), V4B, V4A))), // 5
            Ethernet(0x0806, [0, 1, 8, 0, 6, 4, 0, 1, 2, 2, 2, 2, 2, 2, .. V4A, 0, 0, 0, 0, 0, 0, .. V4B]), // 6: ARP
            Ethernet(0x0800, Udp4(V4A, V4B, 6881, 6882, [0x41, 0, 1, 2, .. Payload(96)])),   // 7: uTP
            Ethernet(0x0800, FixIPv4(IPv4(6, Tcp(Payload(60)), V4A, V4B))),                  // 8: TCP
        };
        var output = Anonymize(frames, out var counters);
        Assert.Equal(frames.Count, output.Count);

        using var mapper = new AddressAnonymizer(Key);
        var decoder = new PacketDecoder();
        for (int i = 0; i < output.Count; i++)
        {
            byte[] f = output[i].Data;
            foreach (var original in Originals)
                Assert.True(f.AsSpan().IndexOf(original) < 0, $"frame {i}: {new IPAddress(original)} left in {Convert.ToHexString(f)}");
            VerifyChecksums(f.AsSpan(14), i);
            if (i is 0 or 1 or 2 or 3 or 4)
            {
                Assert.True(decoder.TryDecode(new Frame(i + 1, 0, 1, f.Length, f), out var d), $"frame {i} does not decode");
                var source = i switch { 1 => V6A, _ => V4A };
                Assert.Equal(mapper.Map(IpAddr.FromIPAddress(new IPAddress(source))), d.Source);
                Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(d.Payload, out var m, out _));
                var nodes = new List<IpAddr>();
                foreach (var node in CompactLists.Nodes(m.Nodes)) nodes.Add(node.Address);
                Assert.Equal([mapper.Map(IpAddr.FromV4Bytes(NodeA)), mapper.Map(IpAddr.FromV4Bytes(NodeB))], nodes);
                Assert.Equal(krpc.Length, d.Payload.Length);
                Assert.Equal(3, m.ValuesCount);
                Assert.Equal(mapper.Map(IpAddr.FromV4Bytes(V4B)), IpAddr.FromV4Bytes(m.ExternalIp));
                Assert.True(d.Payload.IndexOf(new byte[12]) > 0, "the odd 12-byte values entry is cleared");
            }
        }
        // ARP: both protocol addresses mapped.
        Assert.Equal(mapper.MapV4(BinaryPrimitives.ReadUInt32BigEndian(V4A)), BinaryPrimitives.ReadUInt32BigEndian(output[6].Data.AsSpan(14 + 14)));
        // uTP: UDP header and the first 8 payload bytes; TCP: its header and 8 bytes. Original lengths stay.
        Assert.Equal(14 + 20 + 8 + 8, output[7].Data.Length);
        Assert.Equal(frames[7].Length, output[7].OriginalLength);
        Assert.Equal(14 + 20 + 20 + 8, output[8].Data.Length);
        Assert.Equal(2, counters.FramesCut);
        Assert.Equal(1, counters.OtherPayloadsCut);
    }

    [Fact]
    public void Rewrite_FragmentsOutOfOrderAndInterleaved_PutTogetherRewrittenOrderKept()
    {
        byte[] transport = UdpHeaderWithChecksum(V4A, V4B, 6881, 6882, Krpc());
        var pieces = FragmentV4(transport, 64).Select(p => FixIPv4(p)).ToList();
        Assert.True(pieces.Count >= 3);
        var frames = new List<byte[]> { Ethernet(0x0800, pieces[^1]) };
        frames.Add(Ethernet(0x0800, Udp4(V4B, V4A, 1, 2, Krpc()))); // another datagram in between
        for (int i = pieces.Count - 2; i >= 0; i--) frames.Add(Ethernet(0x0800, pieces[i]));
        // A lone fragment of another datagram that never completes: cut after its IP header.
        var lone = FixIPv4(IPv4(17, transport.AsSpan(64, 64), V4A, V4B, id: 0x7777, fragmentOffset: 64, moreFragments: true));
        frames.Add(Ethernet(0x0800, lone));

        var output = Anonymize(frames, out var counters);
        Assert.Equal(frames.Select((f, i) => (long)i), output.Select(o => o.TimestampNs / 1000));
        Assert.Equal(1, counters.FragmentedDatagramsRewritten);
        Assert.Equal(1, counters.FragmentedDatagramsGivenUp);
        Assert.Equal(14 + 20, output[^1].Data.Length);

        using var mapper = new AddressAnonymizer(Key);
        var decoder = new PacketDecoder();
        int messages = 0;
        foreach (var o in output)
        {
            foreach (var original in Originals) Assert.True(o.Data.AsSpan().IndexOf(original) < 0);
            if (!decoder.TryDecode(new Frame(1, o.TimestampNs, 1, o.OriginalLength, o.Data), out var d)) continue;
            Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(d.Payload, out var m, out _));
            foreach (var node in CompactLists.Nodes(m.Nodes))
                Assert.Contains(node.Address, new[] { mapper.Map(IpAddr.FromV4Bytes(NodeA)), mapper.Map(IpAddr.FromV4Bytes(NodeB)) });
            messages++;
        }
        Assert.Equal(2, messages);
        // The reassembled datagram's UDP checksum (in the first fragment) covers the rewritten payload.
        byte[] whole = [.. output.Skip(2).Take(pieces.Count - 1).Reverse().SelectMany(o => o.Data.AsSpan(14 + 20).ToArray()), .. output[0].Data.AsSpan(14 + 20).ToArray()];
        byte[] firstHeader = output[^2].Data.AsSpan(14, 20).ToArray();
        Assert.Equal(0xFFFF, OnesSum([.. firstHeader.AsSpan(12, 8).ToArray(), 0, 17, (byte)(whole.Length >> 8), (byte)whole.Length, .. whole]));
    }

    [Fact]
    public void Rewrite_UnknownLinkTypeAndKeepPayloads()
    {
        var frames = new List<byte[]> { Ethernet(0x0800, Udp4(V4A, V4B, 6881, 6882, [0x41, 0, 1, 2, .. Payload(96)])) };
        var kept = Anonymize(frames, out _, new AnonymizeOptions { KeepPayloads = true });
        Assert.Equal(frames[0].Length, kept[0].Data.Length);
        VerifyChecksums(kept[0].Data.AsSpan(14), 0);

        // A link type the rewriter does not know is written without content: it cannot tell where addresses are.
        using var stream = new MemoryStream();
        var writer = CaptureFileWriter.PcapNg(stream);
        writer.Write(1000, 147, 60, Payload(60));
        writer.Write(2000, 1, frames[0].Length, frames[0]);
        stream.Position = 0;
        var output = Run(stream, new AnonymizeOptions(), out var counters);
        Assert.Equal([0, 14 + 20 + 8 + 8], output.Select(o => o.Data.Length));
        Assert.Equal(1, counters.FramesNotParsed);
    }

    // ---- helpers ----

    private sealed record Written(long TimestampNs, int OriginalLength, byte[] Data);

    private static List<Written> Anonymize(List<byte[]> frames, out AnonymizeCounters counters, AnonymizeOptions? options = null)
    {
        using var stream = new MemoryStream();
        var writer = CaptureFileWriter.Pcap(stream, 1, nanosecond: true);
        for (int i = 0; i < frames.Count; i++) writer.Write(i * 1000L, 1, frames[i].Length, frames[i]);
        stream.Position = 0;
        return Run(stream, options ?? new AnonymizeOptions(), out counters);
    }

    private static List<Written> Run(MemoryStream input, AnonymizeOptions options, out AnonymizeCounters counters)
    {
        using var reader = CaptureReader.Open(input, "crafted");
        using var output = new MemoryStream();
        using var anonymizer = new CaptureAnonymizer(Key, options);
        anonymizer.Run(reader, output);
        counters = anonymizer.Counters;
        output.Position = 0;
        using var back = CaptureReader.Open(new MemoryStream(output.ToArray()), "anonymized");
        var list = new List<Written>();
        while (back.TryRead(out var f)) list.Add(new Written(f.TimestampNs, f.OriginalLength, f.Data.ToArray()));
        Assert.Null(back.Damage);
        return list;
    }

    private static ushort OnesSum(ReadOnlySpan<byte> data)
    {
        uint sum = 0;
        for (int i = 0; i < data.Length; i += 2) sum += (uint)(data[i] << 8 | (i + 1 < data.Length ? data[i + 1] : 0));
        while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
        return (ushort)sum;
    }

    private static ushort Complement(ReadOnlySpan<byte> data) => (ushort)~OnesSum(data);

    private static byte[] Pseudo(ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, byte protocol, int length) =>
        source.Length == 4
            ? [.. source, .. destination, 0, protocol, (byte)(length >> 8), (byte)length]
            : [.. source, .. destination, 0, 0, (byte)(length >> 8), (byte)length, 0, 0, 0, protocol];

    private static byte[] UdpHeaderWithChecksum(byte[] source, byte[] destination, ushort sp, ushort dp, byte[] payload)
    {
        byte[] udp = Udp(sp, dp, payload);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(6), Complement([.. Pseudo(source, destination, 17, udp.Length), .. udp]));
        return udp;
    }

    private static byte[] Udp4(byte[] source, byte[] destination, ushort sp, ushort dp, byte[] payload, byte[]? options = null) =>
        FixIPv4(IPv4(17, UdpHeaderWithChecksum(source, destination, sp, dp, payload), source, destination, options: options));

    private static byte[] Udp6(byte[] source, byte[] destination, ushort sp, ushort dp, byte[] payload) =>
        IPv6(17, UdpHeaderWithChecksum(source, destination, sp, dp, payload), source, destination);

    private static byte[] FixIPv4(byte[] packet)
    {
        int hl = (packet[0] & 15) * 4;
        packet[10] = packet[11] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(packet.AsSpan(10), Complement(packet.AsSpan(0, hl)));
        return packet;
    }

    private static byte[] FixIPv6(byte[] packet)
    {
        // GRE checksum inside (the only IPv6 payload built here that has one of its own).
        var gre = packet.AsSpan(40);
        gre[4] = gre[5] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(gre[4..], Complement(gre));
        return packet;
    }

    private static byte[] Icmp(byte[] message)
    {
        BinaryPrimitives.WriteUInt16BigEndian(message.AsSpan(2), Complement(message));
        return message;
    }

    private static byte[] Tcp(byte[] payload)
    {
        var b = new byte[20 + payload.Length];
        b[12] = 5 << 4;
        payload.CopyTo(b, 20);
        return b;
    }

    /// <summary>Checks every checksum it can see (a cut frame's transport checksum cannot be checked).</summary>
    private static void VerifyChecksums(ReadOnlySpan<byte> ip, int frame)
    {
        if (ip.Length < 20) return;
        if (ip[0] >> 4 == 4)
        {
            int hl = (ip[0] & 15) * 4;
            Assert.True(OnesSum(ip[..hl]) == 0xFFFF, $"frame {frame}: IPv4 header checksum");
            int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            if (ip.Length < total) return;
            Transport(ip[9], ip.Slice(12, 4), ip.Slice(16, 4), ip[hl..total], frame);
        }
        else if (ip[0] >> 4 == 6)
        {
            int total = 40 + BinaryPrimitives.ReadUInt16BigEndian(ip[4..]);
            if (ip.Length < total) return;
            Transport(ip[6], ip.Slice(8, 16), ip.Slice(24, 16), ip[40..total], frame);
        }
    }

    private static void Transport(byte protocol, ReadOnlySpan<byte> source, ReadOnlySpan<byte> destination, ReadOnlySpan<byte> p, int frame)
    {
        switch (protocol)
        {
            case 17:
                if (BinaryPrimitives.ReadUInt16BigEndian(p[6..]) != 0)
                    Assert.True(OnesSum([.. Pseudo(source, destination, 17, p.Length), .. p]) == 0xFFFF, $"frame {frame}: UDP checksum");
                if (BinaryPrimitives.ReadUInt16BigEndian(p[2..]) == 4789) VerifyChecksums(p[(8 + 8 + 14)..], frame);
                break;
            case 1:
                Assert.True(OnesSum(p) == 0xFFFF, $"frame {frame}: ICMP checksum");
                break;
            case 47:
                Assert.True(OnesSum(p) == 0xFFFF, $"frame {frame}: GRE checksum");
                VerifyChecksums(p[8..], frame);
                break;
        }
    }
}
