using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using PcapDht.Capture;

namespace PcapDht.Net;

/// <summary>
/// Frame → UDP datagram, one instance per capture (it holds the reassembly state). Link layers:
/// Ethernet with stacked 802.1Q/802.1ad tags, Linux SLL/SLL2, raw IP, BSD NULL/LOOP, PPP (plain, in
/// HDLC-like framing, over Ethernet) and Cisco HDLC; PPPoE sessions, MPLS label stacks, GRE (with
/// ERSPAN I/II/III), VXLAN, GENEVE and IP-in-IP tunnels; IPv4 options and IPv6 extension headers;
/// IPv4/IPv6 fragment reassembly. Nothing is allocated for a frame that is not a fragment.
/// </summary>
public sealed class PacketDecoder
{
    public const int LinkNull = 0;
    public const int LinkEthernet = 1;
    public const int LinkPpp = 9;
    public const int LinkPppHdlc = 50;
    public const int LinkPppEther = 51;
    public const int LinkCiscoHdlc = 104;
    public const int LinkRawOld12 = 12;
    public const int LinkRawOld14 = 14;
    public const int LinkRaw = 101;
    public const int LinkLoop = 108;
    public const int LinkLinuxSll = 113;
    public const int LinkIPv4 = 228;
    public const int LinkIPv6 = 229;
    public const int LinkLinuxSll2 = 276;

    // Tunnels inside tunnels are legal but a crafted packet must not recurse without end.
    private const int MaxNesting = 8;
    private const int MaxLabels = 16;
    private const int MaxExtensionHeaders = 16;

    private readonly Reassembler _reassembler;

    // The frame being decoded; fields rather than parameters keep the call chain short.
    private long _frameNumber;
    private long _timestampNs;
    private bool _frameTruncated;

    public PacketDecoder() : this(ReassemblyLimits.Default) { }

    public PacketDecoder(ReassemblyLimits limits)
    {
        _reassembler = new Reassembler(limits, Counters);
    }

    public NetCounters Counters { get; } = new();

    /// <summary>Called once per unknown link type, the first time a frame of it arrives.</summary>
    public Action<int>? UnknownLinkType { get; set; }

    /// <summary>Datagrams waiting for more fragments.</summary>
    public int PendingReassembly => _reassembler.Pending;

    /// <summary>Bytes of buffers held for datagrams waiting for fragments.</summary>
    public long PendingReassemblyBytes => _reassembler.PendingBytes;

