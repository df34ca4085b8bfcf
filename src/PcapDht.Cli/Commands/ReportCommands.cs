using System.ComponentModel;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Cli.Rendering;
using PcapDht.Enrich;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

/// <summary>
/// The options every report shares: the database, the window and the output format. A report verb's settings
/// derive from this (<see cref="ReportSettings"/> adds --days with its 30-day default, --top and --ipv6-prefix),
/// so validation, window parsing and the rendering in <see cref="ReportRunner"/> come with it.
/// </summary>
public abstract class WindowSettings : CommandSettings
{
    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file. " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--since <TIME>")]
    [Description("Window start (ISO date or date-time, UTC unless a zone is given), inclusive. A date is the start of that day.")]
    public string? Since { get; init; }

    [CommandOption("--until <TIME>")]
    [Description("Window end, inclusive; a date means the whole day. Default: the newest sighting in the database.")]
    public string? Until { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("Output: " + OutputFormats.Help + ".")]
    [DefaultValue("table")]
    public string Format { get; init; } = "table";

    /// <summary>The --days value, declared by each verb with its own default and help.</summary>
    public abstract int? WindowDays { get; }

    public override ValidationResult Validate()
    {
        if (!OutputFormats.TryParse(Format, out _)) return ValidationResult.Error($"--format must be {OutputFormats.Help}");
        if (WindowDays is <= 0) return ValidationResult.Error("--days must be a positive number of days");
        if (Since is not null && !ReportWindow.TryParse(Since, out _)) return ValidationResult.Error($"--since '{Since}' is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)");
        if (Until is not null && !ReportWindow.TryParseEnd(Until, out _, out _)) return ValidationResult.Error($"--until '{Until}' is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)");
        if (Since is not null && WindowDays is not null) return ValidationResult.Error("give --since or --days, not both");
        return ValidationResult.Success();
    }

    internal virtual ReportOptions ToOptions()
    {
        DateTimeOffset? since = null, until = null;
        bool untilIsDay = false;
        if (Since is not null && ReportWindow.TryParse(Since, out var s)) since = s;
        if (Until is not null && ReportWindow.TryParseEnd(Until, out var u, out untilIsDay)) until = u;
        return new ReportOptions { Days = WindowDays ?? 30, Since = since, Until = until, UntilIsDay = untilIsDay };
    }

    internal bool HasExplicitWindow => WindowDays is not null || Since is not null || Until is not null;
}

public sealed class ReportSettings : WindowSettings
{
    [CommandOption("--days <N>")]
    [Description("Window length in days, ending at the newest sighting (or --until). Default 30.")]
    public int? Days { get; init; }

    [CommandOption("--top <N>")]
    [Description("Rows to show (0 = all). Default 20.")]
    [DefaultValue(20)]
    public int Top { get; init; } = 20;

    [CommandOption("--ipv6-prefix <BITS>")]
    [Description("Count IPv6 addresses per prefix of this length, e.g. 64 (privacy addresses rotate within a /64).")]
    public int? Ipv6Prefix { get; init; }

    public override int? WindowDays => Days;

    public override ValidationResult Validate()
    {
        if (Top < 0) return ValidationResult.Error($"--top must be 0 (all rows) or a positive number, not {Top}");
        if (Ipv6Prefix is < 1 or > 128) return ValidationResult.Error("--ipv6-prefix must be between 1 and 128");
        return base.Validate();
    }

    internal override ReportOptions ToOptions() => base.ToOptions() with { Top = Top, Ipv6Prefix = Ipv6Prefix };
}

/// <summary>report overview counts all data unless a window is asked for, and has no rows to limit.</summary>
public sealed class OverviewSettings : WindowSettings
{
    [CommandOption("--days <N>")]
    [Description("Window length in days, ending at the newest sighting (or --until). Default: all data.")]
    public int? Days { get; init; }

    public override int? WindowDays => Days;
}

/// <summary>Shared flow: open read-write briefly to (re)create the enriched views, run, render, map to an exit code.</summary>
internal static class ReportRunner
{
    public static int Run(string verb, WindowSettings settings, Func<DuckDBConnection, ReportOptions, ResultTable> report)
    {
        OutputFormats.TryParse(settings.Format, out var format);
        using var db = DatabaseOpener.Open(settings.Db, readOnly: false, create: false, out var error)
                       ?? DatabaseOpener.Open(settings.Db, readOnly: true, create: false, out error);
        if (db is null)
        {
            Console.Error.WriteLine($"pcapdht {verb}: {error}");
            return ExitCodes.DatabaseError;
        }
        try
        {
            if (!IsReadOnly(db)) RangeStore.EnsureEnrichedViews(db);
            ResultTable result;
            try { result = report(db, settings.ToOptions()); }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"pcapdht {verb}: {e.Message}");
                return ExitCodes.Usage;
            }
            if (result.Unavailable is not null)
            {
                ResultRenderer.RenderUnavailable(result, format, Console.Out, Console.Error);
                return ExitCodes.NoData;
            }
            ResultRenderer.Render(result, format, Console.Out, Console.Error);
            return result.NoAnswer ? ExitCodes.NoData : ExitCodes.Ok;
        }
        catch (DuckDBException e)
        {
            Console.Error.WriteLine($"pcapdht {verb}: database error: {DatabaseOpener.OneLine(e.Message)}");
            return ExitCodes.DatabaseError;
        }
    }

    private static bool IsReadOnly(DuckDBConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT current_setting('access_mode')";
        return string.Equals(cmd.ExecuteScalar() as string, "read_only", StringComparison.OrdinalIgnoreCase);
    }
}

public sealed class ReportAsnCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report asn", settings, Reports.Asn);
}

public sealed class ReportCountryCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report country", settings, Reports.Country);
}

public sealed class ReportClientsCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report clients", settings, Reports.Clients);
}

public sealed class ReportOverviewCommand : Command<OverviewSettings>
{
    public override int Execute(CommandContext context, OverviewSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report overview", settings, (db, o) => Reports.Overview(db, o, settings.HasExplicitWindow));
}
