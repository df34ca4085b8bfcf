using System.ComponentModel;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Cli.Rendering;
using PcapDht.Enrich;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class ReportSettings : CommandSettings
{
    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file. " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--days <N>")]
    [Description("Window length in days, ending at the newest sighting (or --until). Default 30.")]
    public int? Days { get; init; }

    [CommandOption("--since <TIME>")]
    [Description("Window start (ISO date or date-time, UTC unless a zone is given), inclusive.")]
    public string? Since { get; init; }

    [CommandOption("--until <TIME>")]
    [Description("Window end, inclusive. Default: the newest sighting in the database.")]
    public string? Until { get; init; }

    [CommandOption("--top <N>")]
    [Description("Rows to show (0 = all). Default 20.")]
    [DefaultValue(20)]
    public int Top { get; init; } = 20;

    [CommandOption("--ipv6-prefix <BITS>")]
    [Description("Count IPv6 addresses per prefix of this length, e.g. 64 (privacy addresses rotate within a /64).")]
    public int? Ipv6Prefix { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("Output: " + OutputFormats.Help + ".")]
    [DefaultValue("table")]
    public string Format { get; init; } = "table";

    public override ValidationResult Validate()
    {
        if (!OutputFormats.TryParse(Format, out _)) return ValidationResult.Error($"--format must be {OutputFormats.Help}");
        if (Days is <= 0) return ValidationResult.Error("--days must be a positive number of days");
        if (Ipv6Prefix is < 1 or > 128) return ValidationResult.Error("--ipv6-prefix must be between 1 and 128");
        if (Since is not null && !ReportWindow.TryParse(Since, out _)) return ValidationResult.Error($"--since '{Since}' is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)");
        if (Until is not null && !ReportWindow.TryParse(Until, out _)) return ValidationResult.Error($"--until '{Until}' is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)");
        if (Since is not null && Days is not null) return ValidationResult.Error("give --since or --days, not both");
        return ValidationResult.Success();
    }

    internal ReportOptions ToOptions()
    {
        DateTimeOffset? since = Since is null ? null : Parse(Since);
        DateTimeOffset? until = Until is null ? null : Parse(Until);
        return new ReportOptions { Days = Days ?? 30, Since = since, Until = until, Top = Top, Ipv6Prefix = Ipv6Prefix };
    }

    internal bool HasExplicitWindow => Days is not null || Since is not null || Until is not null;

    private static DateTimeOffset Parse(string s)
    {
        ReportWindow.TryParse(s, out var v);
        return v;
    }
}

/// <summary>Shared flow: open read-write briefly to (re)create the enriched views, run, render.</summary>
internal static class ReportRunner
{
    public static int Run(string verb, ReportSettings settings, Func<DuckDBConnection, ReportOptions, ResultTable> report)
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
            if (result.Unavailable is { } why)
            {
                Console.Out.WriteLine($"{result.Title}: not available. {why}");
                return ExitCodes.NoData;
            }
            ResultRenderer.Render(result, format, Console.Out, Console.Error);
            return ExitCodes.Ok;
        }
        catch (DuckDBException e)
        {
            Console.Error.WriteLine(PcapDht.Store.PcapDhtDatabase.IsCorruption(e.Message)
                ? $"pcapdht {verb}: {PcapDht.Store.PcapDhtDatabase.Translate(e, settings.Db).Message}"
                : $"pcapdht {verb}: database error: {DatabaseOpener.OneLine(e.Message)}");
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

public sealed class ReportOverviewCommand : Command<ReportSettings>
{
    public override int Execute(CommandContext context, ReportSettings settings, CancellationToken cancellationToken)
        => ReportRunner.Run("report overview", settings, (db, o) => Reports.Overview(db, o, settings.HasExplicitWindow));
}
