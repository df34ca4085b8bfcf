using System.ComponentModel;
using System.Globalization;
using PcapDht.Cli.Rendering;
using PcapDht.Store;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

/// <summary>The <c>--keep-detail</c> option of <c>prune</c>, <c>ingest</c> and <c>sniff</c>: its help, parsing and report line.</summary>
internal static class KeepDetailOption
{
    public const string Help =
        "Keep detail rows (messages, sightings, malformed datagrams) only for this long before the newest message in the database " +
        "(data time, not the clock: the end of the reports' default window), e.g. 7d, 36h; 0 keeps only the daily rollups. " +
        "Rollups stay, so asn/country/overview over the whole history do not change; size, sybil, bep42 and ip need detail rows.";

    /// <summary>Null for an absent option; a one-line error for a bad value.</summary>
    public static TimeSpan? Parse(string? text, out string? error)
    {
        error = null;
        if (text == null) return null;
        try
        {
            return StoreRetention.ParseDuration(text);
        }
        catch (FormatException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>"detail before 2026-09-23T12:00:00Z pruned: 1,234 msg, ... rows" (or that there was nothing to prune).</summary>
    public static string Describe(PruneResult r, IReadOnlyDictionary<string, long>? totals = null)
    {
        if (r.CutoffUs is not long cut) return "nothing to prune: the database holds no messages";
        var rows = totals ?? r.Deleted.ToDictionary(d => d.Table, d => d.Rows);
        string counts = string.Join(", ", rows.Select(d => $"{d.Value.ToString("N0", CultureInfo.InvariantCulture)} {d.Key}"));
        return $"detail before {Time(cut)} pruned (newest message {Time(r.NewestUs!.Value)}): {counts} rows deleted; " +
               $"rollups {r.RollupRowsBefore.ToString("N0", CultureInfo.InvariantCulture)} -> {r.RollupRowsAfter.ToString("N0", CultureInfo.InvariantCulture)} rows";
    }

    public static string Time(long us) =>
        DateTimeOffset.FromUnixTimeMilliseconds(0).AddTicks(us * TimeSpan.TicksPerMicrosecond).ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);
}

public sealed class PruneSettings : CommandSettings
{
    [CommandOption("--keep-detail <DURATION>")]
    [Description(KeepDetailOption.Help)]
    public string? KeepDetail { get; init; }

    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file. " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--verbose")]
    [Description("Show stack traces on errors.")]
    public bool Verbose { get; init; }

    /// <summary>The parsed <see cref="KeepDetail"/>.</summary>
    public TimeSpan Keep { get; private set; }

    public override ValidationResult Validate()
    {
        if (KeepDetail == null) return ValidationResult.Error("--keep-detail DURATION is required (e.g. 7d; 0 keeps only the rollups)");
        if (KeepDetailOption.Parse(KeepDetail, out var error) is not { } keep) return ValidationResult.Error(error!);
        Keep = keep;
        return ValidationResult.Success();
    }
}

/// <summary><c>pcapdht prune</c>: <see cref="StoreRetention.Prune(PcapDhtDatabase, TimeSpan, PruneScope)"/>, with what it deleted and the file size.</summary>
public sealed class PruneCommand : Command<PruneSettings>
{
    public override int Execute(CommandContext context, PruneSettings settings, CancellationToken cancellationToken)
    {
        if (!File.Exists(settings.Db))
        {
            Console.Error.WriteLine($"pcapdht prune: no database at '{settings.Db}' (pass --db FILE)");
            return ExitCodes.DatabaseError;
        }
        long before = FileBytes(settings.Db);
        PruneResult result;
        try
        {
            using var db = PcapDhtDatabase.Open(settings.Db);
            // DuckDB's default (80 % of the machine's memory) let a prune of 30 M detail rows of a 13 GB store reach 20.9 GB
            // of 23 GB resident.
            db.SetMemoryLimit(PcapDhtDatabase.MaintenanceMemoryLimit);
            StoreCheck.VerifyLength(db.Connection, settings.Db); // never rewrite a file that was cut short
            result = BusySpinner.Run($"pruning {settings.Db}", () => StoreRetention.Prune(db, settings.Keep));
        }
        catch (StoreException e)
        {
            Console.Error.WriteLine($"pcapdht prune: {e.Message}");
            if (settings.Verbose) Console.Error.WriteLine(e);
            return e is DiskFullException ? ExitCodes.Failure : ExitCodes.DatabaseError;
        }
        long after = FileBytes(settings.Db);
        var o = Console.Out;
        if (result.CutoffUs is not long cut)
        {
            o.WriteLine($"{settings.Db}: {KeepDetailOption.Describe(result)}");
            return ExitCodes.Ok;
        }
        var t = new Table().Border(TableBorder.Rounded).AddColumn("table").AddColumn(new TableColumn("rows deleted").RightAligned());
        foreach (var (table, rows) in result.Deleted) t.AddRow(Markup.Escape(table), rows.ToString("N0", CultureInfo.InvariantCulture));
        o.WriteLine($"{settings.Db}: detail rows before {KeepDetailOption.Time(cut)} deleted (newest message {KeepDetailOption.Time(result.NewestUs!.Value)} minus {settings.KeepDetail})");
        AnsiConsole.Write(t);
        o.WriteLine($"rollups: {result.RollupRowsBefore.ToString("N0", CultureInfo.InvariantCulture)} rows -> {result.RollupRowsAfter.ToString("N0", CultureInfo.InvariantCulture)} (partials of a day merged)");
        o.WriteLine($"file: {CheckCommand.Size(before)} -> {CheckCommand.Size(after)} (freed space is reused by later writes; pcapdht check --compact shrinks the file)");
        return ExitCodes.Ok;
    }

    private static long FileBytes(string path) =>
        new FileInfo(path).Length + (File.Exists(path + ".wal") ? new FileInfo(path + ".wal").Length : 0);
}
