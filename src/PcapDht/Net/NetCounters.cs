namespace PcapDht.Net;

/// <summary>
/// What a <see cref="PacketDecoder"/> saw, frame by frame. Every frame ends in exactly one <em>outcome</em>
/// counter, so <c>Frames == OutcomeTotal</c> always holds — nothing is dropped without a count:
/// <list type="bullet">
/// <item>UdpDatagrams: the frame delivered a whole UDP datagram (itself, or as the fragment that completed one);</item>
/// <item>NonIp, NonUdp, Truncated, MalformedIp, MalformedUdp, UnknownLinkTypeFrames: it carried no UDP datagram, and why;</item>
/// <item>FragmentsHeld, DuplicateFragments, MalformedFragments, OverlappingFragments, FragmentsOverLimit: an IP
/// fragment that did not complete a datagram, and what the reassembler did with it.</item>
/// </list>
/// The other counters are not outcomes: Fragments counts every fragment frame (whatever its outcome),
/// Reassembled and the ReassemblyDropped* counters count datagrams, not frames.
/// The names are stable: stores keep them as columns (<see cref="Outcomes"/>); add new ones, never rename.
/// </summary>
public sealed class NetCounters
{
    private readonly Dictionary<int, long> _unknownLinkTypes = [];

    /// <summary>Frames given to the decoder.</summary>
    public long Frames { get; internal set; }
    /// <summary>Outcome: whole UDP datagrams handed out (reassembled ones included, on the frame that completed them).</summary>
    public long UdpDatagrams { get; internal set; }
    /// <summary>Outcome: frames whose link layer carries something other than IPv4/IPv6 (ARP, LLC, ...).</summary>
    public long NonIp { get; internal set; }
    /// <summary>Outcome: IP packets that are not UDP (TCP, ICMP, ESP, ...), after tunnels and reassembly.</summary>
    public long NonUdp { get; internal set; }
    /// <summary>Outcome: frames cut by the snap length before the end of their UDP datagram (or fragment): not decoded.</summary>
    public long Truncated { get; internal set; }
    /// <summary>Outcome: impossible link or IP headers (bad version, lengths beyond the frame that is not truncated, ...).</summary>
    public long MalformedIp { get; internal set; }
    /// <summary>Outcome: UDP headers whose length field is below 8 or beyond the IP payload.</summary>
    public long MalformedUdp { get; internal set; }
    /// <summary>IP fragment frames seen (IPv4 MF/offset, IPv6 fragment header), whatever their outcome: not an outcome itself.</summary>
    public long Fragments { get; internal set; }
    /// <summary>Datagrams completed from fragments.</summary>
    public long Reassembled { get; internal set; }
    /// <summary>Outcome: fragments identical to one already held (offset, length and bytes): ignored.</summary>
    public long DuplicateFragments { get; internal set; }
    /// <summary>Datagrams abandoned because a fragment did not arrive within the timeout (capture time).</summary>
    public long ReassemblyDroppedTimeout { get; internal set; }
    /// <summary>Datagrams abandoned because fragments overlapped with different data or bounds (RFC 5722 policy).</summary>
    public long ReassemblyDroppedOverlap { get; internal set; }
    /// <summary>Datagrams abandoned to keep within the concurrent-datagram or byte limits.</summary>
    public long ReassemblyDroppedLimit { get; internal set; }
    /// <summary>Datagrams still incomplete when the capture ended (counted by <see cref="PacketDecoder.Finish"/>).</summary>
    public long ReassemblyIncompleteAtEnd { get; internal set; }
    /// <summary>Outcome: fragments that cannot be part of any datagram (length not a multiple of 8 with more-fragments, beyond 64 KiB).</summary>
    public long MalformedFragments { get; internal set; }
    /// <summary>Outcome: fragments kept for reassembly that did not (yet) complete their datagram; the datagram's fate is in
    /// <see cref="Reassembled"/> or one of the ReassemblyDropped* counters.</summary>
    public long FragmentsHeld { get; internal set; }
    /// <summary>Outcome: fragments that overlap another of their datagram (including overlaps with identical bytes that are not
    /// exact duplicates, and a second last fragment with another end), or that arrive for a datagram already abandoned for that.</summary>
    public long OverlappingFragments { get; internal set; }
    /// <summary>Outcome: fragments refused because their datagram could not get buffer space within the byte limit.</summary>
    public long FragmentsOverLimit { get; internal set; }

    public long ReassemblyDropped => ReassemblyDroppedTimeout + ReassemblyDroppedOverlap + ReassemblyDroppedLimit + ReassemblyIncompleteAtEnd;

    /// <summary>Outcome: frames of link types this decoder does not know.</summary>
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

    /// <summary>The sum of the outcome counters: equal to <see cref="Frames"/> after every call of the decoder.</summary>
    public long OutcomeTotal => Outcomes().Sum(o => o.Value);

    /// <summary>
    /// Every outcome counter under a stable snake_case name, in a fixed order (the store's column names are
    /// <see cref="Pipeline.NetCounterColumns"/>); the values add up to <see cref="Frames"/>.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, long>> Outcomes() =>
    [
        new("udp_datagrams", UdpDatagrams),
        new("non_ip", NonIp),
        new("non_udp", NonUdp),
        new("truncated", Truncated),
        new("malformed_ip", MalformedIp),
        new("malformed_udp", MalformedUdp),
        new("unknown_link_type", UnknownLinkTypeFrames),
        new("fragments_held", FragmentsHeld),
        new("duplicate_fragments", DuplicateFragments),
        new("malformed_fragments", MalformedFragments),
        new("overlapping_fragments", OverlappingFragments),
        new("fragments_over_limit", FragmentsOverLimit),
    ];

    public override string ToString() =>
        $"frames={Frames} udp={UdpDatagrams} non-ip={NonIp} non-udp={NonUdp} truncated={Truncated} malformed-ip={MalformedIp} " +
        $"malformed-udp={MalformedUdp} fragments={Fragments} reassembled={Reassembled} duplicate-fragments={DuplicateFragments} " +
        $"dropped(timeout={ReassemblyDroppedTimeout} overlap={ReassemblyDroppedOverlap} limit={ReassemblyDroppedLimit} " +
        $"incomplete={ReassemblyIncompleteAtEnd}) malformed-fragments={MalformedFragments} held={FragmentsHeld} " +
        $"overlapping={OverlappingFragments} over-limit={FragmentsOverLimit} unknown-link={UnknownLinkTypeFrames}";
}
