using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using PcapDht.Analysis;
using Spectre.Console;

namespace PcapDht.Cli.Rendering;

/// <summary>
/// Writes a <see cref="ResultTable"/> as a table, CSV, JSON or Markdown. Any verb with data output
/// uses this. Facts (window, totals) and sources (data sets with attribution) go with the data:
/// above and below a table or Markdown, inside the JSON object, and to stderr as '#' lines for
/// CSV so that stdout stays plain CSV.
/// </summary>
public static class ResultRenderer
{
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

    /// <summary>A cell as text: shares as percentages in human formats, numbers invariant.</summary>
    public static string Cell(object? value, ColumnKind kind, bool human) => value switch
    {
        null => "",
        double d when kind == ColumnKind.Share => human ? (d * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%" : d.ToString("0.######", CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
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
            foreach (var (k, v) in result.Facts) stdout.WriteLine($"  {k}: {v}");
        }
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in result.Columns)
        {
            var column = new TableColumn(Markup.Escape(c.Name));
            if (c.Kind is ColumnKind.Integer or ColumnKind.Share) column.RightAligned();
            table.AddColumn(column);
        }
        foreach (var row in result.Rows)
        {
            var cells = new string[row.Length];
            for (int i = 0; i < row.Length; i++) cells[i] = Markup.Escape(Cell(row[i], result.Columns[i].Kind, human: true));
            table.AddRow(cells);
        }
        console.Write(table);
        if (withMetadata) WriteSources(result, stdout, "");
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

    private static void RenderCsv(ResultTable result, TextWriter stdout, TextWriter stderr, bool withMetadata)
    {
        if (withMetadata)
        {
            stderr.WriteLine($"# {result.Title}");
            foreach (var (k, v) in result.Facts) stderr.WriteLine($"# {k}: {v}");
            foreach (var s in result.Sources) stderr.WriteLine($"# data: {s}");
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

    private static void RenderJson(ResultTable result, TextWriter stdout, bool withMetadata)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            if (withMetadata)
            {
                w.WriteStartObject();
                w.WriteString("title", result.Title);
                w.WriteStartObject("facts");
                foreach (var (k, v) in result.Facts) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteStartArray("sources");
                foreach (var s in result.Sources) w.WriteStringValue(s);
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
            default: w.WriteStringValue(Convert.ToString(v, CultureInfo.InvariantCulture)); break;
        }
    }

    private static void RenderMarkdown(ResultTable result, TextWriter stdout, bool withMetadata)
    {
        if (withMetadata)
        {
            stdout.WriteLine($"### {result.Title}");
            stdout.WriteLine();
            foreach (var (k, v) in result.Facts) stdout.WriteLine($"- {k}: {v}");
            if (result.Facts.Count > 0) stdout.WriteLine();
        }
        stdout.WriteLine("| " + string.Join(" | ", result.Columns.Select(c => MdCell(c.Name))) + " |");
        stdout.WriteLine("|" + string.Concat(result.Columns.Select(c => c.Kind is ColumnKind.Integer or ColumnKind.Share ? "---:|" : "---|")));
        foreach (var row in result.Rows)
            stdout.WriteLine("| " + string.Join(" | ", row.Select((v, i) => MdCell(Cell(v, result.Columns[i].Kind, human: true)))) + " |");
        if (withMetadata && result.Sources.Count > 0)
        {
            stdout.WriteLine();
            WriteSources(result, stdout, "- ");
        }
    }

    private static string MdCell(string s) => s.Replace("|", "\\|").Replace("\r", " ").Replace("\n", " ");

    private static void WriteSources(ResultTable result, TextWriter stdout, string bullet)
    {
        if (result.Sources.Count == 0) return;
        stdout.WriteLine("Data sets:");
        foreach (var s in result.Sources) stdout.WriteLine((bullet.Length == 0 ? "  " : bullet) + s);
    }
}
