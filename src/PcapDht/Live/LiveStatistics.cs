namespace PcapDht.Live;

/// <summary>Why a live session ended.</summary>
public enum LiveStopReason
{
    /// <summary>Ctrl-C, SIGTERM or <see cref="LiveSession.Stop"/>.</summary>
    Stopped,
    Duration,
    PacketLimit,
    /// <summary>libpcap reported an error while reading (interface gone, ...).</summary>
    Error,
}

/// <summary>
/// Counters of a live session at one moment. Pcap* are libpcap's pcap_stats: Received counts what the
/// kernel delivered to the socket (including what it then dropped), Dropped what the kernel ring had no
/// room for, InterfaceDropped what the NIC/driver dropped before the kernel saw it.
/// </summary>
public readonly record struct LiveStatistics(
    long Frames,
    long Bytes,
    long PcapReceived,
    long PcapDropped,
    long InterfaceDropped,
    long QueueWaits);
