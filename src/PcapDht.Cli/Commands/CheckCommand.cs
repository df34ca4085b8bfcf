using System.ComponentModel;
using System.Globalization;
using PcapDht.Cli.Rendering;
using PcapDht.Store;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class CheckSettings : CommandSettings
{
    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file. " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--compact")]
    [Description("After a clean check, rewrite the file without its free space (what a crash or deleted captures left) and put it in place of the old one. Needs the database to itself: stop any sniff first.")]
    public bool Compact { get; init; }

    [CommandOption("--verbose")]
    [Description("Show stack traces on errors.")]
    public bool Verbose { get; init; }
}

/// <summary>Renders <see cref="StoreCheck"/>: the tables read, the findings, and exit 4 when the file is damaged or inconsistent.</summary>
public sealed class CheckCommand : Command<CheckSettings>
{
    public override int Execute(CommandContext context, CheckSettings settings, CancellationToken cancellationToken)
    {
        StoreCheckReport report;
        try
        {
            report = BusySpinner.Run(settings.Compact ? $"checking and compacting {settings.Db}" : $"checking {settings.Db}",
                () => settings.Compact
                    ? StoreCheck.Compact(settings.Db, PcapDhtDatabase.LockWait, cancellationToken)
                    : StoreCheck.Run(settings.Db, PcapDhtDatabase.LockWait, cancellationToken));
        }
        catch (StoreException e)
        {
            Console.Error.WriteLine($"pcapdht check: {e.Message}");
            if (settings.Verbose) Console.Error.WriteLine(e);
            return e is DiskFullException ? ExitCodes.Failure : ExitCodes.DatabaseError;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("pcapdht check: interrupted; the database is unchanged");
            return ExitCodes.Interrupted;
        }

        var o = Console.Out;
        o.WriteLine($"{report.Path}: {Size(report.FileBytes)}");
        foreach (var (table, rows) in report.Tables)
            o.WriteLine($"  {table}: {rows.ToString("N0", CultureInfo.InvariantCulture)} rows read");
        if (report.CapturesChecked > 0)
            o.WriteLine($"  {report.CapturesChecked.ToString("N0", CultureInfo.InvariantCulture)} captures checked against their rows");
        foreach (var f in report.Findings)
            o.WriteLine($"{f.Kind.ToString().ToLowerInvariant()}: {f.Message}");
        if (report.Damaged)
        {
            Console.Error.WriteLine($"pcapdht check: {report.Path} is damaged ({report.Findings.First(f => f.Kind == CheckProblem.Damaged).Message}); {PcapDhtDatabase.CorruptionAdvice}");
            return ExitCodes.DatabaseError;
        }
        if (report.IndexRebuilt)
            o.WriteLine("rebuilt: the address index, which disagreed with the daily rollups");
        if (report.CompactedBytes is long after)
            o.WriteLine($"compacted: {Size(report.FileBytes)} -> {Size(after)}");
        if (report.Inconsistent && report.Findings.Where(f => f.Kind == CheckProblem.Inconsistent).All(StoreCheck.IsIndexMismatch))
        {
            Console.Error.WriteLine($"pcapdht check: the address index of {report.Path} disagrees with the daily rollups (above), so reports would read wrong numbers from it; pcapdht check --compact rebuilds it");
            return ExitCodes.DatabaseError;
        }
        if (report.Inconsistent)
        {
            int n = report.Findings.Count(f => f.Kind == CheckProblem.Inconsistent);
            Console.Error.WriteLine($"pcapdht check: {n} inconsistenc{(n == 1 ? "y" : "ies")} in {report.Path} (listed above); restore a backup, or re-ingest the captures named with --force");
            return ExitCodes.DatabaseError;
        }
        if (!report.Healthy)
        {
            Console.Error.WriteLine($"pcapdht check: {report.Path} holds captures of a writer that died (listed above); pcapdht check --compact settles them and gives back the space they used");
            return ExitCodes.DatabaseError;
        }
        o.WriteLine("ok: every block reads and the store is consistent");
        return ExitCodes.Ok;
    }

    internal static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} bytes",
    };
}
