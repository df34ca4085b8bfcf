namespace PcapDht.Analysis;

public sealed record ReportOptions
{
    public int Days { get; init; } = 30;
    public DateTimeOffset? Since { get; init; }
    public DateTimeOffset? Until { get; init; }
    /// <summary><see cref="Until"/> was given as a bare date, meaning the whole day (<see cref="ReportWindow.TryParseEnd"/>).</summary>
    public bool UntilIsDay { get; init; }
    /// <summary>Rows to show; 0 or less shows all.</summary>
    public int Top { get; init; } = 20;
    /// <summary>Count IPv6 addresses per prefix of this length (64: privacy addresses rotate within a /64).</summary>
    public int? Ipv6Prefix { get; init; }
    /// <summary>Which rows the reports that can read the daily rollups read (docs/analysis.md, "Rollups or detail").</summary>
    public ReportSource Source { get; init; } = ReportSource.Auto;
}

/// <summary>What <c>asn</c>, <c>country</c>, <c>overview</c>, <c>clients</c> and <c>daily</c> read.</summary>
public enum ReportSource
{
    /// <summary>
    /// The address index for <c>asn</c> and <c>country</c> where it is current and answers the window, else the daily
    /// rollups when the database (or lake) has them, else the detail rows.
    /// </summary>
    Auto,
    /// <summary>The daily rollups (an error without them), with the detail rows of the days a window cuts.</summary>
    Rollups,
    /// <summary>The detail rows only, as before the rollups: for comparisons and benchmarks.</summary>
    Detail,
    /// <summary>
    /// The address index (Store/AddressIndex.cs) for <c>asn</c> and <c>country</c>: an error when it is not current or
    /// cannot answer the window (then Auto reads the rollups); the other reports read as with Auto.
    /// </summary>
    Index,
}
