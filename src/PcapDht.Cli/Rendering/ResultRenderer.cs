using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PcapDht.Analysis;
using PcapDht.Enrich;
using Spectre.Console;

namespace PcapDht.Cli.Rendering;

/// <summary>
/// Writes a <see cref="ResultTable"/> as a table, CSV, JSON or Markdown. Any verb with data output
/// uses this, so every report gets the same window line, facts, notes and data-set attribution:
/// above and below a table or Markdown, inside the JSON object (numbers as numbers, times as ISO 8601
/// UTC; the shape is documented in docs/analysis.md), and to stderr as '#' lines for CSV so that
/// stdout stays plain CSV.
/// </summary>
public static class ResultRenderer
{
    /// <summary>Prose (notes, data sets, attribution) wraps at word boundaries at most this wide, even on a wide terminal.</summary>
    private const int ProseWidth = 100;

    public static void Render(ResultTable result, OutputFormat format, TextWriter stdout, TextWriter stderr, bool withMetadata = true)
    {
        switch (format)
        {
            case OutputFormat.Csv: RenderCsv(result, stdout, stderr, withMetadata); break;
            case OutputFormat.Json: RenderJson(result, stdout, withMetadata); break;
            case OutputFormat.Markdown: RenderMarkdown(result, stdout, withMetadata); break;
            default: RenderTable(result, stdout, withMetadata); break;
        }
        stdout.Flush();
    }

    /// <summary>
    /// A report that could not be made (<see cref="ResultTable.Unavailable"/>): one JSON object for machines,
    /// else the title and the reason on stdout (stderr for CSV, whose stdout must stay CSV).
    /// </summary>
    public static void RenderUnavailable(ResultTable result, OutputFormat format, TextWriter stdout, TextWriter stderr)
    {
        if (format == OutputFormat.Json)
        {
            RenderJson(result, stdout, withMetadata: true);
            return;
        }
        var writer = format == OutputFormat.Csv ? stderr : stdout;
        string prefix = format == OutputFormat.Csv ? "# " : "";
        foreach (var line in Wrap($"{result.Title}: not available. {result.Unavailable}", TextWidth(), ""))
            writer.WriteLine(prefix + line);
        writer.Flush();
    }

    /// <summary>A cell as text: counts with thousands separators and shares as percentages in human formats, numbers invariant.</summary>
    public static string Cell(object? value, ColumnKind kind, bool human) => value switch
    {
        null => "",
        double d when kind == ColumnKind.Share => human ? (d * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%" : d.ToString("0.######", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        long or int or short or ulong or uint or ushort when human && kind != ColumnKind.Number =>
            ((IFormattable)value).ToString("#,0", CultureInfo.InvariantCulture),
        DateTimeOffset t => human ? ReportWindow.Format(t) : ReportWindow.FormatIso(t),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static void RenderTable(ResultTable result, TextWriter stdout, bool withMetadata)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(stdout),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = Width();
        if (withMetadata)
        {
            stdout.WriteLine(result.Title);
            if (result.WindowText is { } w) stdout.WriteLine($"  window: {w}");
            foreach (var f in result.Facts) stdout.WriteLine($"  {f.Key}: {f.Text}");
            foreach (var n in result.Notes)
                foreach (var line in Wrap("note: " + n, TextWidth(), "    ", "  ")) stdout.WriteLine(line);
        }
        if (withMetadata && result.Rows.Count == 0)
        {
            // A report with nothing to list says so; a frame with only headers reads like a rendering fault.
            stdout.WriteLine("  (no rows)");
            WriteSources(result, stdout, "  ", "");
            return;
        }
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in result.Columns)
        {
            var column = new TableColumn(Markup.Escape(c.Name));
            if (c.Kind is ColumnKind.Integer or ColumnKind.Share or ColumnKind.Number) column.RightAligned();
            table.AddColumn(column);
        }
        foreach (var row in result.Rows)
        {
            var cells = new string[row.Length];
            for (int i = 0; i < row.Length; i++) cells[i] = Markup.Escape(Cell(row[i], result.Columns[i].Kind, human: true));
            table.AddRow(cells);
        }
        console.Write(table);
        if (withMetadata) WriteSources(result, stdout, "  ", "");
    }

