using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class ReportSettings : CommandSettings
{
}

public sealed class ReportAsnCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("report asn");
}

public sealed class ReportCountryCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("report country");
}

public sealed class ReportClientsCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("report clients");
}

public sealed class ReportOverviewCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("report overview");
}
