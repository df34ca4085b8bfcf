using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Anonymize;

/// <summary>The sum of a pseudo-header's addresses before and after mapping (what a transport checksum must follow).</summary>
internal readonly record struct PseudoSums(ushort Old, ushort New);

/// <summary>Receives a fragment the rewriter cannot finish alone (see <see cref="FragmentHold"/>).</summary>
internal interface IFragmentSink
{
    /// <param name="payloadPosition">Where the fragment's data starts in the frame's buffer.</param>
    void Add(HeldFrame frame, in FragmentKey key, int payloadPosition, int length, int offset, bool more,
        byte protocol, PseudoSums pseudo, int depth);
}

/// <summary>Identifies a fragmented datagram by its original (unmapped) addresses, as RFC 791/8200 do.</summary>
internal readonly record struct FragmentKey(bool V6, UInt128 Source, UInt128 Destination, uint Id, byte Protocol);

/// <summary>
/// Rewrites one frame in place: every IP address in every IP header it can reach (outer, tunnelled
/// and quoted in ICMP errors), in ARP, and inside KRPC payloads; fixes the IPv4 header, UDP, TCP,
/// ICMP and GRE checksums incrementally; and says how many bytes to keep. It walks the same link
/// layers and tunnels as <see cref="PacketDecoder"/> (the constants are the decoder's), but with
/// positions and write access, and it visits what the decoder skips (ICMP quotes, ARP, TCP).
/// </summary>
/// <remarks>
/// The rule that keeps it safe: what it cannot parse is not written. In a frame that is a cut of the
/// frame (as a snap length would make it); inside an ICMP quote or a KRPC payload, whose length must
/// stay, it is zeroed. Link-layer (MAC) addresses are not changed.
/// </remarks>
internal sealed class PacketRewriter
{
    private const int MaxNesting = 8;
    private const int MaxLabels = 16;
    private const int MaxExtensionHeaders = 16;
    private const int VxlanPort = 4789, GenevePort = 6081;

    private enum Scope : byte
    {
        /// <summary>Spans point into a frame: a cut shortens the frame.</summary>
        Frame,
        /// <summary>Spans point into a reassembled datagram: a cut is reported to the fragment hold.</summary>
        Reassembled,
        /// <summary>Inside an ICMP quote: lengths must stay, a cut zeroes.</summary>
        Quote,
    }

    private readonly AddressAnonymizer _mapper;
    private readonly AnonymizeOptions _options;
    private readonly AnonymizeCounters _counters;
    private readonly IFragmentSink _fragments;

    private byte[] _buffer = [];
    private HeldFrame? _frame;
    private Scope _scope;
    private int _keep;

    public PacketRewriter(AddressAnonymizer mapper, AnonymizeOptions options, AnonymizeCounters counters, IFragmentSink fragments)
    {
        _mapper = mapper;
        _options = options;
        _counters = counters;
        _fragments = fragments;
    }

    /// <summary>Rewrites the frame's bytes in place and sets <see cref="HeldFrame.Keep"/>.</summary>
    public void RewriteFrame(HeldFrame frame)
    {
        _frame = frame;
        _buffer = frame.Data;
        _scope = Scope.Frame;
        _keep = frame.Length;
        Link(frame.LinkType, frame.Data.AsSpan(0, frame.Length));
        frame.Keep = Math.Min(frame.Keep, _keep);
        _frame = null;
    }

    /// <summary>
    /// Rewrites a reassembled transport datagram (UDP header first) held in <paramref name="buffer"/>;
    /// returns how many of its bytes to keep.
    /// </summary>
    public int RewriteReassembled(byte[] buffer, int length, byte protocol, PseudoSums pseudo, bool v6, int depth)
    {
        _buffer = buffer;
        _scope = Scope.Reassembled;
        _keep = length;
        Transport(protocol, buffer.AsSpan(0, length), pseudo, v6, depth);
        return _keep;
    }

