using System.Buffers.Binary;
using PcapDht.Net;

namespace PcapDht.Synth;

/// <summary>
/// Builds Ethernet II frames carrying IPv4 or IPv6 UDP datagrams, with correct IPv4 header and UDP
/// checksums, and fragments datagrams larger than a 1500-byte MTU: IPv4 fragments (RFC 791, offsets
/// in 8-byte units, MF on all but the last) and IPv6 Fragment extension headers (RFC 8200 §4.5).
/// Written by hand rather than through PacketDotNet objects because the generator emits millions of
/// frames (PacketDotNet allocates several objects per frame); the tests parse the output with
/// PacketDotNet and tshark to check the headers and checksums independently.
/// </summary>
internal sealed class FrameBuilder
{
    public const int Mtu = 1500;
    private const int EthHeader = 14;
    private const int V4Header = 20;
    private const int V6Header = 40;
    private const int V6FragHeader = 8;
    private const int UdpHeader = 8;
    /// <summary>Fragment data per frame: the largest multiple of 8 that fits the MTU.</summary>
    private const int V4FragData = (Mtu - V4Header) & ~7;                 // 1480
    private const int V6FragData = (Mtu - V6Header - V6FragHeader) & ~7;   // 1448

    private static ReadOnlySpan<byte> VantageMac => [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
    private static ReadOnlySpan<byte> GatewayMac => [0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe];

    private readonly byte[] _frame = new byte[EthHeader + Mtu];
    private readonly byte[] _datagram = new byte[UdpHeader + 65536];
    private readonly SynthCaptureWriter _writer;

    public FrameBuilder(SynthCaptureWriter writer) => _writer = writer;

    /// <summary>How many frames a UDP payload of this size becomes.</summary>
    public static int FrameCount(bool v4, int payloadLength)
    {
        int udp = UdpHeader + payloadLength;
        if (v4) return udp <= Mtu - V4Header ? 1 : (udp + V4FragData - 1) / V4FragData;
        return udp <= Mtu - V6Header ? 1 : (udp + V6FragData - 1) / V6FragData;
    }

    /// <summary>Writes one UDP datagram as one or more frames, all stamped with <paramref name="timestampUs"/>.</summary>
    public int Write(long timestampUs, bool outbound, IpAddr src, ushort srcPort, IpAddr dst, ushort dstPort,
        ReadOnlySpan<byte> payload, uint ipId, byte hopLimit)
    {
        var udp = _datagram.AsSpan(0, UdpHeader + payload.Length);
        BinaryPrimitives.WriteUInt16BigEndian(udp, srcPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[2..], dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp[4..], (ushort)udp.Length);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], 0);
        payload.CopyTo(udp[UdpHeader..]);
        ushort sum = UdpChecksum(src, dst, udp);
        BinaryPrimitives.WriteUInt16BigEndian(udp[6..], sum);

        bool v4 = src.IsV4;
        int frames = FrameCount(v4, payload.Length);
        var mac = _frame.AsSpan(0, EthHeader);
        (outbound ? GatewayMac : VantageMac).CopyTo(mac);
        (outbound ? VantageMac : GatewayMac).CopyTo(mac[6..]);
        BinaryPrimitives.WriteUInt16BigEndian(mac[12..], v4 ? (ushort)0x0800 : (ushort)0x86DD);

