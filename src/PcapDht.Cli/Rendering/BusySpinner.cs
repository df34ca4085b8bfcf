using Spectre.Console;

namespace PcapDht.Cli.Rendering;

/// <summary>A spinner with a label on stderr while something slow runs; silent when stderr is not a terminal.</summary>
public static class BusySpinner
{
    public static T Run<T>(string label, Func<T> work)
    {
        if (Console.IsErrorRedirected) return work();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        return console.Status().Start(Markup.Escape(label), _ => work());
    }
}
