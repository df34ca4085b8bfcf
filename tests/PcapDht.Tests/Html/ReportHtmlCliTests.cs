using System.Buffers.Binary;
using System.Text.Json;
using System.Xml.Linq;
using PcapDht.Cli;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Html;

[Collection(DemoDatabaseCollection.Name)]
public class ReportHtmlCliTests(DemoDatabaseFixture demo)
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public void ReportAsn_ChartSvg_DrawsTheRowsTheReportPrints()
    {
        string chart = demo.Path("asn.svg");
        var o = CliRunner.Run(["report", "asn", "--db", demo.DbPath, "--top", "8", "--format", "json", "--chart", chart, .. demo.Window]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        Assert.Contains($"chart written to {chart}", o.Stderr);
        using var doc = JsonDocument.Parse(o.Stdout); // stdout is still the report alone
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        var svg = XElement.Load(chart);
        var bars = svg.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "mark").ToList();
        Assert.Equal(rows.Select(r => r.GetProperty("ips").GetInt64().ToString()), bars.Where(b => (string)b.Attribute("data-series")! == "ips").Select(b => (string)b.Attribute("data-value")!));
        Assert.Equal(rows.Select(r => r.GetProperty("direct_ips").GetInt64().ToString()), bars.Where(b => (string)b.Attribute("data-series")! == "direct_ips").Select(b => (string)b.Attribute("data-value")!));
        string text = string.Join("\n", svg.Descendants(Svg + "text").Select(t => t.Value));
        Assert.Contains("Window: ", text);
        Assert.Contains("CC BY 4.0", text); // the data sets' licences travel with the chart
    }

    [Fact]
    public void ReportCountry_ChartPng_IsAnImageAtTwiceTheSvgSize_WithEveryCountryWhatever_Top()
    {
        string png = demo.Path("countries.png"), svg = demo.Path("countries.svg");
        var o = CliRunner.Run(["report", "country", "--db", demo.DbPath, "--top", "3", "--chart", png, .. demo.Window]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        byte[] bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0d, 0x0a, 0x1a, 0x0a }, bytes[..8]);
        Assert.Equal(1800, BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4)));
        Assert.True(bytes.Length > 50_000, $"PNG of {bytes.Length} bytes: nothing drawn?");

        Assert.Equal(ExitCodes.Ok, CliRunner.Run(["report", "country", "--db", demo.DbPath, "--top", "3", "--chart", svg, .. demo.Window]).ExitCode);
        var shaded = XElement.Load(svg).Descendants().Where(e => ((string?)e.Attribute("class"))?.StartsWith("mark", StringComparison.Ordinal) == true).ToList();
        var all = CliRunner.Run(["report", "country", "--db", demo.DbPath, "--top", "0", "--format", "json", .. demo.Window]);
        using var doc = JsonDocument.Parse(all.Stdout);
        Assert.Equal(doc.RootElement.GetProperty("rows").GetArrayLength(), shaded.Count);
        Assert.True(shaded.Count > 3);
    }

    [Fact]
    public void ReportDaily_ChartSvg_DrawsNewReturningAndGone_ByAsnOneLinePerAsn()
    {
        string chart = demo.Path("churn.svg");
        var o = CliRunner.Run(["report", "daily", "--db", demo.DbPath, "--format", "json", "--chart", chart, .. demo.Window]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        Assert.Contains($"chart written to {chart}", o.Stderr);
        using var doc = JsonDocument.Parse(o.Stdout);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        var marks = XElement.Load(chart).Descendants(Svg + "circle").Where(c => (string?)c.Attribute("class") == "mark").ToList();
        foreach (var column in new[] { "ips", "new", "returning", "gone" })
        {
            // One point per day with a value (gone has none on the last day of data), at the report's number.
            var expected = rows.Where(r => r.GetProperty(column).ValueKind == JsonValueKind.Number)
                .Select(r => (r.GetProperty("day").GetString(), r.GetProperty(column).GetInt64().ToString()));
            var drawn = marks.Where(m => (string)m.Attribute("data-series")! == column).Select(m => ((string?)m.Attribute("data-category"), (string)m.Attribute("data-value")!));
            Assert.Equal(expected, drawn);
        }

        string byAsn = demo.Path("daily-asn.svg");
        var asn = CliRunner.Run(["report", "daily", "--db", demo.DbPath, "--by", "asn", "--top", "3", "--format", "json", "--chart", byAsn, .. demo.Window]);
        Assert.True(asn.ExitCode == ExitCodes.Ok, asn.Stderr);
        using var asnDoc = JsonDocument.Parse(asn.Stdout);
        var lines = XElement.Load(byAsn).Descendants(Svg + "path").Where(p => (string?)p.Attribute("class") == "line").Select(p => (string)p.Attribute("data-series")!).ToList();
        Assert.Equal(asnDoc.RootElement.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("asn").GetInt64()).Distinct().Count(), lines.Count);
        Assert.Equal(3, lines.Count);
        Assert.Equal(ExitCodes.Usage, CliRunner.Run(["report", "daily", "--db", demo.DbPath, "--chart", "x.gif"]).ExitCode);
    }

    [Fact]
    public void ReportHtml_WritesThePageAndSaysWhere()
    {
        string page = demo.Path("sub/dir/page.html");
        var o = CliRunner.Run(["report", "html", "--db", demo.DbPath, "--out", page, .. demo.Window]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        Assert.StartsWith($"Wrote {page} (", o.Stdout);
        // The demo's captures hold no finished lookup: the size panel gives its reason, and stderr says so too.
        Assert.Contains("12 of 13 panels", o.Stdout);
        Assert.Contains("panel 'How big is the DHT?' not available: too few converged lookups", o.Stderr);
        string html = File.ReadAllText(page);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.InRange(new FileInfo(page).Length, 100_000, 3_000_000);
        Assert.False(File.Exists(page + ".tmp"));
    }

    [Theory]
    [InlineData(new[] { "report", "html" }, ExitCodes.Usage, "--out FILE is required")]
    [InlineData(new[] { "report", "asn", "--chart", "x.gif" }, ExitCodes.Usage, "must end in .svg or .png")]
    [InlineData(new[] { "report", "html", "--out", "p.html", "--days", "0" }, ExitCodes.Usage, "--days must be a positive number")]
    public void BadOptions_OneLineAndUsageExit(string[] args, int exit, string message)
    {
        var o = CliRunner.Run([.. args, "--db", demo.DbPath]);
        Assert.Equal(exit, o.ExitCode);
        Assert.Contains(message, o.Stderr + o.Stdout);
    }

    [Fact]
    public void ReportHtmlAndChart_UnwritablePlace_OneLineFailureAndNoFileLeft()
    {
        using var t = new TempFiles();
        string blocker = t.Write("not-a-dir", "x"); // a file where the output's folder should be
        var page = CliRunner.Run(["report", "html", "--db", demo.DbPath, "--out", Path.Combine(blocker, "p.html"), .. demo.Window]);
        Assert.Equal(ExitCodes.Failure, page.ExitCode);
        Assert.StartsWith("pcapdht report html: cannot write ", page.Stderr);
        Assert.Single(page.Stderr.Trim().Split('\n'));
        var chart = CliRunner.Run(["report", "asn", "--db", demo.DbPath, "--chart", Path.Combine(blocker, "a.png"), .. demo.Window]);
        Assert.Equal(ExitCodes.Failure, chart.ExitCode);
        Assert.Contains("pcapdht report asn: cannot write the chart to ", chart.Stderr);
        Assert.Equal(["not-a-dir"], Directory.GetFileSystemEntries(t.Dir).Select(Path.GetFileName));
    }

    [Fact]
    public void ReportHtml_MissingDatabase_OrNoCaptures_WritesNothing()
    {
        using var t = new TempFiles();
        string page = t.Path("p.html");
        var missing = CliRunner.Run(["report", "html", "--db", t.Path("none.duckdb"), "--out", page]);
        Assert.Equal(ExitCodes.DatabaseError, missing.ExitCode);
        Assert.Single(missing.Stderr.Trim().Split('\n'));

        string asnOnly = t.Path("asn.duckdb");
        Assert.Equal(ExitCodes.Ok, CliRunner.Run(["asn", "import", Path.Combine(RepoPaths.AsnSamples, "asn-ipv4.csv"), "--db", asnOnly]).ExitCode);
        var empty = CliRunner.Run(["report", "html", "--db", asnOnly, "--out", page]);
        Assert.Equal(ExitCodes.NoData, empty.ExitCode);
        Assert.Contains("no captures", empty.Stderr);
        Assert.False(File.Exists(page));
    }
}
