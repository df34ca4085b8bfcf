using System.ComponentModel;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Cli.Rendering;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class QuerySettings : CommandSettings
{
    /// <summary>What PcapDhtApp passes for a bare "-" (which the parser would reject).</summary>
    internal const string StdinArgument = "\u0001stdin";

    [CommandArgument(0, "[SQL]")]
    [Description("The SQL to run, or - to read it from stdin.")]
    public string? Sql { get; init; }

    [CommandOption("-f|--file <FILE>")]
    [Description("Read the SQL from a file.")]
    public string? File { get; init; }

    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file. " + DatabaseOpener.DefaultHelp)]
    public string Db { get; init; } = DatabaseOpener.DefaultPath;

    [CommandOption("--write")]
    [Description("Open the database read-write (default is read-only, so a typo cannot change data). Also allows --allow-files.")]
    public bool Write { get; init; }

    [CommandOption("--allow-files")]
    [Description("Let the SQL read and write files other than the database (read_csv, read_parquet, glob, COPY ... TO, EXPORT DATABASE, ATTACH). Without it (and without --write) the query touches no file but the database.")]
    public bool AllowFiles { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("Output: " + OutputFormats.Help + ".")]
    [DefaultValue("table")]
    public string Format { get; init; } = "table";

    public override ValidationResult Validate()
    {
        if (!OutputFormats.TryParse(Format, out _)) return ValidationResult.Error($"--format must be {OutputFormats.Help}");
        if (Sql is not null && File is not null) return ValidationResult.Error("give the SQL as an argument or with -f, not both");
        if (Sql is null && File is null) return ValidationResult.Error("give the SQL as an argument, with -f FILE, or - for stdin");
        if (File == StdinArgument) return ValidationResult.Error("for SQL from stdin use `pcapdht query -`");
        return ValidationResult.Success();
    }
}

public sealed class QueryCommand : Command<QuerySettings>
{
    public override int Execute(CommandContext context, QuerySettings settings, CancellationToken cancellationToken)
    {
        OutputFormats.TryParse(settings.Format, out var format);
        string sql;
        try
        {
            sql = settings.File is { } f ? System.IO.File.ReadAllText(f)
                : settings.Sql is "-" or QuerySettings.StdinArgument ? Console.In.ReadToEnd()
                : settings.Sql!;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"pcapdht query: cannot read {settings.File}: {e.Message}");
            return ExitCodes.InputError;
        }
        if (string.IsNullOrWhiteSpace(sql))
        {
            Console.Error.WriteLine("pcapdht query: the SQL is empty");
            return ExitCodes.Usage;
        }
        if (!settings.Write) AddMissingEnrichedViews(settings.Db);
        using var db = DatabaseOpener.Open(settings.Db, readOnly: !settings.Write, create: settings.Write, out var error, anySchema: true);
        if (db is null)
        {
            Console.Error.WriteLine($"pcapdht query: {error}");
            return ExitCodes.DatabaseError;
        }
        bool restricted = !settings.Write && !settings.AllowFiles;
        if (restricted) SqlQuery.RestrictToDatabase(db);
        // Every statement runs, in order. Tables and Markdown show each result as its statement completes; CSV and
        // JSON print the last statement's result only, so the output stays one document a program can parse.
        bool each = format is OutputFormat.Table or OutputFormat.Markdown;
        ResultTable? last = null;
        int shown = 0;
        try
        {
            foreach (var (_, results) in SqlQuery.RunScript(db, sql))
            {
                foreach (var result in results)
                {
                    if (!each)
                    {
                        last = result;
                        continue;
                    }
                    if (shown++ > 0) Console.Out.WriteLine();
                    ResultRenderer.Render(result, format, Console.Out, Console.Error, withMetadata: false);
                }
            }
        }
        catch (SqlScriptException e)
        {
            if (PcapDht.Store.PcapDhtDatabase.IsCorruption(e.Message))
            {
                Console.Error.WriteLine($"pcapdht query: {PcapDht.Store.PcapDhtDatabase.Translate(e.InnerException ?? e, settings.Db).Message}");
                return ExitCodes.DatabaseError;
            }
            string line = DatabaseOpener.OneLine(e.Message);
            if (restricted && SqlQuery.IsFileAccessRefusal(line))
                line += " (query reads only the database; add --allow-files to let SQL use other files)";
            else line = ReadOnlyHint.Add(line, sql, settings.Write);
            Console.Error.WriteLine($"pcapdht query: {line}");
            return ExitCodes.Failure;
        }
        if (last != null) ResultRenderer.Render(last, format, Console.Out, Console.Error, withMetadata: false);
        return ExitCodes.Ok;
    }

    /// <summary>
    /// `asn import` before the first ingest finds no store relations to enrich; the views are then
    /// missing until a report runs. Add them (only when missing, so a read-only query of a complete
    /// database writes nothing); a database locked by a running writer is left as it is.
    /// </summary>
    private static void AddMissingEnrichedViews(string path)
    {
        if (!System.IO.File.Exists(path)) return;
        bool missing;
        using (var ro = DatabaseOpener.Open(path, readOnly: true, create: false, out _))
        {
            if (ro is null) return;
            missing = false;
            foreach (var (relation, _) in Enrich.RangeStore.EnrichedRelations)
                missing |= Enrich.RangeStore.RelationExists(ro, relation) && !Enrich.RangeStore.RelationExists(ro, relation + "_enriched");
            missing |= Enrich.RangeStore.RelationExists(ro, "reply_contacts") && !Enrich.RangeStore.RelationExists(ro, Enrich.IpProfiles.Relation);
        }
        if (!missing) return;
        using var rw = DatabaseOpener.Open(path, readOnly: false, create: false, out _);
        if (rw is null) return;
        try { Enrich.RangeStore.EnsureEnrichedViews(rw); }
        catch (DuckDBException) { }
    }
}