    /// <summary>
    /// Decodes one frame. False when it does not complete a UDP datagram (why is in <see cref="Counters"/>).
    /// The payload is valid until the next call.
    /// </summary>
    public bool TryDecode(in Frame frame, out UdpDatagram datagram)
    {
        _reassembler.ReleaseCompleted();
        Counters.Frames++;
        _frameNumber = frame.Number;
        _timestampNs = frame.TimestampNs;
        _frameTruncated = frame.IsTruncated;
        var p = frame.Data;
        datagram = default;
        switch (frame.LinkType)
        {
            case LinkEthernet:
                if (p.Length < 14) return Short();
                return EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[12..]), p[14..], 0, out datagram);
            case LinkLinuxSll2:
                if (p.Length < 20) return Short();
                return EtherType(BinaryPrimitives.ReadUInt16BigEndian(p), p[20..], 0, out datagram);
            case LinkLinuxSll:
                if (p.Length < 16) return Short();
                return EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[14..]), p[16..], 0, out datagram);
            case LinkRaw:
            case LinkRawOld12:
            case LinkRawOld14:
                return GuessIp(p, 0, out datagram);
            case LinkIPv4:
                return IPv4(p, 0, out datagram);
            case LinkIPv6:
                return IPv6(p, 0, out datagram);
            case LinkNull:
            {
                if (p.Length < 4) return Short();
                // The family is in the capturing host's byte order, which the file does not record.
                uint family = BinaryPrimitives.ReadUInt32LittleEndian(p);
                if (family > 0xFFFF) family = BinaryPrimitives.ReverseEndianness(family);
                return LoopbackFamily(family, p[4..], out datagram);
            }
            case LinkLoop:
                if (p.Length < 4) return Short();
                return LoopbackFamily(BinaryPrimitives.ReadUInt32BigEndian(p), p[4..], out datagram);
            case LinkPpp:
            case LinkPppHdlc:
                return Ppp(p, out datagram);
            case LinkPppEther:
                return PppoeSession(p, 0, out datagram);
            case LinkCiscoHdlc:
                return CiscoHdlc(p, out datagram);
            default:
                if (Counters.CountUnknownLinkType(frame.LinkType)) UnknownLinkType?.Invoke(frame.LinkType);
                return false;
        }
    }

    /// <summary>The capture ended: count datagrams still missing fragments, free their buffers.</summary>
    public void Finish()
    {
        _reassembler.ReleaseCompleted();
        _reassembler.Finish();
    }

    private bool LoopbackFamily(uint family, ReadOnlySpan<byte> p, out UdpDatagram datagram)
    {
        switch (family)
        {
            case 2:
                return IPv4(p, 0, out datagram);
            case 24: // AF_INET6 on NetBSD/OpenBSD/Linux-as-seen-by-BSD
            case 28: // FreeBSD
            case 30: // macOS
                return IPv6(p, 0, out datagram);
            default:
                datagram = default;
                return NonIp();
        }
    }

    private bool EtherType(int type, ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        // 802.1Q, 802.1ad and the pre-standard 0x9100/0x9200 QinQ tags, any number of them.
        while (type is 0x8100 or 0x88A8 or 0x9100 or 0x9200)
        {
            if (p.Length < 4)
            {
                datagram = default;
                return Short();
            }
            type = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
            p = p[4..];
        }
        switch (type)
        {
            case 0x0800:
                return IPv4(p, depth, out datagram);
            case 0x86DD:
                return IPv6(p, depth, out datagram);
            case 0x8847:
            case 0x8848:
                return Mpls(p, depth, out datagram);
            case 0x8864: // PPPoE session stage: DSL and fibre subscribers behind a BRAS/BNG
                return PppoeSession(p, depth, out datagram);
            case 0x6558 when depth < MaxNesting: // bridged Ethernet: over GRE, GENEVE
                return InnerEthernet(p, depth + 1, out datagram);
            default:
                datagram = default;
                return NonIp();
        }
    }

    /// <summary>
    /// DLT_PPP and DLT_PPP_SERIAL: the PPP protocol field, after the RFC 1662 address and control bytes
    /// (0xFF 0x03) when the capture kept them; DLT_PPP_SERIAL may also hold Cisco HDLC (RFC 1547 §4.3.1).
    /// </summary>
    private bool Ppp(ReadOnlySpan<byte> p, out UdpDatagram datagram)
    {
        if (p.Length >= 2 && p[0] == 0xFF && p[1] == 0x03) return PppProtocol(p[2..], 0, out datagram);
        if (p.Length >= 2 && p[0] is 0x0F or 0x8F && p[1] == 0) return CiscoHdlc(p, out datagram);
        return PppProtocol(p, 0, out datagram);
    }

    /// <summary>Cisco HDLC: address (0x0F unicast, 0x8F broadcast), control 0, then an EtherType.</summary>
    private bool CiscoHdlc(ReadOnlySpan<byte> p, out UdpDatagram datagram)
    {
        datagram = default;
        if (p.Length < 4) return Short();
        return EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[2..]), p[4..], 0, out datagram);
    }

    /// <summary>
    /// RFC 2516 session header: version and type (0x11), code 0, session id, and the length of the PPP
    /// frame that follows (what lies beyond it is Ethernet padding).
    /// </summary>
    private bool PppoeSession(ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        datagram = default;
        if (p.Length < 6) return Short();
        if (p[0] != 0x11 || p[1] != 0) return NonIp();
        int length = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        p = p[6..];
        return PppProtocol(length < p.Length ? p[..length] : p, depth, out datagram);
    }

    /// <summary>The PPP protocol field (RFC 1661 §2): two bytes, or one under protocol-field compression (odd first byte).</summary>
    private bool PppProtocol(ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        datagram = default;
        int width = !p.IsEmpty && (p[0] & 1) != 0 ? 1 : 2;
        if (p.Length < width) return Short();
        int protocol = width == 1 ? p[0] : BinaryPrimitives.ReadUInt16BigEndian(p);
        switch (protocol)
        {
            case 0x0021: return IPv4(p[width..], depth, out datagram);
            case 0x0057: return IPv6(p[width..], depth, out datagram);
            default: return NonIp(); // LCP, IPCP, CHAP, ... and the compressed forms of other protocols
        }
    }

    private bool Mpls(ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        for (int i = 0; ; i++)
        {
            if (p.Length < 4)
            {
                datagram = default;
                return Short();
            }
            bool bottom = (p[2] & 1) != 0;
            p = p[4..];
            if (bottom) break;
            if (i == MaxLabels)
            {
                datagram = default;
                Counters.MalformedIp++;
                return false;
            }
        }
        if (p.IsEmpty)
        {
            datagram = default;
            return Short();
        }
        // MPLS does not say what it carries; the first nibble does for IP (RFC 4928 §2).
        switch (p[0] >> 4)
        {
            case 4: return IPv4(p, depth, out datagram);
            case 6: return IPv6(p, depth, out datagram);
            default:
                datagram = default;
                return NonIp();
        }
    }

    private bool GuessIp(ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        if (p.IsEmpty)
        {
            datagram = default;
            return Short();
        }
        switch (p[0] >> 4)
        {
            case 4: return IPv4(p, depth, out datagram);
            case 6: return IPv6(p, depth, out datagram);
            default:
                datagram = default;
                Counters.MalformedIp++;
                return false;
        }
    }

    private bool IPv4(ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        datagram = default;
        if (p.Length < 20) return Short();
        int headerLength = (p[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (p[0] >> 4 != 4 || headerLength < 20 || totalLength < headerLength) return Malformed();
        if (p.Length < totalLength) return Short();
        var source = IpAddr.FromV4Bytes(p[12..]);
        var destination = IpAddr.FromV4Bytes(p[16..]);
        byte protocol = p[9];
        // Total length, not the frame, ends the packet: Ethernet pads short frames to 60 bytes.
        var payload = p[headerLength..totalLength];
        int fragment = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        if ((fragment & 0x3FFF) != 0)
        {
            Counters.Fragments++;
            uint id = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
            if (!_reassembler.Add(source, destination, id, protocol, v6: false, (fragment & 0x1FFF) * 8, (fragment & 0x2000) != 0,
                payload, protocol, _timestampNs, out payload, out protocol))
            {
                return false;
            }
        }
        return Transport(protocol, source, destination, payload, depth, out datagram);
    }

    private bool IPv6(ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        datagram = default;
        if (p.Length < 40) return Short();
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        // Payload length 0 means a jumbogram (RFC 2675), which no DHT datagram is.
        if (p[0] >> 4 != 6 || payloadLength == 0) return Malformed();
        if (p.Length < 40 + payloadLength) return Short();
        var source = IpAddr.FromV6Bytes(p[8..]);
        var destination = IpAddr.FromV6Bytes(p[24..]);
        byte next = p[6];
        var rest = p.Slice(40, payloadLength);
        for (int i = 0; i < MaxExtensionHeaders; i++)
        {
            switch (next)
            {
                case 0: // hop-by-hop options
                case 43: // routing
                case 60: // destination options
                case 135: // mobility
                case 139: // HIP
                case 140: // shim6
                {
                    if (rest.Length < 8) return Malformed();
                    int length = (rest[1] + 1) * 8;
                    if (rest.Length < length) return Malformed();
                    next = rest[0];
                    rest = rest[length..];
                    break;
                }
                case 51: // AH: length in 4-byte units minus 2 (RFC 4302 §2.2)
                {
                    if (rest.Length < 8) return Malformed();
                    int length = (rest[1] + 2) * 4;
                    if (rest.Length < length) return Malformed();
                    next = rest[0];
                    rest = rest[length..];
                    break;
                }
                case 44: // fragment
                {
                    if (rest.Length < 8) return Malformed();
                    byte fragmentNext = rest[0];
                    int field = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
                    int offset = field & 0xFFF8;
                    bool more = (field & 1) != 0;
                    uint id = BinaryPrimitives.ReadUInt32BigEndian(rest[4..]);
                    rest = rest[8..];
                    if (offset == 0 && !more)
                    {
                        // An atomic fragment (RFC 6946): the whole packet, nothing to wait for.
                        next = fragmentNext;
                        break;
                    }
                    Counters.Fragments++;
                    if (!_reassembler.Add(source, destination, id, 0, v6: true, offset, more, rest, fragmentNext, _timestampNs,
                        out rest, out next))
                    {
                        return false;
                    }
                    break;
                }
                default:
                    return Transport(next, source, destination, rest, depth, out datagram);
            }
        }
        return Malformed();
    }

    private bool Transport(byte protocol, IpAddr source, IpAddr destination, ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        switch (protocol)
        {
            case 17:
                return Udp(source, destination, p, depth, out datagram);
            case 4 when depth < MaxNesting:
                return IPv4(p, depth + 1, out datagram);
            case 41 when depth < MaxNesting:
                return IPv6(p, depth + 1, out datagram);
            case 47 when depth < MaxNesting:
                return Gre(p, depth + 1, out datagram);
            default:
                datagram = default;
                return NotUdp();
        }
    }

    private bool Gre(ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        datagram = default;
        if (p.Length < 4) return Malformed();
        int flags = BinaryPrimitives.ReadUInt16BigEndian(p);
        // Version 1 is PPTP's enhanced GRE (PPP inside); the routing bit belongs to obsolete RFC 1701 source routes.
        if ((flags & 7) != 0 || (flags & 0x4000) != 0) return NotUdp();
        int header = 4;
        if ((flags & 0x8000) != 0) header += 4; // checksum + reserved
        if ((flags & 0x2000) != 0) header += 4; // key
        if ((flags & 0x1000) != 0) header += 4; // sequence number
        if (p.Length < header) return Malformed();
        int protocol = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        p = p[header..];
        switch (protocol)
        {
            // ERSPAN, a switch port mirrored to a remote collector. Type I (0x88BE without a GRE sequence number)
            // has no header of its own; otherwise the header's version decides, under 0x88BE or 0x22EB alike as
            // in Wireshark: 1 = type II, 8 bytes; 2 = type III, 12 bytes and, with its O flag, an 8-byte
            // platform subheader.
            case 0x88BE when (flags & 0x1000) == 0:
                return InnerEthernet(p, depth, out datagram);
            case 0x88BE:
            case 0x22EB:
                if (p.Length < 8) return Malformed();
                switch (p[0] >> 4)
                {
                    case 1:
                        return InnerEthernet(p[8..], depth, out datagram);
                    case 2:
                        int erspan = p.Length >= 12 && (p[11] & 1) != 0 ? 20 : 12;
                        if (p.Length < erspan) return Malformed();
                        return InnerEthernet(p[erspan..], depth, out datagram);
                    default:
                        return NotUdp();
                }
            default:
                return EtherType(protocol, p, depth, out datagram);
        }
    }

    private bool NotUdp()
    {
        Counters.NonUdp++;
        return false;
    }

    private bool NonIp()
    {
        Counters.NonIp++;
        return false;
    }

    private bool Udp(IpAddr source, IpAddr destination, ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        datagram = default;
        if (p.Length < 8)
        {
            Counters.MalformedUdp++;
            return false;
        }
        int length = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        if (length < 8 || length > p.Length)
        {
            Counters.MalformedUdp++;
            return false;
        }
        ushort destinationPort = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        var payload = p[8..length];
        // Overlay tunnels, as cloud traffic mirroring delivers them (AWS VPC Traffic Mirroring: VXLAN; GWLB:
        // GENEVE). BitTorrent clients share one port between the DHT and uTP, and that port may be one of these:
        // KRPC starts with 'd' (0x64) and uTP with 0x01, 0x11, 0x21, 0x31 or 0x41, none of which has VXLAN's I
        // flag; GENEVE is taken only with version 0, zero reserved bits, a known protocol and options that fit,
        // and anything else stays a UDP datagram.
        if (destinationPort is VxlanPort or GenevePort && depth < MaxNesting && payload.Length >= 8)
        {
            if (destinationPort == VxlanPort && (payload[0] & 0x08) != 0)
                return InnerEthernet(payload[8..], depth + 1, out datagram);
            if (destinationPort == GenevePort && payload[0] >> 6 == 0 && (payload[1] & 0x3F) == 0)
            {
                int header = 8 + (payload[0] & 0x3F) * 4;
                int protocol = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
                if (payload.Length >= header && protocol is 0x6558 or 0x0800 or 0x86DD)
                    return EtherType(protocol, payload[header..], depth + 1, out datagram);
            }
        }
        datagram = new UdpDatagram(_frameNumber, _timestampNs, source, BinaryPrimitives.ReadUInt16BigEndian(p),
            destination, destinationPort, payload);
        Counters.UdpDatagrams++;
        return true;
    }

    private const int VxlanPort = 4789, GenevePort = 6081; // IANA: RFC 7348, RFC 8926

    private bool InnerEthernet(ReadOnlySpan<byte> p, int depth, out UdpDatagram datagram)
    {
        datagram = default;
        if (p.Length < 14) return Short();
        return EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[12..]), p[14..], depth, out datagram);
    }

    /// <summary>A header runs past the data: the snap length cut it, or the packet lies about its length.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Short()
    {
        if (_frameTruncated) Counters.Truncated++;
        else Counters.MalformedIp++;
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool Malformed()
    {
        Counters.MalformedIp++;
        return false;
    }
}
