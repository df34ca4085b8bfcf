using System.ComponentModel;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Charts;
using PcapDht.Cli.Rendering;
using PcapDht.Enrich;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

/// <summary>
/// The window every report shares: the database, --since and --until, and --days as each verb declares it
/// (its default differs: 30 days, or all data for overview). Validation and window parsing (a bare --until date
/// is the whole day) live here, so every report verb, and report html, get them.
/// </summary>
public abstract class WindowSettings : CommandSettings
{
    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file. " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--lake <DIR>")]
    [Description("Report over a Parquet lake written by `pcapdht export` (every sensor in it) instead of a database.")]
    public string? Lake { get; init; }

    [CommandOption("--since <TIME>")]
    [Description("Window start (ISO date or date-time, UTC unless a zone is given), inclusive. A date is the start of that day.")]
    public string? Since { get; init; }

    [CommandOption("--until <TIME>")]
    [Description("Window end, inclusive; a date means the whole day. Default: the newest sighting in the database.")]
    public string? Until { get; init; }

    /// <summary>Hidden: which rows the rollup-aware reports read (docs/analysis.md, "Rollups or detail"), for comparisons and benchmarks.</summary>
    [CommandOption("--source <SOURCE>", IsHidden = true)]
    [Description("auto (default): the address index (asn, country) or the daily rollups where the database has them; index; rollups; detail: the detail rows only.")]
    public string? Source { get; init; }

    /// <summary>The --days value, declared by each verb with its own default and help.</summary>
    public abstract int? WindowDays { get; }

    public override ValidationResult Validate()
    {
        if (Lake is not null && Db != DatabaseOpener.DefaultPath) return ValidationResult.Error("give --db or --lake, not both");
        if (WindowDays is <= 0) return ValidationResult.Error("--days must be a positive number of days");
        if (Since is not null && !ReportWindow.TryParse(Since, out _)) return ValidationResult.Error($"--since '{Since}' is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)");
        if (Until is not null && !ReportWindow.TryParseEnd(Until, out _, out _)) return ValidationResult.Error($"--until '{Until}' is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)");
        if (Since is not null && WindowDays is not null) return ValidationResult.Error("give --since or --days, not both");
        if (Source is not null && !Enum.TryParse<ReportSource>(Source, ignoreCase: true, out _)) return ValidationResult.Error("--source must be auto, index, rollups or detail");
        return ValidationResult.Success();
    }

    internal virtual ReportOptions ToOptions()
    {
        DateTimeOffset? since = null, until = null;
        bool untilIsDay = false;
        if (Since is not null && ReportWindow.TryParse(Since, out var s)) since = s;
        if (Until is not null && ReportWindow.TryParseEnd(Until, out var u, out untilIsDay)) until = u;
        var source = Source is not null && Enum.TryParse<ReportSource>(Source, ignoreCase: true, out var parsed) ? parsed : ReportSource.Auto;
        return new ReportOptions { Days = WindowDays ?? 30, Since = since, Until = until, UntilIsDay = untilIsDay, Source = source };
    }

    internal bool HasExplicitWindow => WindowDays is not null || Since is not null || Until is not null;
}

/// <summary>The options of the reports that count addresses over a window: --days (default 30), --top, --ipv6-prefix.</summary>
public class ReportWindowSettings : WindowSettings
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

public class ReportSettings : ReportWindowSettings
{
    [CommandOption("--format <FORMAT>")]
    [Description("Output: " + OutputFormats.Help + ".")]
    [DefaultValue("table")]
    public string Format { get; init; } = "table";

    public override ValidationResult Validate()
    {
        if (!OutputFormats.TryParse(Format, out _)) return ValidationResult.Error($"--format must be {OutputFormats.Help}");
        return base.Validate();
    }
}

/// <summary>A report that can also draw its chart into a file.</summary>
public class ReportChartSettings : ReportSettings
{
    [CommandOption("--chart <FILE>")]
    [Description("Also write the report's chart alone, for a paper or slide: FILE.svg (vector) or FILE.png (raster, 2x).")]
    public string? Chart { get; init; }

    public override ValidationResult Validate()
    {
        if (Chart is not null && ChartFile.FormatOf(Chart) is null) return ValidationResult.Error($"--chart '{Chart}' must end in .svg or .png");
        return base.Validate();
    }
}

/// <summary>report overview counts all data unless a window is asked for, and has no rows to limit.</summary>
public sealed class OverviewSettings : WindowSettings
{
    [CommandOption("--days <N>")]
    [Description("Window length in days, ending at the newest sighting (or --until). Default: all data.")]
    public int? Days { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("Output: " + OutputFormats.Help + ".")]
    [DefaultValue("table")]
    public string Format { get; init; } = "table";

    public override int? WindowDays => Days;

