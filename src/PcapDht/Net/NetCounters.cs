namespace PcapDht.Net;

/// <summary>
/// What a <see cref="PacketDecoder"/> saw, frame by frame. Every frame lands in exactly one of
/// UdpDatagrams (or Fragments when it only fed the reassembler), NonIp, NonUdp, Truncated,
/// MalformedIp, MalformedUdp or UnknownLinkTypeFrames — nothing is dropped without a count.
/// </summary>
public sealed class NetCounters
{
    private readonly Dictionary<int, long> _unknownLinkTypes = [];

    public long Frames { get; internal set; }
    /// <summary>Whole UDP datagrams handed out (reassembled ones included).</summary>
    public long UdpDatagrams { get; internal set; }
    /// <summary>Frames whose link layer carries something other than IPv4/IPv6 (ARP, LLC, ...).</summary>
    public long NonIp { get; internal set; }
    /// <summary>IP packets that are not UDP (TCP, ICMP, ESP, ...), after tunnels and reassembly.</summary>
    public long NonUdp { get; internal set; }
    /// <summary>Frames cut by the snap length before the end of their UDP datagram (or fragment): not decoded.</summary>
    public long Truncated { get; internal set; }
    /// <summary>Impossible link or IP headers (bad version, lengths beyond the frame that is not truncated, ...).</summary>
    public long MalformedIp { get; internal set; }
    /// <summary>UDP headers whose length field is below 8 or beyond the IP payload.</summary>
    public long MalformedUdp { get; internal set; }
    /// <summary>IP fragments seen (IPv4 MF/offset, IPv6 fragment header).</summary>
    public long Fragments { get; internal set; }
    /// <summary>Datagrams completed from fragments.</summary>
    public long Reassembled { get; internal set; }
    /// <summary>Fragments identical to one already held: ignored.</summary>
    public long DuplicateFragments { get; internal set; }
    /// <summary>Datagrams abandoned because a fragment did not arrive within the timeout (capture time).</summary>
    public long ReassemblyDroppedTimeout { get; internal set; }
    /// <summary>Datagrams abandoned because fragments overlapped with different data or bounds (RFC 5722 policy).</summary>
    public long ReassemblyDroppedOverlap { get; internal set; }
    /// <summary>Datagrams abandoned to keep within the concurrent-datagram or byte limits.</summary>
    public long ReassemblyDroppedLimit { get; internal set; }
    /// <summary>Datagrams still incomplete when the capture ended (counted by <see cref="PacketDecoder.Finish"/>).</summary>
    public long ReassemblyIncompleteAtEnd { get; internal set; }
    /// <summary>Fragments that cannot be part of any datagram (odd length with more-fragments, beyond 64 KiB).</summary>
    public long MalformedFragments { get; internal set; }

    public long ReassemblyDropped => ReassemblyDroppedTimeout + ReassemblyDroppedOverlap + ReassemblyDroppedLimit + ReassemblyIncompleteAtEnd;

    /// <summary>Frames of link types this decoder does not know.</summary>
    public long UnknownLinkTypeFrames { get; internal set; }

    /// <summary>Unknown link type → frames of it.</summary>
    public IReadOnlyDictionary<int, long> UnknownLinkTypes => _unknownLinkTypes;

    /// <summary>True the first time this link type is seen (so callers report it once).</summary>
    internal bool CountUnknownLinkType(int linkType)
    {
        UnknownLinkTypeFrames++;
        ref long n = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_unknownLinkTypes, linkType, out bool existed);
        n++;
        return !existed;
    }

    public override string ToString() =>
        $"frames={Frames} udp={UdpDatagrams} non-ip={NonIp} non-udp={NonUdp} truncated={Truncated} malformed-ip={MalformedIp} " +
        $"malformed-udp={MalformedUdp} fragments={Fragments} reassembled={Reassembled} duplicate-fragments={DuplicateFragments} " +
        $"dropped(timeout={ReassemblyDroppedTimeout} overlap={ReassemblyDroppedOverlap} limit={ReassemblyDroppedLimit} " +
        $"incomplete={ReassemblyIncompleteAtEnd}) malformed-fragments={MalformedFragments} unknown-link={UnknownLinkTypeFrames}";
}
