using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class IngestSettings : CommandSettings
{
}

public sealed class IngestCommand : Command<IngestSettings>
{
    public override int Execute(CommandContext context, IngestSettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("ingest");
}
