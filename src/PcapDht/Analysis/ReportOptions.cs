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
}
