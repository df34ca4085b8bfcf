namespace PcapDht.Capture;

/// <summary>Container format of a capture, detected from its magic bytes.</summary>
public enum CaptureFormat
{
    /// <summary>Classic libpcap, microsecond timestamps.</summary>
    Pcap,
    /// <summary>Classic libpcap, nanosecond timestamps (magic a1b23c4d).</summary>
    PcapNanosecond,
    /// <summary>Kuznetzov's patched libpcap (magic a1b2cd34): 8 extra bytes per record header.</summary>
    PcapModified,
    PcapNg,
}

/// <summary>Compression wrapped around the capture, detected from its magic bytes.</summary>
public enum CaptureCompression
{
    None,
    Gzip,
    Zstd,
}
