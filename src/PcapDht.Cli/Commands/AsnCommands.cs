using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class AsnImportSettings : CommandSettings
{
}

public sealed class AsnImportCommand : Command<AsnImportSettings>
{
    public override int Execute(CommandContext context, AsnImportSettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("asn import");
}

public sealed class AsnStatusSettings : CommandSettings
{
}

public sealed class AsnStatusCommand : Command<AsnStatusSettings>
{
    public override int Execute(CommandContext context, AsnStatusSettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("asn status");
}
