using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class QuerySettings : CommandSettings
{
}

public sealed class QueryCommand : Command<QuerySettings>
{
    public override int Execute(CommandContext context, QuerySettings settings, CancellationToken cancellationToken)
        => NotYetAvailable.Report("query");
}
