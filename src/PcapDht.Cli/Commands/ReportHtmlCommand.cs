using System.ComponentModel;
using System.Text;
using PcapDht.Analysis;
using PcapDht.Cli.Rendering;
using PcapDht.Html;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class ReportHtmlSettings : ReportWindowSettings
{
    [CommandOption("--out <FILE>")]
    [Description("The HTML file to write (one self-contained file: open it offline, attach it to an email).")]
    public string? Out { get; init; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out FILE is required (e.g. --out report.html)");
        return base.Validate();
    }
}

/// <summary><c>pcapdht report html --out FILE</c>: every panel of <see cref="ReportPanels.Default"/> on one page.</summary>
public sealed class ReportHtmlCommand : Command<ReportHtmlSettings>
{
    private const string Verb = "report html";

    public override int Execute(CommandContext context, ReportHtmlSettings settings, CancellationToken cancellationToken)
    {
        string path = settings.Out!;
        return ReportRunner.WithDatabase(Verb, settings, db =>
        {
            var options = settings.ToOptions();
            var panels = ReportPanels.Default;
            var results = HtmlReport.Run(db, options, panels);
            if (results[ReportPanels.Headline].Unavailable is { } nothing)
            {
                Console.Error.WriteLine($"pcapdht {Verb}: {nothing}");
                return ExitCodes.NoData;
            }
            var info = new HtmlReportInfo(typeof(PcapDhtApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0", DateTimeOffset.UtcNow, Path.GetFileName(settings.Db));
            string html = HtmlReport.Write(panels, results, options, info);
            if (OutputFile.Write(path, fs => fs.Write(new UTF8Encoding(false).GetBytes(html))) is { } error)
            {
                Console.Error.WriteLine($"pcapdht {Verb}: cannot write {path}: {error}");
                return ExitCodes.Failure;
            }
            foreach (var panel in panels)
                if (results[panel.Id].Unavailable is { } why) Console.Error.WriteLine($"pcapdht {Verb}: panel '{panel.Title}' not available: {why}");
            int shown = panels.Count(p => results[p.Id].Unavailable is null);
            var window = results.Values.Select(r => r.Window).FirstOrDefault(w => w is not null);
            Console.Out.WriteLine($"Wrote {path} ({(html.Length + 1023) / 1024} KB, {shown} of {panels.Count} panels{(window is { } w ? $", window {w}" : "")})");
            return ExitCodes.Ok;
        });
    }
}
