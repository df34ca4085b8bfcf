using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using PcapDht.Analysis;
using PcapDht.Cli.Rendering;
using PcapDht.Export;
using PcapDht.Store;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class ExportSettings : CommandSettings
{
    [CommandArgument(0, "<DIR>")]
    [Description("The lake: a directory of Hive-partitioned Parquet (created if missing). Several sensors may export into one.")]
    public string Dir { get; init; } = "";

    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file to export. " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--sensor <NAME>")]
    [Description("Name of this database's vantage point in the lake (sensor=NAME in the paths). Default: this machine's host name.")]
    public string? Sensor { get; init; }

    [CommandOption("--since <TIME>")]
    [Description("Only rows at or after this time (ISO date or date-time, UTC unless a zone is given).")]
    public string? Since { get; init; }

    [CommandOption("--until <TIME>")]
    [Description("Only rows at or before this time.")]
    public string? Until { get; init; }

    [CommandOption("--anonymize <KEYFILE>")]
    [Description("Map every address with this Crypto-PAn key (as `pcapdht anonymize` maps captures); ASN and country are looked up before. See docs/privacy.md.")]
    public string? Anonymize { get; init; }

    [CommandOption("--anonymize-ids")]
    [Description("With --anonymize: also replace node ids by a keyed hash (BEP 42 compliance is kept as a column).")]
    public bool AnonymizeIds { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("Output: table or json.")]
    [DefaultValue("table")]
    public string Format { get; init; } = "table";

    public override ValidationResult Validate()
    {
        if (Format is not ("table" or "json")) return ValidationResult.Error("--format must be table or json");
        if (Sensor is not null && LakeLayout.SensorNameError(Sensor) is { } bad) return ValidationResult.Error($"--sensor: {bad}");
        if (Since is not null && !ReportWindow.TryParse(Since, out _)) return ValidationResult.Error($"--since '{Since}' is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)");
        if (Until is not null && !ReportWindow.TryParse(Until, out _)) return ValidationResult.Error($"--until '{Until}' is not a date or date-time (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)");
        if (AnonymizeIds && Anonymize is null) return ValidationResult.Error("--anonymize-ids needs --anonymize KEYFILE");
        return ValidationResult.Success();
    }
}

/// <summary><c>pcapdht export DIR</c>: the database's captures not yet in the lake, as one batch (docs/scale.md).</summary>
public sealed class ExportCommand : Command<ExportSettings>
{
    private const string Verb = "pcapdht export";

    public override int Execute(CommandContext context, ExportSettings settings, CancellationToken cancellationToken)
    {
        var key = settings.Anonymize is null ? null : AnonymizeCliKey.LoadFor(settings.Anonymize, Verb);
        if (settings.Anonymize is not null && key is null) return ExitCodes.InputError;
        DateTimeOffset? since = null, until = null;
        if (settings.Since is not null && ReportWindow.TryParse(settings.Since, out var s)) since = s;
        if (settings.Until is not null && ReportWindow.TryParse(settings.Until, out var u)) until = u;
        var options = new ExportOptions
        {
            Lake = settings.Dir,
            Database = settings.Db,
            Sensor = settings.Sensor ?? LakeLayout.DefaultSensor(),
            Since = since,
            Until = until,
            Key = key,
            AnonymizeIds = settings.AnonymizeIds,
        };
        ExportSummary summary;
        try
        {
            summary = BusySpinner.Run($"exporting {settings.Db} to {settings.Dir}", () => LakeExporter.Run(options, cancellationToken));
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"{Verb}: interrupted; nothing of this export was kept");
            return ExitCodes.Interrupted;
        }
        catch (LakeException ex)
        {
            Console.Error.WriteLine($"{Verb}: {ex.Message}");
            return ExitCodes.Failure;
        }
        catch (StoreException ex)
        {
            Console.Error.WriteLine($"{Verb}: {ex.Message}");
            return ExitCodes.DatabaseError;
        }
        foreach (var skipped in summary.Skipped) Console.Error.WriteLine($"{Verb}: {skipped}");
        if (settings.Format == "json") WriteJson(summary);
        else WriteText(summary, options);
        return ExitCodes.Ok;
    }

    private static void WriteText(ExportSummary s, ExportOptions o)
    {
        var c = CultureInfo.InvariantCulture;
        if (s.RolledBack > 0) Console.Out.WriteLine($"removed what {s.RolledBack} interrupted export(s) of sensor '{s.Sensor}' left behind");
        if (s.Batch is null)
        {
            Console.Out.WriteLine($"nothing new to export: every capture of {o.Database} is already in {o.Lake} (sensor '{s.Sensor}')");
            return;
        }
        Console.Out.WriteLine($"exported {s.Captures.Count.ToString(c)} capture(s) of {o.Database} to {o.Lake} as sensor '{s.Sensor}', batch {s.Batch}"
            + (s.Anonymized ? " (anonymized)" : ""));
        foreach (var (relation, rows) in s.Rows) Console.Out.WriteLine($"  {relation,-16} {rows.ToString("N0", c),14} rows");
        Console.Out.WriteLine($"  {s.Files.ToString(c)} Parquet file(s)" + (s.Enriched ? "; ASN and country looked up at export" : "; no ASN/country data in the database: asn, as_name and country are empty"));
    }

    private static void WriteJson(ExportSummary s)
    {
        using var stdout = Console.OpenStandardOutput();
        using (var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("lake", s.Lake);
            w.WriteString("sensor", s.Sensor);
            if (s.Batch is null) w.WriteNull("batch"); else w.WriteString("batch", s.Batch);
            w.WriteBoolean("anonymized", s.Anonymized);
            w.WriteBoolean("enriched", s.Enriched);
            w.WriteNumber("rolled_back", s.RolledBack);
            w.WriteNumber("files", s.Files);
            w.WriteStartObject("rows");
            foreach (var (relation, rows) in s.Rows) w.WriteNumber(relation, rows);
            w.WriteEndObject();
            w.WriteStartArray("captures");
            foreach (var c in s.Captures)
            {
                w.WriteStartObject();
                w.WriteNumber("capture_id", c.CaptureId);
                w.WriteString("source", Path.GetFileName(c.Source));
                if (c.Sha256 is null) w.WriteNull("sha256"); else w.WriteString("sha256", c.Sha256);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("skipped");
            foreach (var why in s.Skipped) w.WriteStringValue(why);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        stdout.WriteByte((byte)'\n');
    }
}
