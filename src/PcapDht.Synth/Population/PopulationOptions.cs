namespace PcapDht.Synth.Population;

/// <summary>
/// What the population scenario generates (docs/synth.md, "Population scenario"): one observer's lookups
/// in a DHT of exactly <see cref="Population"/> nodes, plus nodes that visit it on some days, Sybil
/// addresses, endpoints that change their id and id clusters around info-hashes. Equal options (and
/// ranges) give a byte-identical capture.
/// </summary>
public sealed record PopulationOptions
{
    public ulong Seed { get; init; } = 1;

    /// <summary>Nodes in the DHT (exactly this many random ids).</summary>
    public int Population { get; init; } = 100_000;

    /// <summary>Lookups the observer runs (find_node and get_peers, random targets).</summary>
    public int Lookups { get; init; } = 300;

    /// <summary>Share of lookups cut short before they converge (after a random number of rounds).</summary>
    public double EarlyStopShare { get; init; } = 0.2;

    /// <summary>Probability that a query of a lookup is never answered.</summary>
    public double Timeout { get; init; } = 0.15;

    /// <summary>Days of traffic, ending at <see cref="End"/>; lookups are spread evenly over them.</summary>
    public int Days { get; init; } = 1;

    /// <summary>Timestamp the capture ends before (fixed, never the clock).</summary>
    public DateTimeOffset End { get; init; } = new(2026, 9, 30, 12, 0, 0, TimeSpan.Zero);

    public SynthFormat Format { get; init; } = SynthFormat.Pcap;

    /// <summary>Nodes that ping the observer on some of the days between their first and last day (churn).</summary>
    public int Visitors { get; init; }

    /// <summary>Addresses that announce 9 to 30 node ids each (over BEP 42's bound of 8).</summary>
    public int SybilAddresses { get; init; }

    /// <summary>Endpoints (address and port) that use 2 or 3 ids one after the other.</summary>
    public int IdChangers { get; init; }

    /// <summary>Clusters of 3 to 5 ids sharing their first 48 bits with an info-hash, each id on its own address.</summary>
    public int PrefixClusters { get; init; }

    /// <summary>
    /// Count the per-address ground truth (Sybil, BEP 42, churn). Off for benchmark captures of millions of
    /// sightings, where those sets would cost gigabytes; lookups, frames and messages are always counted.
    /// </summary>
    public bool DetailedTruth { get; init; } = true;

    /// <summary>Free text recorded in the ground truth (the range file names).</summary>
    public string RangesLabel { get; init; } = "";

    public void Validate()
    {
        if (Population < IdPopulation.BucketSize * 2) throw new ArgumentException("--population must be at least 16");
        if (Lookups < 0 || Visitors < 0 || SybilAddresses < 0 || IdChangers < 0 || PrefixClusters < 0)
            throw new ArgumentException("counts must not be negative");
        if (EarlyStopShare is < 0 or > 1 || Timeout is < 0 or > 0.9)
            throw new ArgumentException("--early-stop must be between 0 and 1, the timeout share between 0 and 0.9");
        if (Days < 1 || Days > 3650) throw new ArgumentException("--days must be between 1 and 3650");
        if (End.ToUnixTimeSeconds() - (long)Days * 86400 < 0) throw new ArgumentException("the capture would start before 1970");
    }
}
