using System.Buffers.Binary;
using System.Net;

namespace PcapDht.Tests.Net;

/// <summary>Builds link/IP/UDP headers byte by byte so tests control every field.</summary>
public static class PacketBuilder
{
    public static readonly byte[] V4A = IPAddress.Parse("10.0.0.1").GetAddressBytes();
    public static readonly byte[] V4B = IPAddress.Parse("192.0.2.7").GetAddressBytes();
    public static readonly byte[] V6A = IPAddress.Parse("2001:db8::1").GetAddressBytes();
    public static readonly byte[] V6B = IPAddress.Parse("2001:db8::beef").GetAddressBytes();

    /// <summary>A BEP 5 ping query, the UDP payload of the crafted frames.</summary>
    public static readonly byte[] KrpcPing = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"u8.ToArray();

    public static byte[] Payload(int length, int seed = 1)
    {
        var p = new byte[length];
        new Random(seed).NextBytes(p);
        return p;
    }

    public static byte[] Udp(ushort sourcePort, ushort destinationPort, ReadOnlySpan<byte> payload, int? lengthField = null)
    {
        var b = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b, sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), destinationPort);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), (ushort)(lengthField ?? b.Length));
        payload.CopyTo(b.AsSpan(8));
        return b;
    }

    /// <summary>IPv4 header (+options, padded to 4) and payload; fragmentOffset in bytes.</summary>
    public static byte[] IPv4(byte protocol, ReadOnlySpan<byte> payload, byte[]? source = null, byte[]? destination = null,
        ushort id = 0x1234, int fragmentOffset = 0, bool moreFragments = false, byte[]? options = null, int? totalLengthField = null)
    {
        int optLen = options == null ? 0 : (options.Length + 3) & ~3;
        int hl = 20 + optLen;
        var b = new byte[hl + payload.Length];
        b[0] = (byte)(0x40 | (hl / 4));
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)(totalLengthField ?? b.Length));
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(6), (ushort)((moreFragments ? 0x2000 : 0) | (fragmentOffset / 8)));
        b[8] = 64;
        b[9] = protocol;
        (source ?? V4A).CopyTo(b, 12);
        (destination ?? V4B).CopyTo(b, 16);
        options?.CopyTo(b, 20);
        payload.CopyTo(b.AsSpan(hl));
        return b;
    }

    public static byte[] IPv6(byte nextHeader, ReadOnlySpan<byte> payload, byte[]? source = null, byte[]? destination = null)
    {
        var b = new byte[40 + payload.Length];
        b[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), (ushort)payload.Length);
        b[6] = nextHeader;
        b[7] = 64;
        (source ?? V6A).CopyTo(b, 8);
        (destination ?? V6B).CopyTo(b, 24);
        payload.CopyTo(b.AsSpan(40));
        return b;
    }

    /// <summary>An options-style extension header (hop-by-hop 0, routing 43, destination 60) of 8*(units+1) bytes.</summary>
    public static byte[] Extension(byte next, ReadOnlySpan<byte> rest, int units = 0)
    {
        var b = new byte[8 * (units + 1) + rest.Length];
        b[0] = next;
        b[1] = (byte)units;
        b[2] = 1; // PadN option
        b[3] = (byte)(8 * (units + 1) - 4);
        rest.CopyTo(b.AsSpan(8 * (units + 1)));
        return b;
    }

    /// <summary>AH with a 12-byte ICV: 24 bytes, length field (24/4)-2 = 4.</summary>
    public static byte[] AuthenticationHeader(byte next, ReadOnlySpan<byte> rest)
    {
        var b = new byte[24 + rest.Length];
        b[0] = next;
        b[1] = 4;
        rest.CopyTo(b.AsSpan(24));
        return b;
    }

    public static byte[] FragmentHeader(byte next, int offset, bool more, uint id, ReadOnlySpan<byte> rest)
    {
        var b = new byte[8 + rest.Length];
        b[0] = next;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), (ushort)(offset | (more ? 1 : 0)));
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), id);
        rest.CopyTo(b.AsSpan(8));
        return b;
    }

    /// <summary>Splits an IPv4 payload (UDP header included) into fragments of at most chunk bytes (multiple of 8).</summary>
    public static List<byte[]> FragmentV4(ReadOnlySpan<byte> transport, int chunk, ushort id = 0x4242, byte protocol = 17)
    {
        var list = new List<byte[]>();
        for (int off = 0; off < transport.Length; off += chunk)
        {
            int n = Math.Min(chunk, transport.Length - off);
            list.Add(IPv4(protocol, transport.Slice(off, n), id: id, fragmentOffset: off, moreFragments: off + n < transport.Length));
        }
        return list;
    }

    public static List<byte[]> FragmentV6(ReadOnlySpan<byte> transport, int chunk, uint id = 0xABCDEF, byte next = 17)
    {
        var list = new List<byte[]>();
        for (int off = 0; off < transport.Length; off += chunk)
        {
            int n = Math.Min(chunk, transport.Length - off);
            list.Add(IPv6(44, FragmentHeader(next, off, off + n < transport.Length, id, transport.Slice(off, n))));
        }
        return list;
    }

    /// <summary>Ethernet II with optional VLAN tags (each (tpid, vid)), outermost first.</summary>
    public static byte[] Ethernet(ushort etherType, ReadOnlySpan<byte> payload, params (ushort Tpid, ushort Vid)[] tags)
    {
        var b = new byte[14 + 4 * tags.Length + payload.Length];
        for (int i = 0; i < 6; i++) { b[i] = 0x02; b[6 + i] = 0x04; }
        int at = 12;
        foreach (var (tpid, vid) in tags)
        {
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), tpid);
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at + 2), vid);
            at += 4;
        }
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), etherType);
        payload.CopyTo(b.AsSpan(at + 2));
        return b;
    }

    public static byte[] Sll(ushort protocol, ReadOnlySpan<byte> payload)
    {
        var b = new byte[16 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), 1); // ARPHRD_ETHER
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), 6);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(14), protocol);
        payload.CopyTo(b.AsSpan(16));
        return b;
    }

    public static byte[] Sll2(ushort protocol, ReadOnlySpan<byte> payload)
    {
        var b = new byte[20 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b, protocol);
        BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4), 3);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(8), 1);
        b[11] = 6;
        payload.CopyTo(b.AsSpan(20));
        return b;
    }

    public static byte[] Null(uint family, bool bigEndianHost, ReadOnlySpan<byte> payload)
    {
        var b = new byte[4 + payload.Length];
        if (bigEndianHost) BinaryPrimitives.WriteUInt32BigEndian(b, family); else BinaryPrimitives.WriteUInt32LittleEndian(b, family);
        payload.CopyTo(b.AsSpan(4));
        return b;
    }

    /// <summary>PPPoE session header (RFC 2516) and the PPP protocol field (two bytes, or one when <paramref name="compressed"/>).</summary>
    public static byte[] Pppoe(ushort pppProtocol, ReadOnlySpan<byte> payload, bool compressed = false, int? lengthField = null, ushort session = 0x1234)
    {
        int protocolLength = compressed ? 1 : 2;
        var b = new byte[6 + protocolLength + payload.Length];
        b[0] = 0x11;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), session);
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(4), (ushort)(lengthField ?? protocolLength + payload.Length));
        Ppp(pppProtocol, compressed).CopyTo(b.AsSpan(6));
        payload.CopyTo(b.AsSpan(6 + protocolLength));
        return b;
    }

    /// <summary>VXLAN header (RFC 7348: I flag, 24-bit VNI) and the inner Ethernet frame.</summary>
    public static byte[] Vxlan(ReadOnlySpan<byte> frame, int vni = 1) =>
        [0x08, 0, 0, 0, (byte)(vni >> 16), (byte)(vni >> 8), (byte)vni, 0, .. frame];

    /// <summary>GENEVE header (RFC 8926) with <paramref name="optionWords"/> 4-byte words of options, then the payload.</summary>
    public static byte[] Geneve(ushort protocol, ReadOnlySpan<byte> payload, int optionWords = 0, int vni = 1)
    {
        var b = new byte[8 + 4 * optionWords + payload.Length];
        b[0] = (byte)optionWords;
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), protocol);
        b[4] = (byte)(vni >> 16); b[5] = (byte)(vni >> 8); b[6] = (byte)vni;
        for (int i = 0; i < optionWords; i++)
        {
            // One option per word: class 0x0103 (experimental range), type i, no data.
            BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(8 + 4 * i), 0x0103);
            b[8 + 4 * i + 2] = (byte)i;
        }
        payload.CopyTo(b.AsSpan(8 + 4 * optionWords));
        return b;
    }

    /// <summary>The PPP protocol field, optionally compressed to one byte (RFC 1661 §6.5).</summary>
    public static byte[] Ppp(ushort protocol, bool compressed = false) =>
        compressed ? [(byte)protocol] : [(byte)(protocol >> 8), (byte)protocol];

    public static byte[] Mpls(int labels, ReadOnlySpan<byte> payload)
    {
        var b = new byte[4 * labels + payload.Length];
        for (int i = 0; i < labels; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 * i), (uint)((100 + i) << 12 | (i == labels - 1 ? 0x100 : 0) | 64));
        }
        payload.CopyTo(b.AsSpan(4 * labels));
        return b;
    }

    /// <summary>ERSPAN type II header (version 1, the session id) before a mirrored Ethernet frame; goes in GRE 0x88BE with a sequence number.</summary>
    public static byte[] ErspanII(ReadOnlySpan<byte> frame, int session = 7) =>
        [0x10, 0x00, (byte)(session >> 8 & 3), (byte)session, 0, 0, 0, 0, .. frame];

    /// <summary>ERSPAN type III header (version 2), with the 8-byte platform subheader when <paramref name="platform"/>; GRE 0x22EB.</summary>
    public static byte[] ErspanIII(ReadOnlySpan<byte> frame, bool platform = false, int session = 7)
    {
        byte[] header = [0x20, 0x00, (byte)(session >> 8 & 3), (byte)session, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, (byte)(platform ? 1 : 0)];
        return platform ? [.. header, 0x08, 0, 0, 0, 0, 0, 0, 0, .. frame] : [.. header, .. frame];
    }

    /// <summary>GRE with optional checksum, key and sequence fields.</summary>
    public static byte[] Gre(ushort protocol, ReadOnlySpan<byte> payload, bool checksum = false, bool key = false, bool sequence = false)
    {
        int hl = 4 + (checksum ? 4 : 0) + (key ? 4 : 0) + (sequence ? 4 : 0);
        var b = new byte[hl + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(b, (ushort)((checksum ? 0x8000 : 0) | (key ? 0x2000 : 0) | (sequence ? 0x1000 : 0)));
        BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(2), protocol);
        for (int i = 4; i < hl; i++) b[i] = 0xEE;
        payload.CopyTo(b.AsSpan(hl));
        return b;
    }
}