    // ---- link layers (as PacketDecoder.TryDecode) ----

    private void Link(int linkType, Span<byte> p)
    {
        switch (linkType)
        {
            case PacketDecoder.LinkEthernet:
                if (p.Length < 14) { NotParsed(p); return; }
                EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[12..]), p[14..], 0);
                return;
            case PacketDecoder.LinkLinuxSll2:
                if (p.Length < 20) { NotParsed(p); return; }
                EtherType(BinaryPrimitives.ReadUInt16BigEndian(p), p[20..], 0);
                return;
            case PacketDecoder.LinkLinuxSll:
                if (p.Length < 16) { NotParsed(p); return; }
                EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[14..]), p[16..], 0);
                return;
            case PacketDecoder.LinkRaw:
            case PacketDecoder.LinkRawOld12:
            case PacketDecoder.LinkRawOld14:
                GuessIp(p, 0);
                return;
            case PacketDecoder.LinkIPv4:
                IPv4(p, 0);
                return;
            case PacketDecoder.LinkIPv6:
                IPv6(p, 0);
                return;
            case PacketDecoder.LinkNull:
            {
                if (p.Length < 4) { NotParsed(p); return; }
                uint family = BinaryPrimitives.ReadUInt32LittleEndian(p);
                if (family > 0xFFFF) family = BinaryPrimitives.ReverseEndianness(family);
                LoopbackFamily(family, p[4..]);
                return;
            }
            case PacketDecoder.LinkLoop:
                if (p.Length < 4) { NotParsed(p); return; }
                LoopbackFamily(BinaryPrimitives.ReadUInt32BigEndian(p), p[4..]);
                return;
            case PacketDecoder.LinkPpp:
            case PacketDecoder.LinkPppHdlc:
                if (p.Length >= 2 && p[0] == 0xFF && p[1] == 0x03) PppProtocol(p[2..], 0);
                else if (p.Length >= 2 && p[0] is 0x0F or 0x8F && p[1] == 0) CiscoHdlc(p);
                else PppProtocol(p, 0);
                return;
            case PacketDecoder.LinkPppEther:
                PppoeSession(p, 0);
                return;
            case PacketDecoder.LinkCiscoHdlc:
                CiscoHdlc(p);
                return;
            default:
                NotParsed(p);
                return;
        }
    }

    private void LoopbackFamily(uint family, Span<byte> p)
    {
        switch (family)
        {
            case 2: IPv4(p, 0); return;
            case 24 or 28 or 30: IPv6(p, 0); return;
            default: NotParsed(p); return;
        }
    }

    private void EtherType(int type, Span<byte> p, int depth)
    {
        while (type is 0x8100 or 0x88A8 or 0x9100 or 0x9200)
        {
            if (p.Length < 4) { NotParsed(p); return; }
            type = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
            p = p[4..];
        }
        switch (type)
        {
            case 0x0800: IPv4(p, depth); return;
            case 0x86DD: IPv6(p, depth); return;
            case 0x0806: Arp(p); return;
            case 0x8847 or 0x8848: Mpls(p, depth); return;
            case 0x8864: PppoeSession(p, depth); return;
            case 0x6558 when depth < MaxNesting: InnerEthernet(p, depth + 1); return;
            default:
                if (!_options.KeepPayloads) NotParsed(p);
                return;
        }
    }

    private void InnerEthernet(Span<byte> p, int depth)
    {
        if (p.Length < 14) { NotParsed(p); return; }
        EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[12..]), p[14..], depth);
    }

    private void CiscoHdlc(Span<byte> p)
    {
        if (p.Length < 4) { NotParsed(p); return; }
        EtherType(BinaryPrimitives.ReadUInt16BigEndian(p[2..]), p[4..], 0);
    }

    private void PppoeSession(Span<byte> p, int depth)
    {
        if (p.Length < 6 || p[0] != 0x11 || p[1] != 0) { NotParsed(p); return; }
        int length = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        p = p[6..];
        PppProtocol(length < p.Length ? p[..length] : p, depth);
    }

    private void PppProtocol(Span<byte> p, int depth)
    {
        int width = !p.IsEmpty && (p[0] & 1) != 0 ? 1 : 2;
        if (p.Length < width) { NotParsed(p); return; }
        int protocol = width == 1 ? p[0] : BinaryPrimitives.ReadUInt16BigEndian(p);
        switch (protocol)
        {
            case 0x0021: IPv4(p[width..], depth); return;
            case 0x0057: IPv6(p[width..], depth); return;
            // IPCP and IPV6CP negotiate addresses; LCP and the rest carry nothing of interest.
            default: NotParsed(p[width..]); return;
        }
    }

    private void Mpls(Span<byte> p, int depth)
    {
        for (int i = 0; ; i++)
        {
            if (p.Length < 4 || i > MaxLabels) { NotParsed(p); return; }
            bool bottom = (p[2] & 1) != 0;
            p = p[4..];
            if (bottom) break;
        }
        GuessIp(p, depth);
    }

    private void GuessIp(Span<byte> p, int depth)
    {
        if (p.IsEmpty) return;
        switch (p[0] >> 4)
        {
            case 4: IPv4(p, depth); return;
            case 6: IPv6(p, depth); return;
            default: NotParsed(p); return;
        }
    }

    /// <summary>ARP for IPv4 over Ethernet: sender and target protocol addresses.</summary>
    private void Arp(Span<byte> p)
    {
        if (p.Length < 28 || BinaryPrimitives.ReadUInt16BigEndian(p[2..]) != 0x0800 || p[4] != 6 || p[5] != 4)
        {
            NotParsed(p);
            return;
        }
        MapV4(p.Slice(14, 4));
        MapV4(p.Slice(24, 4));
        Clear(p[28..]); // Ethernet padding
    }

    // ---- IP ----

    private void IPv4(Span<byte> p, int depth)
    {
        if (p.Length < 20 || p[0] >> 4 != 4 || (p[0] & 0x0F) < 5) { NotParsed(p); return; }
        int headerLength = (p[0] & 0x0F) * 4;
        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        if (p.Length < headerLength || totalLength < headerLength) { NotParsed(p); return; }
        var header = p[..headerLength];
        Span<byte> before = stackalloc byte[60];
        header.CopyTo(before);
        var source = IpAddr.FromV4Bytes(header[12..]);
        var destination = IpAddr.FromV4Bytes(header[16..]);
        ushort pseudoOld = Checksum.Sum(header.Slice(12, 8));
        MapV4(header.Slice(12, 4));
        MapV4(header.Slice(16, 4));
        // Options (Record Route, Source Route, Timestamp) carry addresses: each becomes a no-op.
        if (headerLength > 20) header[20..].Fill(1);
        Checksum.Update(header.Slice(10, 2), Checksum.Sum(before[..headerLength]), Checksum.Sum(header), zeroMeansNone: false);
        var pseudo = new PseudoSums(pseudoOld, Checksum.Sum(header.Slice(12, 8)));

        int end = Math.Min(totalLength, p.Length);
        if (end < p.Length) Clear(p[end..]); // Ethernet padding: whatever the sender's buffer held
        var payload = p[headerLength..end];
        byte protocol = p[9];
        int fragment = BinaryPrimitives.ReadUInt16BigEndian(p[6..]);
        if ((fragment & 0x3FFF) != 0)
        {
            int offset = (fragment & 0x1FFF) * 8;
            bool more = (fragment & 0x2000) != 0;
            var key = new FragmentKey(false, source.Value, destination.Value, BinaryPrimitives.ReadUInt16BigEndian(p[4..]), protocol);
            Fragment(key, payload, offset, more, protocol, pseudo, v6: false, complete: end == totalLength, depth);
            return;
        }
        Transport(protocol, payload, pseudo, v6: false, depth);
    }

    private void IPv6(Span<byte> p, int depth)
    {
        if (p.Length < 40 || p[0] >> 4 != 6) { NotParsed(p); return; }
        var source = IpAddr.FromV6Bytes(p[8..]);
        var destination = IpAddr.FromV6Bytes(p[24..]);
        ushort sourceOld = Checksum.Sum(p.Slice(8, 16)), destinationOld = Checksum.Sum(p.Slice(24, 16));
        MapV6(p.Slice(8, 16));
        MapV6(p.Slice(24, 16));
        ushort sourceNew = Checksum.Sum(p.Slice(8, 16)), destinationNew = Checksum.Sum(p.Slice(24, 16));
        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        if (payloadLength == 0) { NotParsed(p[40..]); return; } // jumbogram (RFC 2675): no DHT datagram is one
        int end = Math.Min(40 + payloadLength, p.Length);
        if (end < p.Length) Clear(p[end..]);
        bool complete = end == 40 + payloadLength;
        byte next = p[6];
        var rest = p[40..end];
        for (int i = 0; i < MaxExtensionHeaders; i++)
        {
            switch (next)
            {
                case 0:   // hop-by-hop options
                case 60:  // destination options: the Home Address option (RFC 6275) holds an address
                case 43:  // routing: types 0, 2 and 4 (segment routing) list addresses
                case 135: // mobility
                case 139: // HIP
                case 140: // shim6
                case 51:  // AH
                {
                    if (rest.Length < 8) { NotParsed(rest); return; }
                    int length = next == 51 ? (rest[1] + 2) * 4 : (rest[1] + 1) * 8;
                    if (rest.Length < length) { NotParsed(rest); return; }
                    var extension = rest[..length];
                    if (next is 0 or 60 && !Options(extension)) { NotParsed(rest); return; }
                    if (next == 43)
                    {
                        if (extension[2] == 3) { NotParsed(rest); return; } // RPL: compressed addresses (RFC 6554)
                        var final = Routing(extension);
                        if (!final.IsEmpty && extension[3] != 0)
                        {
                            // Segments left: the pseudo-header's destination is the final one (RFC 8200 §8.1).
                            destinationOld = _finalDestinationOld;
                            destinationNew = Checksum.Sum(final);
                        }
                    }
                    if (next is 135 or 139 or 140) { NotParsed(rest); return; } // no UDP follows these in practice
                    next = rest[0];
                    rest = rest[length..];
                    break;
                }
                case 44: // fragment
                {
                    if (rest.Length < 8) { NotParsed(rest); return; }
                    byte fragmentNext = rest[0];
                    int field = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
                    int offset = field & 0xFFF8;
                    bool more = (field & 1) != 0;
                    uint id = BinaryPrimitives.ReadUInt32BigEndian(rest[4..]);
                    rest = rest[8..];
                    if (offset == 0 && !more)
                    {
                        next = fragmentNext; // atomic fragment (RFC 6946)
                        break;
                    }
                    var key = new FragmentKey(true, source.Value, destination.Value, id, 0);
                    Fragment(key, rest, offset, more, fragmentNext,
                        new PseudoSums(Checksum.Add(sourceOld, destinationOld), Checksum.Add(sourceNew, destinationNew)), v6: true, complete, depth);
                    return;
                }
                case 50: // ESP: SPI and sequence number, then ciphertext
                    NotParsed(rest[Math.Min(8, rest.Length)..]);
                    return;
                default:
                    Transport(next, rest, new PseudoSums(Checksum.Add(sourceOld, destinationOld), Checksum.Add(sourceNew, destinationNew)), v6: true, depth);
                    return;
            }
        }
        NotParsed(rest);
    }

    private ushort _finalDestinationOld;

    /// <summary>Maps the addresses of a routing header; returns the final destination when it lists one.</summary>
    private Span<byte> Routing(Span<byte> header)
    {
        int type = header[2];
        int count = type switch
        {
            0 => header[1] / 2,                                  // RFC 2460 type 0 (deprecated)
            2 => 1,                                              // RFC 6275 type 2: the home address
            4 => Math.Min(header[4] + 1, (header.Length - 8) / 16), // RFC 8754 SRH: segment list, last entry + 1
            _ => 0,
        };
        if (count == 0 || header.Length < 8 + count * 16) return [];
        var final = type == 4 ? header.Slice(8, 16) : header.Slice(8 + (count - 1) * 16, 16);
        _finalDestinationOld = Checksum.Sum(final);
        for (int i = 0; i < count; i++) MapV6(header.Slice(8 + i * 16, 16));
        return final;
    }

    /// <summary>Hop-by-hop and destination options: maps a Home Address option; false when the TLVs do not fit.</summary>
    private bool Options(Span<byte> header)
    {
        var tlv = header[2..];
        while (!tlv.IsEmpty)
        {
            if (tlv[0] == 0) { tlv = tlv[1..]; continue; } // Pad1
            if (tlv.Length < 2 || tlv.Length < 2 + tlv[1]) return false;
            if (tlv[0] == 0xC9 && tlv[1] == 16) MapV6(tlv.Slice(2, 16));
            tlv = tlv[(2 + tlv[1])..];
        }
        return true;
    }

    private void Fragment(in FragmentKey key, Span<byte> payload, int offset, bool more, byte protocol, PseudoSums pseudo,
        bool v6, bool complete, int depth)
    {
        // Only a whole fragment in a frame can be put together with its siblings; a quoted or cut one is
        // read as far as it goes (a first fragment's transport header) and the rest dropped.
        bool malformed = (more && payload.Length % 8 != 0) || offset + payload.Length > 65535;
        if (_scope == Scope.Frame && complete && !malformed && _frame != null)
        {
            _fragments.Add(_frame, key, Position(payload), payload.Length, offset, more, protocol, pseudo, depth);
            return;
        }
        if (offset == 0 && _scope == Scope.Quote) Transport(protocol, payload, pseudo, v6, depth);
        else Cut(payload);
    }

    // ---- transport ----

    private void Transport(byte protocol, Span<byte> p, PseudoSums pseudo, bool v6, int depth)
    {
        switch (protocol)
        {
            case 17: Udp(p, pseudo, v6, depth); return;
            case 6: Tcp(p, pseudo); return;
            case 1: Icmp(p, new PseudoSums(0, 0), v6: false, depth); return;
            case 58: Icmp(p, pseudo, v6: true, depth); return;
            case 4 when depth < MaxNesting: IPv4(p, depth + 1); return;
            case 41 when depth < MaxNesting: IPv6(p, depth + 1); return;
            case 47 when depth < MaxNesting: Gre(p, depth + 1); return;
            default:
                if (!_options.KeepPayloads) Cut(p[Math.Min(_options.PayloadBytes, p.Length)..]);
                return;
        }
    }

    private void Udp(Span<byte> p, PseudoSums pseudo, bool v6, int depth)
    {
        if (p.Length < 8) { NotParsed(p); return; }
        int length = BinaryPrimitives.ReadUInt16BigEndian(p[4..]);
        if (length < 8) { NotParsed(p[8..]); return; }
        var datagram = p[..Math.Min(length, p.Length)];
        byte[] before = ArrayPool<byte>.Shared.Rent(datagram.Length);
        datagram.CopyTo(before);
        ushort destinationPort = BinaryPrimitives.ReadUInt16BigEndian(datagram[2..]);
        var payload = datagram[8..];
        if (!Tunnel(destinationPort, payload, depth)) Payload(payload);
        ushort oldSum = Checksum.Add(pseudo.Old, Checksum.Sum(before.AsSpan(0, datagram.Length)));
        ushort newSum = Checksum.Add(pseudo.New, Checksum.Sum(datagram));
        Checksum.Update(datagram.Slice(6, 2), oldSum, newSum, zeroMeansNone: !v6);
        ArrayPool<byte>.Shared.Return(before);
        if (datagram.Length < p.Length) NotParsed(p[datagram.Length..]); // bytes beyond the UDP length
    }

    /// <summary>VXLAN and GENEVE, by the decoder's rules; true when the payload was an overlay and was walked.</summary>
    private bool Tunnel(ushort destinationPort, Span<byte> payload, int depth)
    {
        if (destinationPort is not (VxlanPort or GenevePort) || depth >= MaxNesting || payload.Length < 8) return false;
        if (destinationPort == VxlanPort && (payload[0] & 0x08) != 0)
        {
            InnerEthernet(payload[8..], depth + 1);
            return true;
        }
        if (destinationPort == GenevePort && payload[0] >> 6 == 0 && (payload[1] & 0x3F) == 0)
        {
            int header = 8 + (payload[0] & 0x3F) * 4;
            int protocol = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
            if (payload.Length >= header && protocol is 0x6558 or 0x0800 or 0x86DD)
            {
                EtherType(protocol, payload[header..], depth + 1);
                return true;
            }
        }
        return false;
    }

    /// <summary>A UDP payload: KRPC has its addresses rewritten and keeps its length; anything else is cut.</summary>
    private void Payload(Span<byte> payload)
    {
        if (KrpcDecoder.Decode(payload, out _, out _) == KrpcDecodeResult.NotKrpc)
        {
            if (!_options.KeepPayloads && payload.Length > _options.PayloadBytes)
            {
                Cut(payload[_options.PayloadBytes..]);
                _counters.OtherPayloadsCut++;
            }
            return;
        }
        _counters.KrpcPayloads++;
        KrpcAddressRewriter.Rewrite(payload, _mapper, _counters);
    }

    private void Tcp(Span<byte> p, PseudoSums pseudo)
    {
        if (p.Length < 20) { NotParsed(p); return; }
        // Only the pseudo-header changed: the data's sum is the same before and after.
        Checksum.Update(p.Slice(16, 2), pseudo.Old, pseudo.New, zeroMeansNone: false);
        int header = Math.Clamp((p[12] >> 4) * 4, 20, p.Length);
        if (!_options.KeepPayloads) Cut(p[Math.Min(header + _options.PayloadBytes, p.Length)..]);
    }

    private void Icmp(Span<byte> p, PseudoSums pseudo, bool v6, int depth)
    {
        if (p.Length < 8) { NotParsed(p); return; }
        byte[] before = ArrayPool<byte>.Shared.Rent(p.Length);
        p.CopyTo(before);
        int type = p[0];
        bool error = v6 ? type is >= 1 and <= 4 : type is 3 or 4 or 5 or 11 or 12;
        if (error)
        {
            if (!v6 && type == 5) MapV4(p.Slice(4, 4)); // redirect: the gateway
            Quote(p[8..], depth);
        }
        else if (v6 ? type is 128 or 129 : type is 0 or 8)
        {
            if (!_options.KeepPayloads) Cut(p[Math.Min(8 + _options.PayloadBytes, p.Length)..]);
        }
        else if (v6 && type is 130 or 131 or 132 or 135 or 136 && p.Length >= 24)
        {
            // MLD: multicast address; neighbour solicitation/advertisement: target. Options (link-layer addresses) go.
            MapV6(p.Slice(8, 16));
            NotParsed(p[24..]);
        }
        else if (v6 && type == 137 && p.Length >= 40)
        {
            MapV6(p.Slice(8, 16));  // redirect: target
            MapV6(p.Slice(24, 16)); // and destination
            NotParsed(p[40..]);
        }
        else
        {
            NotParsed(p[8..]); // router advertisements (prefixes), MLDv2 reports, timestamps, ...
        }
        Checksum.Update(p.Slice(2, 2), Checksum.Add(pseudo.Old, Checksum.Sum(before.AsSpan(0, p.Length))),
            Checksum.Add(pseudo.New, Checksum.Sum(p)), zeroMeansNone: false);
        ArrayPool<byte>.Shared.Return(before);
    }

    /// <summary>The packet an ICMP error quotes: rewritten like any other, but nothing may change length.</summary>
    private void Quote(Span<byte> p, int depth)
    {
        if (depth >= MaxNesting) { Cut(p); return; }
        var saved = _scope;
        if (saved == Scope.Frame) _scope = Scope.Quote;
        // A quote inside a reassembled datagram must not report cuts to the hold: zero it as well.
        if (saved == Scope.Reassembled) _scope = Scope.Quote;
        GuessIp(p, depth + 1);
        _scope = saved;
    }

    private void Gre(Span<byte> p, int depth)
    {
        if (p.Length < 4) { NotParsed(p); return; }
        int flags = BinaryPrimitives.ReadUInt16BigEndian(p);
        if ((flags & 7) != 0 || (flags & 0x4000) != 0) { NotParsed(p[4..]); return; }
        int header = 4;
        bool checksum = (flags & 0x8000) != 0;
        if (checksum) header += 4;
        if ((flags & 0x2000) != 0) header += 4;
        if ((flags & 0x1000) != 0) header += 4;
        if (p.Length < header) { NotParsed(p); return; }
        byte[]? before = null;
        if (checksum)
        {
            before = ArrayPool<byte>.Shared.Rent(p.Length);
            p.CopyTo(before);
        }
        int protocol = BinaryPrimitives.ReadUInt16BigEndian(p[2..]);
        var inner = p[header..];
        switch (protocol)
        {
            case 0x88BE when (flags & 0x1000) == 0:
                InnerEthernet(inner, depth);
                break;
            case 0x88BE:
            case 0x22EB:
                if (inner.Length < 8) { NotParsed(inner); break; }
                switch (inner[0] >> 4)
                {
                    case 1:
                        InnerEthernet(inner[8..], depth);
                        break;
                    case 2:
                        int erspan = inner.Length >= 12 && (inner[11] & 1) != 0 ? 20 : 12;
                        if (inner.Length < erspan) NotParsed(inner);
                        else InnerEthernet(inner[erspan..], depth);
                        break;
                    default:
                        NotParsed(inner);
                        break;
                }
                break;
            default:
                EtherType(protocol, inner, depth);
                break;
        }
        if (before != null)
        {
            Checksum.Update(p.Slice(4, 2), Checksum.Sum(before.AsSpan(0, p.Length)), Checksum.Sum(p), zeroMeansNone: false);
            ArrayPool<byte>.Shared.Return(before);
        }
    }

    // ---- mapping and cutting ----

    private void MapV4(Span<byte> four)
    {
        _mapper.MapV4InPlace(four);
        _counters.AddressesMapped++;
    }

    private void MapV6(Span<byte> sixteen)
    {
        _mapper.MapV6InPlace(sixteen);
        _counters.AddressesMapped++;
    }

    /// <summary>Something the rewriter cannot read: not written (cut, or zeroed where the length must stay).</summary>
    private void NotParsed(Span<byte> rest)
    {
        if (rest.IsEmpty) return;
        if (_scope == Scope.Frame && Position(rest) < _keep && _frame != null) _frame.NotParsed = true;
        Cut(rest);
    }

    /// <summary>Drops <paramref name="rest"/> (which runs to the end of its packet).</summary>
    private void Cut(Span<byte> rest)
    {
        if (rest.IsEmpty) return;
        if (_scope == Scope.Quote) Clear(rest);
        else _keep = Math.Min(_keep, Position(rest));
    }

    private static void Clear(Span<byte> bytes) => bytes.Clear();

    /// <summary>Where <paramref name="span"/> starts in the buffer being rewritten.</summary>
    private int Position(Span<byte> span) =>
        (int)Unsafe.ByteOffset(ref MemoryMarshal.GetArrayDataReference(_buffer), ref MemoryMarshal.GetReference(span));
}
