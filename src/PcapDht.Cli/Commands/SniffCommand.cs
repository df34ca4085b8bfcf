using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class SniffSettings : CommandSettings
{
}

public sealed class SniffCommand : Command<SniffSettings>
{
    public override int Execute(CommandContext context, SniffSettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("sniff");
}
