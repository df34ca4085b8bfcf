namespace PcapDht.Synth;

/// <summary>What to generate. Equal options (and equal ranges) give a byte-identical capture.</summary>
public sealed record SynthOptions
{
    public ulong Seed { get; init; } = 1;

    /// <summary>Exact number of frames to write (used unless <see cref="Messages"/> is set).</summary>
    public long Packets { get; init; } = 100_000;

    /// <summary>Exact number of well-formed KRPC messages to write; noise frames come on top.</summary>
    public long? Messages { get; init; }

    /// <summary>Days of traffic; the capture ends at <see cref="End"/>.</summary>
    public int Days { get; init; } = 42;

    /// <summary>Timestamp of the newest KRPC message (the last response). Fixed, never the clock.</summary>
    public DateTimeOffset End { get; init; } = new(2026, 9, 30, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The report window the ground truth is computed for ("last N days").</summary>
    public int WindowDays { get; init; } = 30;

    public SynthFormat Format { get; init; } = SynthFormat.Pcap;

    /// <summary>Share of exchanges over IPv6 (when the ranges hold both families).</summary>
    public double Ipv6Share { get; init; } = 0.25;

    /// <summary>Share of remote get_peers responses whose `values` list exceeds the MTU (IP-fragmented).</summary>
    public double FragmentShare { get; init; } = 0.01;

    /// <summary>Share of events that are malformed KRPC (truncated bencode, missing `t`).</summary>
    public double MalformedShare { get; init; } = 0.005;

    /// <summary>Zipf exponent of the ISP mix: the AS of rank r gets weight 1/r^s.</summary>
    public double ZipfExponent { get; init; } = 1.1;

    /// <summary>
    /// Number of remote DHT nodes (the address pool); 0 picks one from the target size. Node lists draw uniformly
    /// from the pool, so a pool of N with many times N node-list entries shows nearly N distinct addresses, spread
    /// evenly over <see cref="Days"/> (the rollup benchmark's store, docs/benchmarks.md).
    /// </summary>
    public int Nodes { get; init; }

    /// <summary>Optional country ranges: the ground truth then also counts per country.</summary>
    public CountryRangeTable? Countries { get; init; }

    /// <summary>Free text recorded in the ground truth (the country range file names).</summary>
    public string CountriesLabel { get; init; } = "";

    /// <summary>Free text recorded in the ground truth (e.g. the range file names).</summary>
    public string RangesLabel { get; init; } = "";

    /// <summary>The largest pool: 20-byte ids of every node live in one array.</summary>
    public const int MaxNodes = 50_000_000;

    public void Validate()
    {
        if (Messages is { } m && m < 50) throw new ArgumentException("--messages must be at least 50");
        if (Messages is null && Packets < 100) throw new ArgumentException("--packets must be at least 100");
        if (Nodes is < 0 or > MaxNodes) throw new ArgumentException($"--nodes must be between 1 and {MaxNodes}");
        if (Days < 1 || Days > 3650) throw new ArgumentException("--days must be between 1 and 3650");
        if (WindowDays < 1) throw new ArgumentException("the window must be at least one day");
        if (Ipv6Share is < 0 or > 1 || FragmentShare is < 0 or > 1 || MalformedShare is < 0 or > 0.5)
            throw new ArgumentException("shares must be between 0 and 1 (malformed at most 0.5)");
        if (End.ToUnixTimeMilliseconds() / 1000 - (long)Days * 86400 < 0)
            throw new ArgumentException("the capture would start before 1970");
    }
}