    /// <summary>COLUMNS if set, the terminal width, or wide enough not to wrap when piped.</summary>
    private static int Width()
    {
        if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out int columns) && columns > 20) return columns;
        if (!Console.IsOutputRedirected)
        {
            try { if (Console.WindowWidth > 20) return Console.WindowWidth; }
            catch (IOException) { }
        }
        return 240;
    }

    private static int TextWidth() => Math.Min(Width(), ProseWidth);

    /// <summary>
    /// Word-wraps <paramref name="text"/> to <paramref name="width"/> columns; continuation lines get
    /// <paramref name="indent"/>, the first <paramref name="firstIndent"/>. A word longer than a line is kept whole.
    /// </summary>
    internal static IEnumerable<string> Wrap(string text, int width, string indent, string firstIndent = "")
    {
        var line = new StringBuilder(firstIndent);
        bool empty = true;
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!empty && line.Length + 1 + word.Length > width)
            {
                yield return line.ToString();
                line.Clear().Append(indent);
                empty = true;
            }
            if (!empty) line.Append(' ');
            line.Append(word);
            empty = false;
        }
        if (!empty) yield return line.ToString();
    }

    private static void RenderCsv(ResultTable result, TextWriter stdout, TextWriter stderr, bool withMetadata)
    {
        if (withMetadata)
        {
            stderr.WriteLine($"# {result.Title}");
            if (result.WindowText is { } w) stderr.WriteLine($"# window: {w}");
            foreach (var f in result.Facts) stderr.WriteLine($"# {f.Key}: {f.Text}");
            foreach (var n in result.Notes) stderr.WriteLine($"# note: {n}");
            foreach (var d in result.DatasetLines) stderr.WriteLine($"# data: {d}");
            foreach (var a in result.Attributions) stderr.WriteLine($"# attribution: {a}");
        }
        stdout.WriteLine(string.Join(',', result.Columns.Select(c => CsvField(c.Name))));
        var sb = new StringBuilder();
        foreach (var row in result.Rows)
        {
            sb.Clear();
            for (int i = 0; i < row.Length; i++)
            {
                if (i > 0) sb.Append(',');
                sb.Append(CsvField(Cell(row[i], result.Columns[i].Kind, human: false)));
            }
            stdout.WriteLine(sb.ToString());
        }
    }

    private static string CsvField(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>
    /// With metadata: one object (title, available, reason, window {since, until, days, all_data}, facts, notes,
    /// datasets, attribution, columns, rows); without (query): the array of rows. Row and fact values keep
    /// their type: numbers are numbers, times ISO 8601 UTC strings, shares fractions 0..1.
    /// </summary>
    private static void RenderJson(ResultTable result, TextWriter stdout, bool withMetadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            if (withMetadata)
            {
                w.WriteStartObject();
                w.WriteString("title", result.Title);
                w.WriteBoolean("available", result.Unavailable is null);
                if (result.Unavailable is { } why) w.WriteString("reason", why);
                w.WritePropertyName("window");
                if (result.Window is { } win)
                {
                    w.WriteStartObject();
                    w.WriteString("since", ReportWindow.FormatIso(win.Since));
                    w.WriteString("until", ReportWindow.FormatIso(win.Until));
                    w.WriteNumber("days", Math.Round(win.Days, 6));
                    w.WriteBoolean("all_data", result.WindowIsAllData);
                    w.WriteEndObject();
                }
                else w.WriteNullValue();
                w.WriteStartObject("facts");
                foreach (var f in result.Facts)
                {
                    w.WritePropertyName(f.JsonKey);
                    WriteJsonValue(w, f.Plain);
                }
                w.WriteEndObject();
                w.WriteStartArray("notes");
                foreach (var n in result.Notes) w.WriteStringValue(n);
                w.WriteEndArray();
                w.WriteStartArray("datasets");
                foreach (var d in result.Datasets) WriteDataset(w, d);
                w.WriteEndArray();
                w.WriteStartArray("attribution");
                foreach (var a in result.Attributions) w.WriteStringValue(a);
                w.WriteEndArray();
                w.WriteStartArray("columns");
                foreach (var c in result.Columns) w.WriteStringValue(c.Name);
                w.WriteEndArray();
                w.WritePropertyName("rows");
            }
            w.WriteStartArray();
            foreach (var row in result.Rows)
            {
                w.WriteStartObject();
                for (int i = 0; i < row.Length; i++)
                {
                    w.WritePropertyName(result.Columns[i].Name);
                    WriteJsonValue(w, row[i]);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (withMetadata) w.WriteEndObject();
        }
        stdout.WriteLine(Encoding.UTF8.GetString(ms.ToArray()));
    }

    private static void WriteDataset(Utf8JsonWriter w, DatasetInfo d)
    {
        w.WriteStartObject();
        w.WriteString("kind", RangeStore.KindName(d.Kind));
        w.WriteString("file", d.FileName);
        w.WriteString("format", d.Format);
        w.WriteNumber("ranges", d.RowCount);
        if (d.SourceDate is { } s) w.WriteString("source_date", ReportWindow.FormatIso(s));
        else w.WriteNull("source_date");
        if (d.SourceDateBasis is { } b) w.WriteString("source_date_basis", b);
        else w.WriteNull("source_date_basis");
        w.WriteString("imported_at", ReportWindow.FormatIso(d.ImportedAt));
        w.WriteString("attribution", d.Attribution);
        w.WriteEndObject();
    }

    private static void WriteJsonValue(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case bool b: w.WriteBooleanValue(b); break;
            case long l: w.WriteNumberValue(l); break;
            case int i: w.WriteNumberValue(i); break;
            case short s: w.WriteNumberValue(s); break;
            case sbyte sb: w.WriteNumberValue(sb); break;
            case byte by: w.WriteNumberValue(by); break;
            case ulong ul: w.WriteNumberValue(ul); break;
            case uint ui: w.WriteNumberValue(ui); break;
            case ushort us: w.WriteNumberValue(us); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): w.WriteNumberValue(f); break;
            case decimal m: w.WriteNumberValue(m); break;
            case DateTimeOffset t: w.WriteStringValue(ReportWindow.FormatIso(t)); break;
            default: w.WriteStringValue(Convert.ToString(v, CultureInfo.InvariantCulture)); break;
        }
    }

    private static void RenderMarkdown(ResultTable result, TextWriter stdout, bool withMetadata)
    {
        if (withMetadata)
        {
            stdout.WriteLine($"### {result.Title}");
            stdout.WriteLine();
            if (result.WindowText is { } w) stdout.WriteLine($"- window: {w}");
            foreach (var f in result.Facts) stdout.WriteLine($"- {f.Key}: {f.Text}");
            foreach (var n in result.Notes) stdout.WriteLine($"- note: {MdCell(n)}");
            if (result.Window is not null || result.Facts.Count > 0 || result.Notes.Count > 0) stdout.WriteLine();
        }
        stdout.WriteLine("| " + string.Join(" | ", result.Columns.Select(c => MdCell(c.Name))) + " |");
        stdout.WriteLine("|" + string.Concat(result.Columns.Select(c => c.Kind is ColumnKind.Integer or ColumnKind.Share or ColumnKind.Number ? "---:|" : "---|")));
        foreach (var row in result.Rows)
            stdout.WriteLine("| " + string.Join(" | ", row.Select((v, i) => MdCell(Cell(v, result.Columns[i].Kind, human: true)))) + " |");
        if (withMetadata && result.Datasets.Count > 0)
        {
            stdout.WriteLine();
            WriteSources(result, stdout, "- ", "", wrap: false);
        }
    }

    private static string MdCell(string s) => s.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    /// <summary>The data sets, grouped, then each distinct attribution once, wrapped at word boundaries.</summary>
    private static void WriteSources(ResultTable result, TextWriter stdout, string bullet, string heading, bool wrap = true)
    {
        if (result.Datasets.Count == 0) return;
        int width = wrap ? TextWidth() : int.MaxValue;
        string hang = new(' ', bullet.Length + 2);
        stdout.WriteLine(heading + "Data sets:");
        foreach (var d in result.DatasetLines)
            foreach (var line in Wrap(d, width, hang, bullet)) stdout.WriteLine(line);
        stdout.WriteLine(heading + "Attribution:");
        foreach (var a in result.Attributions)
            foreach (var line in Wrap(a, width, hang, bullet)) stdout.WriteLine(line);
    }
}
