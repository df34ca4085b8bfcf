using System.Text.RegularExpressions;
using PcapDht.Analysis;
using PcapDht.Html;
using PcapDht.Tests.Analysis;

namespace PcapDht.Tests.Html;

public partial class HtmlReportTests
{
    private static readonly HtmlReportInfo Info = new("1.2.3", new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), "known.duckdb");

    [Fact]
    public void Page_IsSelfContained_ItsPolicyAllowsNoFetchAndHashesItsOnlyStyle()
    {
        using var k = new KnownDatabase();
        string html = HtmlReport.Build(k.Db, new ReportOptions(), Info);

        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(" style=\"", html, StringComparison.Ordinal);
        // Nothing that a browser would load: no src, no stylesheet or font link, no url(); hrefs are in-page anchors or the empty data: icon.
        Assert.DoesNotContain(" src=", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("@import", html, StringComparison.OrdinalIgnoreCase);
        Assert.All(HrefRegex().Matches(html), m => Assert.Matches("^(#[a-z][a-z0-9]*|data:,)$", m.Groups[1].Value));

        var style = Assert.Single(StyleRegex().Matches(html)).Groups[1].Value;
        string csp = CspRegex().Match(html).Groups[1].Value;
        Assert.StartsWith("default-src 'none'; ", csp);
        Assert.Contains($"style-src '{HtmlReport.StyleHash(style)}'", csp);
        foreach (var directive in new[] { "script-src 'none'", "connect-src 'none'", "font-src 'none'", "img-src data:", "base-uri 'none'", "form-action 'none'" })
            Assert.Contains(directive, csp);
        Assert.True(html.IndexOf("Content-Security-Policy", StringComparison.Ordinal) < html.IndexOf("<style>", StringComparison.Ordinal));
        Assert.True(html.Length < 1_000_000, $"page is {html.Length} characters");
    }

    [Fact]
    public void Page_EveryPanelHasItsCaption_AndTheDataSetsWithAttribution()
    {
        using var k = new KnownDatabase();
        string html = HtmlReport.Build(k.Db, new ReportOptions(), Info);
        // KnownDatabase's responses carry no response time, and it was written by hand, without the store's lookup,
        // reply-contact and BEP 42 relations: those panels say so instead of drawing nothing.
        var states = new Dictionary<string, string>
        {
            [ReportPanels.ResponseTimes] = "empty", [ReportPanels.Size] = "unavailable", [ReportPanels.Sybil] = "unavailable", [ReportPanels.Bep42] = "unavailable",
        };
        var wrong = ReportPanels.Default.Select(p => (p.Id, Expected: states.GetValueOrDefault(p.Id, "ok")))
            .Where(p => !html.Contains($"<section class=\"panel\" id=\"{p.Id}\" data-state=\"{p.Expected}\">", StringComparison.Ordinal))
            .Select(p => $"{p.Id}: {Regex.Match(html, $"id=\"{p.Id}\" data-state=\"([a-z]+)\"").Groups[1].Value}, not {p.Expected}").ToList();
        Assert.True(wrong.Count == 0, string.Join("; ", wrong));
        foreach (var panel in ReportPanels.Default)
            Assert.Contains(System.Net.WebUtility.HtmlEncode(panel.Caption), html);
        Assert.Contains("Not available: This database has no lookup_queries relation", html);
        Assert.Contains("Not available: This database has no reply_contacts relation", html);
        Assert.Contains("No answer in this window could be matched to its query.", html);
        Assert.Contains("@ip-location-db/asn by sapics, CC BY 4.0", html);
        Assert.Contains("Natural Earth", html);
        Assert.Contains("2026-02-28 12:00:00Z to 2026-03-30 12:00:00Z (30 days)", html);
        // The ASN table holds report asn's rows: Rostelecom first with 6 addresses, 1 seen sending.
        Assert.Contains("<td data-column=\"asn\" class=\"num\">12389</td><td data-column=\"as_name\">Rostelecom</td><td data-column=\"country\">RU</td><td data-column=\"ips\" class=\"num\">6</td><td data-column=\"direct_ips\" class=\"num\">1</td>", html);
        Assert.Contains("<div class=\"tile\" data-metric=\"addresses\"><span class=\"value\">11</span>", html);
    }

    [Fact]
    public void Page_WithoutAsnData_SaysWhyInThosePanels_AndShowsTheRest()
    {
        using var k = new KnownDatabase(withRanges: false);
        string html = HtmlReport.Build(k.Db, new ReportOptions(), Info);
        Assert.Contains("<section class=\"panel\" id=\"asn\" data-state=\"unavailable\">", html);
        Assert.Contains("<section class=\"panel\" id=\"map\" data-state=\"unavailable\">", html);
        Assert.Contains("Not available: This database has no ASN data", html);
        Assert.Contains("<section class=\"panel\" id=\"daily\" data-state=\"ok\">", html);
        Assert.Contains("<div class=\"tile\" data-metric=\"asns\"><span class=\"value\">—</span>", html);
        Assert.Contains("No ASN or country data set is imported", html);
    }

    [Fact]
    public void Page_PanelsAreData_AReportBecomesAPanelWithOneEntry()
    {
        using var k = new KnownDatabase();
        var extra = new ReportPanel("custom", "A new report", "What the new report counts, in one line for anyone.",
            (db, o) => Reports.MalformedReasons(db, o))
        {
            Views = [new ChartView(PcapDht.Charts.ReportCharts.Malformed), new TableView([("reason", "Reason"), ("datagrams", "Datagrams")])],
        };
        string html = HtmlReport.Build(k.Db, new ReportOptions(), Info, [.. ReportPanels.Default, extra]);
        Assert.Contains("<a href=\"#custom\">A new report</a>", html);
        Assert.Contains("<section class=\"panel\" id=\"custom\" data-state=\"ok\">", html);
        Assert.Contains("<td data-column=\"reason\">truncated</td><td data-column=\"datagrams\" class=\"num\">1</td>", html);
    }

    [GeneratedRegex("href=\"([^\"]*)\"")]
    private static partial Regex HrefRegex();

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StyleRegex();

    [GeneratedRegex("http-equiv=\"Content-Security-Policy\" content=\"([^\"]*)\"")]
    private static partial Regex CspRegex();
}