    public override ValidationResult Validate()
    {
        if (!OutputFormats.TryParse(Format, out _)) return ValidationResult.Error($"--format must be {OutputFormats.Help}");
        return base.Validate();
    }
}

/// <summary>Shared flow: open read-write briefly to (re)create the enriched views, run, render, map to an exit code.</summary>
internal static class ReportRunner
{
    /// <param name="chart">The report's chart, drawn into --chart FILE; its data comes from <c>chartReport</c> when given (the map needs every country, not the top N).</param>
    public static int Run(string verb, ReportSettings settings, Func<DuckDBConnection, ReportOptions, ResultTable> report,
        ChartSpec? chart = null, Func<DuckDBConnection, ReportOptions, ResultTable>? chartReport = null) =>
        Run(verb, settings, settings.Format, report, chart, chartReport);

    public static int Run(string verb, OverviewSettings settings, Func<DuckDBConnection, ReportOptions, ResultTable> report) =>
        Run(verb, settings, settings.Format, report, null, null);

    /// <summary>
    /// Renders the report; "not available" (no data, no sightings, an empty window) and "no answer" (nothing in
    /// the window matched) are shown with their reasons and exit with <see cref="ExitCodes.NoData"/>.
    /// </summary>
    private static int Run(string verb, WindowSettings settings, string formatText, Func<DuckDBConnection, ReportOptions, ResultTable> report,
        ChartSpec? chart, Func<DuckDBConnection, ReportOptions, ResultTable>? chartReport)
    {
        OutputFormats.TryParse(formatText, out var format);
        return WithDatabase(verb, settings, db =>
        {
            var options = settings.ToOptions();
            var result = report(db, options);
            if (result.Unavailable is not null)
            {
                ResultRenderer.RenderUnavailable(result, format, Console.Out, Console.Error);
                return ExitCodes.NoData;
            }
            ResultRenderer.Render(result, format, Console.Out, Console.Error);
            if (result.NoAnswer) return ExitCodes.NoData;
            if (chart is null || settings is not ReportChartSettings { Chart: { } path }) return ExitCodes.Ok;
            var data = chartReport is null ? result : chartReport(db, options);
            if (chart.Standalone(data) is not { } svg)
            {
                Console.Error.WriteLine($"pcapdht {verb}: no row in this window to draw; {path} was not written");
                return ExitCodes.NoData;
            }
            return ChartFile.Write(verb, path, svg);
        });
    }

    /// <summary>
    /// Opens the database (read-write for a moment to (re)create the enriched views, else read-only), runs
    /// <paramref name="body"/>, and maps a bad window and database errors to one line and an exit code.
    /// </summary>
    public static int WithDatabase(string verb, WindowSettings settings, Func<DuckDBConnection, int> body)
    {
        string? error = null;
        using var db = settings.Lake is { } lake ? OpenLake(lake, out error)
            : DatabaseOpener.Open(settings.Db, readOnly: false, create: false, out error, exactLength: false)
              ?? DatabaseOpener.Open(settings.Db, readOnly: true, create: false, out error);
        if (db is null)
        {
            Console.Error.WriteLine($"pcapdht {verb}: {error}");
            return ExitCodes.DatabaseError;
        }
        try
        {
            if (settings.Lake is null && !IsReadOnly(db)) RangeStore.EnsureEnrichedViews(db);
            try { return body(db); }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"pcapdht {verb}: {e.Message}");
                return ExitCodes.Usage;
            }
        }
        catch (DuckDBException e)
        {
            Console.Error.WriteLine(PcapDht.Store.PcapDhtDatabase.IsCorruption(e.Message)
                ? $"pcapdht {verb}: {PcapDht.Store.PcapDhtDatabase.Translate(e, settings.Db).Message}"
                : $"pcapdht {verb}: database error: {DatabaseOpener.OneLine(e.Message)}");
            return ExitCodes.DatabaseError;
        }
    }

    /// <summary>The lake as a database (<see cref="Export.LakeReader"/>); null with the one-line error.</summary>
    private static DuckDBConnection? OpenLake(string dir, out string? error)
    {
        try
        {
            error = null;
            return Export.LakeReader.Open(dir);
        }
        catch (Export.LakeException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    private static bool IsReadOnly(DuckDBConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT current_setting('access_mode')";
        return string.Equals(cmd.ExecuteScalar() as string, "read_only", StringComparison.OrdinalIgnoreCase);
    }
}

public sealed class ReportAsnCommand : Command<ReportChartSettings>
{
    public override int Execute(CommandContext context, ReportChartSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report asn", settings, Reports.Asn, ReportCharts.Asn);
}

public sealed class ReportCountryCommand : Command<ReportChartSettings>
{
    // The map shows every country, whatever --top limits the table to.
    public override int Execute(CommandContext context, ReportChartSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report country", settings, Reports.Country, ReportCharts.Country, (db, o) => Reports.Country(db, o with { Top = 0 }));
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
