using System.ComponentModel;
using PcapDht.Analysis;
using PcapDht.Charts;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

/// <summary>`report size`: the common report options plus --by and --min-lookups.</summary>
public sealed class ReportSizeSettings : ReportSettings
{
    [CommandOption("--by <GROUPING>")]
    [Description("window (default): one estimate per address family; day: per UTC day; lookup: every lookup and why it was used or not.")]
    public string? By { get; init; }

    [CommandOption("--min-lookups <N>")]
    [Description("Converged lookups needed per estimate, 20 or more (default 20). With fewer there is no number (exit code 7).")]
    public int? MinLookups { get; init; }

    public override ValidationResult Validate()
    {
        if (By is not (null or "window" or "day" or "lookup")) return ValidationResult.Error("--by must be window, day or lookup");
        if (MinLookups < SizeEstimator.MinimumLookups)
            return ValidationResult.Error($"--min-lookups must be at least {SizeEstimator.MinimumLookups}: with fewer lookups the interval of a median is not trustworthy");
        return base.Validate();
    }

    internal SizeOptions ToSizeOptions() => new()
    {
        By = By switch { "day" => SizeGrouping.Day, "lookup" => SizeGrouping.Lookup, _ => SizeGrouping.Window },
        MinimumLookups = MinLookups ?? SizeEstimator.MinimumLookups,
    };
}

public sealed class ReportSizeCommand : Command<ReportSizeSettings>
{
    public override int Execute(CommandContext context, ReportSizeSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report size", settings, (db, o) => Reports.Size(db, o, settings.ToSizeOptions()));
}

/// <summary>`report ip`: addresses as arguments, or --asn with --top.</summary>
public sealed class ReportIpSettings : ReportSettings
{
    [CommandArgument(0, "[ADDRESS]")]
    [Description("IPv4 or IPv6 addresses to profile.")]
    public string[] Addresses { get; init; } = [];

    [CommandOption("--asn <N>")]
    [Description("List the most active addresses of this AS number instead (with --top).")]
    public uint? Asn { get; init; }

    public override ValidationResult Validate()
    {
        if (Addresses.Length == 0 && Asn is null) return ValidationResult.Error("give one or more addresses, or --asn N");
        if (Addresses.Length > 0 && Asn is not null) return ValidationResult.Error("give addresses or --asn, not both");
        foreach (var a in Addresses)
            if (!System.Net.IPAddress.TryParse(a, out _)) return ValidationResult.Error($"'{a}' is not an IPv4 or IPv6 address");
        return base.Validate();
    }

    internal IReadOnlyList<Net.IpAddr> ParsedAddresses() => Addresses.Select(Net.IpAddr.Parse).Distinct().ToList();
}

public sealed class ReportIpCommand : Command<ReportIpSettings>
{
    public override int Execute(CommandContext context, ReportIpSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report ip", settings, (db, o) => Reports.Ip(db, o, settings.ParsedAddresses(), settings.Asn));
}

/// <summary>`report sybil` and `report bep42`: the common options plus --by.</summary>
public sealed class ReportGroupedSettings : ReportSettings
{
    [CommandOption("--by <GROUPING>")]
    [Description("sybil: address (default) or asn; bep42: client (default) or asn.")]
    public string? By { get; init; }

    public override ValidationResult Validate()
    {
        if (By is not (null or "address" or "asn" or "client")) return ValidationResult.Error("--by must be address, asn or client");
        return base.Validate();
    }

    internal bool ByAsn => By == "asn";
}

public sealed class ReportSybilCommand : Command<ReportGroupedSettings>
{
    public override int Execute(CommandContext context, ReportGroupedSettings settings, CancellationToken cancellationToken)
    {
        if (settings.By is "client") return Usage("report sybil", "--by must be address or asn");
        return ReportRunner.Run("report sybil", settings, (db, o) => Reports.Sybil(db, o, settings.ByAsn));
    }

    internal static int Usage(string verb, string message)
    {
        Console.Error.WriteLine($"pcapdht {verb}: {message}");
        return ExitCodes.Usage;
    }
}

public sealed class ReportBep42Command : Command<ReportGroupedSettings>
{
    public override int Execute(CommandContext context, ReportGroupedSettings settings, CancellationToken cancellationToken)
    {
        if (settings.By is "address") return ReportSybilCommand.Usage("report bep42", "--by must be client or asn");
        return ReportRunner.Run("report bep42", settings, (db, o) => Reports.Bep42(db, o, settings.ByAsn ? Bep42Grouping.Asn : Bep42Grouping.Client));
    }
}

/// <summary>`report daily`: the common options, --by day|asn and --chart (the page's per-day lines, alone).</summary>
public sealed class ReportDailySettings : ReportChartSettings
{
    [CommandOption("--by <GROUPING>")]
    [Description("day (default): all addresses; asn: one block of days per ASN, for the --top ASNs.")]
    public string? By { get; init; }

    public override ValidationResult Validate()
    {
        if (By is not (null or "day" or "asn")) return ValidationResult.Error("--by must be day or asn");
        return base.Validate();
    }

    internal bool ByAsn => By == "asn";
}

public sealed class ReportDailyCommand : Command<ReportDailySettings>
{
    // The chart: new, returning and gone per day; by ASN, one line of addresses per ASN.
    public override int Execute(CommandContext context, ReportDailySettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report daily", settings, (db, o) => Reports.Daily(db, o, settings.ByAsn),
            settings.ByAsn ? ReportCharts.DailyAddresses : ReportCharts.Churn);
}
