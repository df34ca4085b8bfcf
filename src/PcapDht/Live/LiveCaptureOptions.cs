namespace PcapDht.Live;

/// <summary>Everything <c>pcapdht sniff</c> can be told; defaults are the documented ones (docs/sniff.md).</summary>
public sealed class LiveCaptureOptions
{
    /// <summary>
    /// UDP over IPv4 and IPv6, plus the non-first IP fragments that carry no UDP header (an IPv4 fragment
    /// offset != 0, or an IPv6 packet whose first next-header is Fragment, 44) so big KRPC responses still
    /// reassemble. IPv6 fragments behind other extension headers are not matched: BPF cannot walk the chain.
    /// The same again inside PPPoE sessions (DSL and fibre access links); <c>pppoes</c> moves the offsets for
    /// the rest of the expression, so it comes last.
    /// </summary>
    public const string DefaultFilter = UdpAndFragments + " or (pppoes and (" + UdpAndFragments + "))";

    private const string UdpAndFragments = "udp or (ip and ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44)";

    public const int DefaultSnaplen = 65535;
    /// <summary>libpcap's own default is 2 MiB, under a second at 200k packets/s of DHT traffic.</summary>
    public const int DefaultBufferSize = 64 << 20;
    public const int DefaultQueueBytes = 32 << 20;
    public static readonly TimeSpan DefaultFlushInterval = TimeSpan.FromSeconds(5);

    public required string Interface { get; init; }
    public string Filter { get; init; } = DefaultFilter;
    public bool Promiscuous { get; init; }
    public int Snaplen { get; init; } = DefaultSnaplen;
    public int BufferSize { get; init; } = DefaultBufferSize;
    /// <summary>Bytes of pooled buffers between the capture thread and the decode thread.</summary>
    public int QueueBytes { get; init; } = DefaultQueueBytes;
    /// <summary>Stop after this long (zero: until stopped).</summary>
    public TimeSpan Duration { get; init; }
    /// <summary>Stop after this many captured frames (0: no limit).</summary>
    public long PacketLimit { get; init; }
    public TimeSpan FlushInterval { get; init; } = DefaultFlushInterval;
    public string? WritePcapDirectory { get; init; }
    public long RotateBytes { get; init; }
    public TimeSpan RotateInterval { get; init; }
}
