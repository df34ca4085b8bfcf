using PcapDht.Net;

namespace PcapDht.Pipeline;

/// <summary>
/// The network-level counters stored per capture, one <c>captures</c> column each (docs/schema.md lists
/// them): every frame's outcome as <see cref="NetCounters"/> counts it, plus the reassembly counters. The
/// column names live here only; the schema, the capture-row update and the views are generated from this list.
/// </summary>
public static class NetCounterColumns
{
    /// <summary>(column, value) in column order.</summary>
    public static readonly IReadOnlyList<(string Column, Func<NetCounters, long> Value)> All =
    [
        ("non_ip_frames", c => c.NonIp),
        ("non_udp_packets", c => c.NonUdp),
        ("truncated_frames", c => c.Truncated),
        ("malformed_ip", c => c.MalformedIp),
        ("malformed_udp", c => c.MalformedUdp),
        ("unknown_link_type_frames", c => c.UnknownLinkTypeFrames),
        ("ip_fragments", c => c.Fragments),
        ("reassembled_datagrams", c => c.Reassembled),
        ("duplicate_fragments", c => c.DuplicateFragments),
        ("malformed_fragments", c => c.MalformedFragments),
        ("reassembly_dropped_timeout", c => c.ReassemblyDroppedTimeout),
        ("reassembly_dropped_overlap", c => c.ReassemblyDroppedOverlap),
        ("reassembly_dropped_limit", c => c.ReassemblyDroppedLimit),
        ("reassembly_incomplete_at_end", c => c.ReassemblyIncompleteAtEnd),
        // The fragment outcomes: with the frame outcomes above and udp_datagrams, every frame in exactly one.
        ("fragments_held", c => c.FragmentsHeld),
        ("overlapping_fragments", c => c.OverlappingFragments),
        ("fragments_over_limit", c => c.FragmentsOverLimit),
    ];

    /// <summary>
    /// Frames pcapdht could not look into: of a link type it does not decode, or whose link layer carries a
    /// protocol other than IPv4/IPv6 (ARP, LLDP, MACsec, ...). Stored as <c>unsupported_frames</c>.
    /// </summary>
    public static long Unsupported(NetCounters c) => c.UnknownLinkTypeFrames + c.NonIp;

    /// <summary>The values of <see cref="All"/> now.</summary>
    public static long[] Snapshot(NetCounters c)
    {
        var v = new long[All.Count];
        for (int i = 0; i < v.Length; i++) v[i] = All[i].Value(c);
        return v;
    }
}

/// <summary>libpcap's names of link types (LINKTYPE_/DLT_ values, as tcpdump -L prints them).</summary>
public static class LinkTypeNames
{
    private static readonly Dictionary<int, string> Names = new()
    {
        [0] = "NULL", [1] = "EN10MB", [6] = "IEEE802", [9] = "PPP", [10] = "FDDI", [12] = "RAW", [14] = "RAW",
        [50] = "PPP_SERIAL", [51] = "PPP_ETHER", [101] = "RAW", [104] = "C_HDLC", [105] = "IEEE802_11", [108] = "LOOP",
        [113] = "LINUX_SLL", [119] = "PRISM_HEADER", [127] = "IEEE802_11_RADIO", [163] = "IEEE802_11_RADIO_AVS",
        [187] = "BLUETOOTH_HCI_H4", [189] = "USB_LINUX", [192] = "PPI", [195] = "IEEE802_15_4", [201] = "BLUETOOTH_HCI_H4_WITH_PHDR",
        [220] = "USB_LINUX_MMAPPED", [228] = "IPV4", [229] = "IPV6", [249] = "NETLINK", [276] = "LINUX_SLL2",
    };

    /// <summary>The name of a link type ("EN10MB"); USER0-15 for 147-162; "LINKTYPE_n" when unknown.</summary>
    public static string Name(int linkType) =>
        Names.TryGetValue(linkType, out var n) ? n
        : linkType is >= 147 and <= 162 ? "USER" + (linkType - 147)
        : "LINKTYPE_" + linkType;

    /// <summary>"1:EN10MB,113:LINUX_SLL": the link types of a capture, in ascending order.</summary>
    public static string Format(IEnumerable<int> linkTypes) =>
        string.Join(',', linkTypes.Order().Select(t => $"{t}:{Name(t)}"));
}
