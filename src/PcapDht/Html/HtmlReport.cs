using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Charts;

namespace PcapDht.Html;

/// <summary>Who made the page and from what, printed in its header and footer.</summary>
public sealed record HtmlReportInfo(string ToolVersion, DateTimeOffset GeneratedAt, string DatabaseName);

/// <summary>
/// <c>pcapdht report html</c>: one self-contained HTML file. Everything is inline (style, SVG charts, map
/// geometry); there is no script and no font file. Its Content-Security-Policy allows nothing to be
/// fetched (default-src 'none'; the one style block by its hash; data: images for the favicon), so opening
/// it makes no network request, offline or not.
/// </summary>
public static class HtmlReport
{
    public const string StyleResource = "PcapDht.Html.report.css";

    private static readonly Lazy<string> Style = new(() =>
    {
        using var s = typeof(HtmlReport).Assembly.GetManifestResourceStream(StyleResource)
                      ?? throw new InvalidOperationException($"resource {StyleResource} is missing from the build");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    });

    /// <summary>The page's Content-Security-Policy, with the hash of the style block it carries.</summary>
    public static string ContentSecurityPolicy(string style) =>
        $"default-src 'none'; style-src '{StyleHash(style)}'; img-src data:; font-src 'none'; connect-src 'none'; script-src 'none'; " +
        "object-src 'none'; media-src 'none'; frame-src 'none'; worker-src 'none'; manifest-src 'none'; base-uri 'none'; form-action 'none'";

