using System.ComponentModel;
using System.Globalization;
using PcapDht.Cli.Rendering;
using PcapDht.Analysis;
using PcapDht.Enrich;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class AsnImportSettings : CommandSettings
{
    [CommandArgument(0, "<FILE>")]
    [Description("Range files (format detected from content; .gz works): iptoasn TSV, IPinfo Lite CSV, ip-location-db CSV, GeoLite2-ASN CSV, MMDB.")]
    public string[] Files { get; init; } = [];

    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file (created if missing). " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--verbose")]
    [Description("Show stack traces on errors.")]
    public bool Verbose { get; init; }
}

/// <summary>Reads every file first, then replaces each kind of data set in one transaction.</summary>
public sealed class AsnImportCommand : Command<AsnImportSettings>
{
    private const int BadRowsShown = 10;

    public override int Execute(CommandContext context, AsnImportSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Files.Length == 0) return Fail(ExitCodes.Usage, "give at least one FILE");
        var files = new List<RangeFile>();
        foreach (var path in settings.Files)
        {
            try
            {
                files.Add(BusySpinner.Run($"reading {path}", () => RangeFileReader.Read(path)));
            }
            catch (FileNotFoundException) { return Fail(ExitCodes.InputError, $"{path}: no such file"); }
            catch (RangeFormatException e) { return Fail(ExitCodes.InputError, e.Message); }
            catch (IOException e) { return Fail(ExitCodes.InputError, $"{path}: {e.Message}"); }
            catch (UnauthorizedAccessException e) { return Fail(ExitCodes.InputError, $"{path}: {e.Message}"); }
        }
        using var db = DatabaseOpener.Open(settings.Db, readOnly: false, create: true, out var error);
        if (db is null) return Fail(ExitCodes.DatabaseError, error!);
        var summary = BusySpinner.Run($"writing ranges to {settings.Db}", () => RangeStore.Import(db, files, DateTimeOffset.UtcNow));
        var o = Console.Out;
        foreach (var f in files)
        {
            string date = f.SourceDate is { } d
                ? $"data of {d.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)} ({f.SourceDateBasis})"
                : "no date in the data (reports show the import date)";
            o.WriteLine($"{f.FileName}: {RangeFormats.Name(f.Format)}, {RangeStore.KindName(f.Kind)} data, {N(f.Ranges.Count)} ranges, {N(f.EmptyRows)} rows without data, {N(f.BadRowCount)} bad rows; {date}");
            foreach (var b in f.BadRows.Take(BadRowsShown))
                o.WriteLine(b.Line > 0 ? $"  line {N(b.Line)}: {b.Reason}" : $"  {b.Reason}");
            if (f.BadRowCount > BadRowsShown) o.WriteLine($"  ... and {N(f.BadRowCount - BadRowsShown)} more bad rows");
        }
        foreach (var (kind, count) in summary.RangesStored)
        {
            long dropped = summary.OverlapsDropped[kind];
            o.WriteLine($"{RangeStore.KindName(kind)} data set replaced: {N(count)} ranges in {settings.Db}" +
                (dropped > 0 ? $" ({N(dropped)} overlapping ranges dropped)" : ""));
        }
        return ExitCodes.Ok;
    }

    private static string N(long n) => n.ToString("#,0", CultureInfo.InvariantCulture);

    internal static int Fail(int code, string message)
    {
        Console.Error.WriteLine($"pcapdht asn import: {message}");
        return code;
    }
}

public sealed class AsnStatusSettings : CommandSettings
{
    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file. " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--format <FORMAT>")]
    [Description("Output: " + OutputFormats.Help + ".")]
    [DefaultValue("table")]
    public string Format { get; init; } = "table";

    public override ValidationResult Validate() =>
        OutputFormats.TryParse(Format, out _) ? ValidationResult.Success() : ValidationResult.Error($"--format must be {OutputFormats.Help}");
}

public sealed class AsnStatusCommand : Command<AsnStatusSettings>
{
    public override int Execute(CommandContext context, AsnStatusSettings settings, CancellationToken cancellationToken)
    {
        OutputFormats.TryParse(settings.Format, out var format);
        using var db = DatabaseOpener.Open(settings.Db, readOnly: true, create: false, out var error);
        if (db is null)
        {
            Console.Error.WriteLine($"pcapdht asn status: {error}");
            return ExitCodes.DatabaseError;
        }
        var sets = RangeStore.Datasets(db);
        var table = new ResultTable
        {
            Title = "Imported ASN and country data sets",
            Columns =
            [
                new("kind", ColumnKind.Text), new("file", ColumnKind.Text), new("format", ColumnKind.Text),
                new("ranges", ColumnKind.Integer), new("bad_rows", ColumnKind.Integer), new("source_date", ColumnKind.Text),
                new("source_date_basis", ColumnKind.Text), new("imported_at", ColumnKind.Text),
            ],
        };
        table.Facts.Add(new("asn ranges stored", RangeStore.RangeCount(db, RangeKind.Asn)));
        table.Facts.Add(new("country ranges stored", RangeStore.RangeCount(db, RangeKind.Country)));
        // The data's own date where the data set carries one; else only the import date is known.
        foreach (var d in sets)
        {
            table.Rows.Add([RangeStore.KindName(d.Kind), d.FileName, d.Format, d.RowCount, d.BadRows,
                d.SourceDate, d.SourceDate is null ? "(none in the data)" : d.SourceDateBasis, d.ImportedAt]);
        }
        table.Datasets.AddRange(sets);
        if (sets.Count == 0)
        {
            Console.Out.WriteLine($"No ASN or country data set in {settings.Db}: import one with pcapdht asn import FILE --db {settings.Db}");
            return ExitCodes.NoData;
        }
        ResultRenderer.Render(table, format, Console.Out, Console.Error);
        return ExitCodes.Ok;
    }
}
