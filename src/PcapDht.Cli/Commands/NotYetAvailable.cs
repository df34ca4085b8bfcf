using Spectre.Console;

namespace PcapDht.Cli.Commands;

internal static class NotYetAvailable
{
    public static int Report(string verb)
    {
        AnsiConsole.Console.Profile.Out.Writer.Flush();
        Console.Error.WriteLine($"pcapdht {verb}: not yet available in this build.");
        return ExitCodes.Usage;
    }
}