        int chunk = v4 ? V4FragData : V6FragData;
        for (int i = 0; i < frames; i++)
        {
            int offset = frames == 1 ? 0 : i * chunk;
            int length = frames == 1 ? udp.Length : Math.Min(chunk, udp.Length - offset);
            bool more = i < frames - 1;
            int len = v4
                ? WriteV4(src, dst, udp.Slice(offset, length), frames > 1, offset, more, (ushort)ipId, hopLimit)
                : WriteV6(src, dst, udp.Slice(offset, length), frames > 1, offset, more, ipId, hopLimit);
            _writer.WriteFrame(timestampUs, _frame.AsSpan(0, len));
        }
        return frames;
    }

    private int WriteV4(IpAddr src, IpAddr dst, ReadOnlySpan<byte> data, bool fragmented, int offset, bool more,
        ushort id, byte ttl)
    {
        var ip = _frame.AsSpan(EthHeader, V4Header);
        ip[0] = 0x45;
        ip[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(V4Header + data.Length));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], id);
        // Linux sets DF on UDP that fits (path MTU discovery); a sender that fragments clears it.
        ushort flags = fragmented ? (ushort)((more ? 0x2000 : 0) | (offset >> 3)) : (ushort)0x4000;
        BinaryPrimitives.WriteUInt16BigEndian(ip[6..], flags);
        ip[8] = ttl;
        ip[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], 0);
        BinaryPrimitives.WriteUInt32BigEndian(ip[12..], src.V4);
        BinaryPrimitives.WriteUInt32BigEndian(ip[16..], dst.V4);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Fold(Sum(ip, 0)));
        data.CopyTo(_frame.AsSpan(EthHeader + V4Header));
        return EthHeader + V4Header + data.Length;
    }

    private int WriteV6(IpAddr src, IpAddr dst, ReadOnlySpan<byte> data, bool fragmented, int offset, bool more,
        uint id, byte hopLimit)
    {
        int ext = fragmented ? V6FragHeader : 0;
        var ip = _frame.AsSpan(EthHeader, V6Header + ext);
        // Traffic class 0 and a flow label derived from the fragment id (a per-flow constant would do too).
        BinaryPrimitives.WriteUInt32BigEndian(ip, 0x60000000u | (id & 0xfffff));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)(ext + data.Length));
        ip[6] = fragmented ? (byte)44 : (byte)17;
        ip[7] = hopLimit;
        BinaryPrimitives.WriteUInt128BigEndian(ip[8..], src.Value);
        BinaryPrimitives.WriteUInt128BigEndian(ip[24..], dst.Value);
        if (fragmented)
        {
            var f = ip[V6Header..];
            f[0] = 17;
            f[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(f[2..], (ushort)(offset | (more ? 1 : 0)));
            BinaryPrimitives.WriteUInt32BigEndian(f[4..], id);
        }
        data.CopyTo(_frame.AsSpan(EthHeader + V6Header + ext));
        return EthHeader + V6Header + ext + data.Length;
    }

    internal static ushort UdpChecksum(IpAddr src, IpAddr dst, ReadOnlySpan<byte> udp)
    {
        Span<byte> pseudo = stackalloc byte[40];
        int n;
        if (src.IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(pseudo, src.V4);
            BinaryPrimitives.WriteUInt32BigEndian(pseudo[4..], dst.V4);
            pseudo[8] = 0;
            pseudo[9] = 17;
            BinaryPrimitives.WriteUInt16BigEndian(pseudo[10..], (ushort)udp.Length);
            n = 12;
        }
        else
        {
            BinaryPrimitives.WriteUInt128BigEndian(pseudo, src.Value);
            BinaryPrimitives.WriteUInt128BigEndian(pseudo[16..], dst.Value);
            BinaryPrimitives.WriteUInt32BigEndian(pseudo[32..], (uint)udp.Length);
            BinaryPrimitives.WriteUInt32BigEndian(pseudo[36..], 17);
            n = 40;
        }
        ushort folded = Fold(Sum(udp, Sum(pseudo[..n], 0)));
        // RFC 768: a computed zero is sent as all ones (zero means "no checksum" for IPv4).
        return folded == 0 ? (ushort)0xffff : folded;
    }

    private static ulong Sum(ReadOnlySpan<byte> data, ulong sum)
    {
        int i = 0;
        for (; i + 4 <= data.Length; i += 4) sum += BinaryPrimitives.ReadUInt32BigEndian(data[i..]);
        for (; i + 2 <= data.Length; i += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(data[i..]);
        if (i < data.Length) sum += (ulong)data[i] << 8;
        return sum;
    }

    private static ushort Fold(ulong sum)
    {
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
        return (ushort)~sum;
    }
}