    public static string StyleHash(string style) => "sha256-" + Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(style)));

    /// <summary>Runs every panel's report on <paramref name="db"/> and writes the page.</summary>
    public static string Build(DuckDBConnection db, ReportOptions options, HtmlReportInfo info, IReadOnlyList<ReportPanel>? panels = null)
    {
        panels ??= ReportPanels.Default;
        return Write(panels, Run(db, options, panels), options, info);
    }

    /// <summary>Each panel's report, by panel id, run once.</summary>
    public static Dictionary<string, ResultTable> Run(DuckDBConnection db, ReportOptions options, IReadOnlyList<ReportPanel> panels)
    {
        var results = new Dictionary<string, ResultTable>(StringComparer.Ordinal);
        foreach (var panel in panels) results[panel.Id] = panel.Report(db, options);
        return results;
    }

    /// <summary>Writes the page from reports already run (one per panel id).</summary>
    public static string Write(IReadOnlyList<ReportPanel> panels, IReadOnlyDictionary<string, ResultTable> results, ReportOptions options, HtmlReportInfo info)
    {
        string style = Style.Value;
        var window = results.Values.Select(r => r.Window).FirstOrDefault(w => w is not null);
        var h = new StringBuilder(256 * 1024);
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        h.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"").Append(ContentSecurityPolicy(style)).Append("\">\n");
        h.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        h.Append("<meta name=\"generator\" content=\"pcapdht ").Append(E(info.ToolVersion)).Append("\">\n");
        h.Append("<link rel=\"icon\" href=\"data:,\">\n");
        h.Append("<title>BitTorrent DHT nodes").Append(window is { } tw ? E($", {Day(tw.Since)} to {Day(tw.Until)}") : "").Append(" — PcapDht</title>\n");
        h.Append("<style>").Append(style).Append("</style>\n</head>\n<body>\n");

        h.Append("<header>\n<h1>Who was on the BitTorrent DHT</h1>\n<p class=\"sub\">");
        h.Append(window is { } w ? E($"{ReportWindow.Format(w.Since)} to {ReportWindow.Format(w.Until)} ({Days(w)})") : "All data");
        h.Append(" · from <code>").Append(E(info.DatabaseName)).Append("</code></p>\n<nav>");
        foreach (var panel in panels) h.Append("<a href=\"#").Append(E(panel.Id)).Append("\">").Append(E(panel.Title)).Append("</a> ");
        h.Append("</nav>\n</header>\n<main>\n");

        foreach (var panel in panels) WritePanel(h, panel, results[panel.Id], results, window);

        h.Append("</main>\n<footer>\n");
        h.Append("<p>Made by <code>pcapdht report html</code> ").Append(E(info.ToolVersion)).Append(" on ")
         .Append(E(ReportWindow.Format(info.GeneratedAt))).Append(". Every number is the output of the same report as <code>pcapdht report asn|country|daily|size|clients|sybil|bep42|overview</code> for this window")
         .Append(options.Ipv6Prefix is { } p ? E($" (IPv6 counted per /{p} prefix)") : "")
         .Append("; addresses are counted once however often they were seen. Method and caveats: docs/analysis.md in the PcapDht sources.</p>\n");
        h.Append("<p>").Append(E(WorldAtlas.Attribution)).Append("; country names from i18n-iso-countries (MIT).</p>\n");
        h.Append("<p>This page is one self-contained file: it runs no script and loads nothing from the network (its Content-Security-Policy forbids it), so it opens offline and can be attached to an email.</p>\n");
        h.Append("</footer>\n</body>\n</html>\n");
        return h.ToString();
    }

    private static void WritePanel(StringBuilder h, ReportPanel panel, ResultTable result, IReadOnlyDictionary<string, ResultTable> results, ReportWindow? pageWindow)
    {
        string state = result.Unavailable is not null ? "unavailable" : result.Rows.Count == 0 && panel.Views.All(v => v is not HeadlineView) ? "empty" : "ok";
        h.Append("<section class=\"panel\" id=\"").Append(E(panel.Id)).Append("\" data-state=\"").Append(state).Append("\">\n");
        h.Append("<h2>").Append(E(panel.Title)).Append("</h2>\n");
        h.Append("<p class=\"caption\">").Append(E(panel.Caption)).Append("</p>\n");
        if (result.Unavailable is { } why)
        {
            h.Append("<p class=\"unavailable\">Not available: ").Append(E(why)).Append("</p>\n</section>\n");
            return;
        }
        WriteFacts(h, panel, result, pageWindow);
        if (state == "empty")
        {
            h.Append("<p class=\"empty\">").Append(E(panel.Empty)).Append("</p>\n</section>\n");
            return;
        }
        foreach (var view in panel.Views)
        {
            switch (view)
            {
                case ChartView chart:
                    if (chart.Spec.Draw(result) is { } part)
                        h.Append("<figure>").Append(SvgDocument.Write(part, ChartFrame.None, $"{panel.Title}: {result.Title}")).Append("</figure>\n");
                    break;
                case TableView table:
                    WriteTable(h, panel.Id, result, table);
                    break;
                case HeadlineView:
                    WriteHeadline(h, result, results);
                    break;
            }
        }
        if (result.Datasets.Count > 0 && panel.Views.All(v => v is not HeadlineView))
            h.Append("<p class=\"sources\">Data: ").Append(E(string.Join(", ", result.Datasets.Select(d => d.FileName).Distinct()))).Append(" (attribution under \u201cAt a glance\u201d)</p>\n");
        h.Append("</section>\n");
    }

    private static void WriteFacts(StringBuilder h, ReportPanel panel, ResultTable result, ReportWindow? pageWindow)
    {
        var facts = result.Facts.Where(f => panel.Facts is null ? f.Key != "window" : panel.Facts.Contains(f.Key)).ToList();
        // A panel whose report covers another window than the page's says so (a report that ignores the window).
        if (result.Window is { } w && pageWindow is { } pw && w != pw) facts.Insert(0, new("window", w.ToString()));
        if (panel.Views.Any(v => v is HeadlineView)) return;
        if (facts.Count > 0)
        {
            h.Append("<p class=\"facts\">");
            for (int i = 0; i < facts.Count; i++)
            {
                if (i > 0) h.Append(" · ");
                h.Append("<span data-fact=\"").Append(E(facts[i].JsonKey)).Append("\">").Append(E(facts[i].Key)).Append(": <b>").Append(E(facts[i].Text)).Append("</b></span>");
            }
            h.Append("</p>\n");
        }
        foreach (var note in result.Notes) h.Append("<p class=\"note\">").Append(E(note)).Append("</p>\n");
    }

    private static void WriteHeadline(StringBuilder h, ResultTable overview, IReadOnlyDictionary<string, ResultTable> results)
    {
        var asn = results.GetValueOrDefault(ReportPanels.Asn);
        var country = results.GetValueOrDefault(ReportPanels.Map);
        var captures = results.GetValueOrDefault(ReportPanels.Captures);
        string? Metric(string name) => overview.Rows.FirstOrDefault(r => r[0] as string == name)?[1] is { } v ? Convert.ToString(v, CultureInfo.InvariantCulture) : null;
        string? addresses = Available(asn)?.Fact("distinct addresses") ?? Available(country)?.Fact("distinct addresses");
        var window = overview.Window;
        var tiles = new List<(string Key, string Label, string? Value, string Note)>
        {
            ("window", "days in the window", window is { } w ? (w.Until - w.Since).TotalDays.ToString("0.##", CultureInfo.InvariantCulture) : null,
                window is { } w2 ? $"{Day(w2.Since)} to {Day(w2.Until)}" : ""),
            ("captures", "captures", Available(captures)?.Fact("captures"), "files and live sessions with stored data"),
            ("messages", "DHT messages", Metric("messages"), "queries, responses, errors"),
            ("addresses", "distinct IP addresses", addresses, "nodes seen or named"),
            ("asns", "networks (ASNs)", Available(asn)?.Fact("ASNs"), "with at least one address"),
            ("countries", "countries", Available(country)?.Fact("countries"), "with at least one address"),
        };
        h.Append("<div class=\"tiles\">\n");
        foreach (var (key, label, value, note) in tiles)
        {
            h.Append("<div class=\"tile\" data-metric=\"").Append(key).Append("\"><span class=\"value\">").Append(E(value is null ? "—" : Number(value)))
             .Append("</span><span class=\"label\">").Append(E(label)).Append("</span><span class=\"note\">")
             .Append(E(value is null ? "not available: see its panel" : note)).Append("</span></div>\n");
        }
        h.Append("</div>\n");
        var datasets = results.Values.SelectMany(r => r.Datasets).Concat(overview.Datasets).ToList();
        h.Append("<div class=\"datasets\"><h3>Data sets</h3>\n");
        if (datasets.Count == 0)
            h.Append("<p>No ASN or country data set is imported: networks and countries cannot be shown (pcapdht asn import).</p>\n");
        else
        {
            h.Append("<ul>\n");
            foreach (var s in ResultTable.DescribeDatasets(datasets)) h.Append("<li>").Append(E(s)).Append("</li>\n");
            h.Append("</ul>\n<p class=\"attribution\">");
            h.Append(E(string.Join(" · ", datasets.Select(d => d.Attribution).Where(a => a.Length > 0).Distinct()))).Append("</p>\n");
        }
        h.Append("</div>\n");
    }

    private static void WriteTable(StringBuilder h, string id, ResultTable result, TableView view)
    {
        var columns = view.Columns.Where(c => result.Columns.Any(rc => rc.Name == c.Column)).ToList();
        h.Append("<div class=\"table-wrap\"><table class=\"data\" id=\"table-").Append(E(id)).Append("\">\n<thead><tr>");
        foreach (var (column, heading) in columns)
        {
            var kind = result.Columns[result.ColumnIndex(column)].Kind;
            h.Append("<th data-column=\"").Append(E(column)).Append('"').Append(IsNumber(kind) ? " class=\"num\"" : "").Append('>').Append(E(heading)).Append("</th>");
        }
        h.Append("</tr></thead>\n<tbody>\n");
        foreach (var row in result.Rows)
        {
            h.Append("<tr>");
            foreach (var (column, _) in columns)
            {
                int i = result.ColumnIndex(column);
                var kind = result.Columns[i].Kind;
                h.Append("<td data-column=\"").Append(E(column)).Append('"').Append(IsNumber(kind) ? " class=\"num\"" : "").Append('>')
                 .Append(E(Cell(row[i], Identifiers.Contains(column) ? ColumnKind.Other : kind))).Append("</td>");
            }
            h.Append("</tr>\n");
        }
        h.Append("</tbody>\n</table></div>\n");
    }

    /// <summary>Integer columns that name something rather than count it: no thousands separators (AS13335, not AS13,335).</summary>
    private static readonly HashSet<string> Identifiers = new(StringComparer.Ordinal) { "asn", "capture_id" };

    private static bool IsNumber(ColumnKind kind) => kind is ColumnKind.Integer or ColumnKind.Share or ColumnKind.Number;

    /// <summary>A cell as the text reports show it (shares as percentages with two decimals), integers with thousands separators.</summary>
    private static string Cell(object? value, ColumnKind kind) => value switch
    {
        null => "",
        double d when kind == ColumnKind.Share => (d * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%",
        long or int when kind is ColumnKind.Integer or ColumnKind.Share => ChartTheme.Count(Convert.ToDouble(value, CultureInfo.InvariantCulture)),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>"3111" → "3,111"; anything else as it is.</summary>
    private static string Number(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? ChartTheme.Count(n) : text;

    private static ResultTable? Available(ResultTable? t) => t is { Unavailable: null } ? t : null;

    private static string Day(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Days(ReportWindow w) => (w.Until - w.Since).TotalDays.ToString("0.##", CultureInfo.InvariantCulture) + " days";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
