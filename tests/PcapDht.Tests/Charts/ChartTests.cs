using System.Globalization;
using System.Xml.Linq;
using PcapDht.Analysis;
using PcapDht.Charts;

namespace PcapDht.Tests.Charts;

public class ChartTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>The chart as a standalone document, parsed as XML (so an unescaped label fails here).</summary>
    private static XElement Parse(ChartPart part, ChartFrame? frame = null) => XElement.Parse(SvgDocument.Write(part, frame ?? ChartFrame.None, "test"));

    private static List<XElement> Marks(XElement svg) =>
        svg.Descendants().Where(e => ((string?)e.Attribute("class"))?.Split(' ').Contains("mark") == true).ToList();

    private static double D(XElement e, string attribute) => double.Parse((string)e.Attribute(attribute)!, CultureInfo.InvariantCulture);

    [Fact]
    public void BarChart_Grouped_OneMarkPerValue_LengthsProportional()
    {
        var data = new BarChartData(["AS1 A", "AS2 B", "AS3 C"],
            [new BarSeries("ips", "all", [400, 200, 100]), new BarSeries("direct_ips", "direct", [300, 0, 50])]);
        var svg = Parse(BarChart.Draw(data));
        var marks = Marks(svg);
        Assert.Equal(6, marks.Count);
        Assert.Equal(["400", "200", "100", "300", "0", "50"],
            marks.OrderBy(m => (string)m.Attribute("data-series")! == "ips" ? 0 : 1).Select(m => (string)m.Attribute("data-value")!));
        var ips = marks.Where(m => (string)m.Attribute("data-series")! == "ips").ToList();
        Assert.Equal(2.0, D(ips[0], "width") / D(ips[1], "width"), 2);
        Assert.Equal(4.0, D(ips[0], "width") / D(ips[2], "width"), 2);
        Assert.Equal(0, D(marks.Single(m => (string)m.Attribute("data-value")! == "0"), "width"));
        Assert.Equal("AS1 A — all: 400", (string)ips[0].Element(Svg + "title")!);
        Assert.Equal(2, svg.Descendants(Svg + "text").Count(t => t.Value is "all" or "direct")); // the legend
    }

    [Fact]
    public void BarChart_Stacked_BarsEndToEnd_TotalLabelled()
    {
        var data = new BarChartData(["get_peers"], [new BarSeries("q", "queries", [60]), new BarSeries("r", "responses", [40])], BarLayout.Stacked);
        var svg = Parse(BarChart.Draw(data));
        var marks = Marks(svg);
        Assert.Equal(D(marks[0], "x") + D(marks[0], "width"), D(marks[1], "x"), 1);
        Assert.Equal(1.5, D(marks[0], "width") / D(marks[1], "width"), 2);
        Assert.Contains(svg.Descendants(Svg + "text"), t => t.Value == "100");
    }

    [Fact]
    public void BarChart_HostileAndLongLabels_AreEscapedAndShortenedWithTheFullTextInATooltip()
    {
        string hostile = "<script>alert(1)</script> & \"quotes\" \u0001";
        string longName = "AS64512 " + new string('X', 200);
        string markup = SvgDocument.Write(BarChart.Draw(new BarChartData([hostile, longName], [new BarSeries("ips", "ips", [1, 2])])), ChartFrame.None, "t");
        Assert.DoesNotContain("<script", markup);
        var svg = XElement.Parse(markup);
        var label = svg.Descendants(Svg + "text").Single(t => t.Value.StartsWith("AS64512", StringComparison.Ordinal));
        Assert.EndsWith("…", label.Value);
        Assert.Equal(longName, (string)label.Element(Svg + "title")!);
        Assert.Contains(Marks(svg), m => ((string)m.Attribute("data-category")!).StartsWith("<script>", StringComparison.Ordinal));
    }

    [Fact]
    public void LineChart_OnePointPerDayAndSeries_HigherValueDrawnHigher_BandAroundIt()
    {
        var days = Enumerable.Range(0, 4).Select(i => new DateOnly(2026, 9, 1).AddDays(i)).ToList();
        var data = new LineChartData(days,
        [
            new LineSeries("all", "all addresses", [10, 20, null, 40]) { Low = [5, 15, null, 30], High = [15, 25, null, 50] },
            new LineSeries("as1", "AS1", [1, 2, 3, 4]),
        ]);
        var svg = Parse(LineChart.Draw(data));
        var marks = Marks(svg);
        Assert.Equal(7, marks.Count); // the null day has no point
        var all = marks.Where(m => (string)m.Attribute("data-series")! == "all").ToList();
        Assert.True(D(all[2], "cy") < D(all[0], "cy"));
        Assert.Equal("2026-09-04", (string)all[2].Attribute("data-category")!);
        // The gap splits the line and the band into two pieces each.
        var line = svg.Descendants(Svg + "path").Single(p => (string?)p.Attribute("class") == "line" && (string?)p.Attribute("data-series") == "all");
        Assert.Equal(2, ((string)line.Attribute("d")!).Count(c => c == 'M'));
        Assert.Equal(2, svg.Descendants(Svg + "path").Count(p => (string?)p.Attribute("class") == "band"));
        Assert.Contains("(30 – 50)", (string)all[2].Element(Svg + "title")!);
    }

    [Fact]
    public void LineSpec_FillsDaysASeriesWasNotSeenWithZero()
    {
        var table = new ResultTable
        {
            Title = "t",
            Columns = [new("day", ColumnKind.Text), new("asn", ColumnKind.Integer), new("as_name", ColumnKind.Text), new("ips", ColumnKind.Integer)],
        };
        table.Rows.Add(["2026-09-01", null, null, 5L]);
        table.Rows.Add(["2026-09-02", null, null, 7L]);
        table.Rows.Add(["2026-09-02", 64512L, "Example", 3L]);
        var svg = Parse(ReportCharts.AddressesPerDay.Draw(table)!);
        var asn = Marks(svg).Where(m => (string)m.Attribute("data-series")! == "AS64512 Example").ToList();
        Assert.Equal(["0", "3"], asn.Select(m => (string)m.Attribute("data-value")!));
    }

    [Fact]
    public void Histogram_BarsInBinOrder_EdgesLabelled()
    {
        var bins = new List<HistogramBin> { new("< 0.1 ms", null, 5), new("0.1 ms–0.2 ms", "0.1 ms", 10), new("0.2 ms–0.5 ms", "0.2 ms", 0) };
        var svg = Parse(Histogram.Draw(new HistogramData(bins, "answers")));
        var marks = Marks(svg);
        Assert.Equal(["5", "10", "0"], marks.Select(m => (string)m.Attribute("data-value")!));
        Assert.True(D(marks[1], "height") > D(marks[0], "height"));
        Assert.Contains(svg.Descendants(Svg + "text"), t => t.Value == "0.2 ms");
        Assert.Contains("(66.7%)", (string)marks[1].Element(Svg + "title")!);
    }

    [Fact]
    public void WorldMap_ShadesOnALogScale_DotsForSmallCountries_ListsCodesItCannotPlace()
    {
        var svg = Parse(WorldMap.Draw(new Dictionary<string, double> { ["CN"] = 1000, ["de"] = 10, ["FR"] = 1, ["SG"] = 100, ["EU"] = 7 }, "addresses"));
        var marks = Marks(svg).ToDictionary(m => (string)m.Attribute("data-country")!);
        Assert.Equal(["CN", "DE", "FR", "SG"], marks.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("circle", marks["SG"].Name.LocalName);
        Assert.Equal(ChartTheme.RampColor(1), (string)marks["CN"].Attribute("fill")!);
        Assert.Equal(ChartTheme.RampColor(1.0 / 3), (string)marks["DE"].Attribute("fill")!);
        Assert.Equal(ChartTheme.RampColor(0), (string)marks["FR"].Attribute("fill")!);
        Assert.Equal("Germany (DE): 10 addresses", (string)marks["DE"].Element(Svg + "title")!);
        // Every other country is drawn, grey, with a tooltip saying so.
        var brazil = svg.Descendants(Svg + "path").Single(p => (string?)p.Attribute("data-country") == "BR");
        Assert.Equal(ChartTheme.NoData, (string)brazil.Attribute("fill")!);
        Assert.Equal("Brazil (BR): none seen", (string)brazil.Element(Svg + "title")!);
        Assert.Contains(svg.Descendants(Svg + "text"), t => t.Value == "Not on the map: EU 7");
        Assert.True(Luminance(ChartTheme.RampColor(1)) < Luminance(ChartTheme.RampColor(0.5)) && Luminance(ChartTheme.RampColor(0.5)) < Luminance(ChartTheme.RampColor(0)));
    }

    [Fact]
    public void WorldAtlas_CoversTheCountriesOfTheAsnExcerpt()
    {
        var atlas = WorldAtlas.Default;
        Assert.True(atlas.Shapes.Count > 170);
        var placeable = atlas.Shapes.Select(s => s.Code).Concat(atlas.Dots.Select(d => d.Code)).ToHashSet();
        // Every country code in the shipped @ip-location-db excerpt has a shape or a dot.
        var codes = new[] { "asn-country-ipv4.csv", "asn-country-ipv6.csv" }
            .SelectMany(f => File.ReadLines(Path.Combine(PcapDht.Tests.Enrich.RepoPaths.AsnSamples, f)))
            .Select(l => l.Split(',')[^1].Trim()).Where(c => c.Length == 2).ToHashSet();
        Assert.True(codes.Count >= 50);
        Assert.Empty(codes.Where(c => !placeable.Contains(c)).Order(StringComparer.Ordinal));
        Assert.All(codes, c => Assert.True(atlas.Names.ContainsKey(c), $"{c} has no name"));
        // Every ISO 3166-1 code has a name, so a code without a shape is still named under the map.
        Assert.True(atlas.Names.Count >= 249);
    }

    [Theory]
    [InlineData(0, new double[] { 0, 1 })]
    [InlineData(3, new double[] { 0, 1, 2, 3 })]
    [InlineData(1110, new double[] { 0, 500, 1000, 1500 })]
    [InlineData(4613, new double[] { 0, 1000, 2000, 3000, 4000, 5000 })]
    public void Ticks_Linear_RoundStepsCoveringTheMaximum(double max, double[] expected) => Assert.Equal(expected, Ticks.Linear(max));

    [Fact]
    public void StandaloneChart_CarriesTitleWindowAndAttribution()
    {
        var table = new ResultTable
        {
            Title = "Distinct IP addresses per ASN",
            Columns = [new("asn", ColumnKind.Integer), new("as_name", ColumnKind.Text), new("ips", ColumnKind.Integer), new("direct_ips", ColumnKind.Integer)],
        };
        table.Window = new ReportWindow(new DateTimeOffset(2026, 8, 31, 12, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 9, 30, 12, 0, 0, TimeSpan.Zero));
        table.Datasets.Add(new PcapDht.Enrich.DatasetInfo(PcapDht.Enrich.RangeKind.Asn, "x.csv", "ip-location-db asn CSV", 3, 0, 0, null,
            new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero), "@ip-location-db/asn by sapics, CC BY 4.0"));
        table.Rows.Add([64512L, "Example", 9L, 4L]);
        var svg = XElement.Parse(ReportCharts.Asn.Standalone(table)!);
        string text = string.Join("\n", svg.Descendants(Svg + "text").Select(t => t.Value));
        Assert.Contains("Distinct IP addresses per ASN", text);
        Assert.Contains("Window: 2026-08-31 12:00:00Z", text);
        Assert.Contains("CC BY 4.0", text);
        Assert.True(D(svg, "height") > 100 && D(svg, "width") == 900);
        Assert.Null(ReportCharts.Asn.Standalone(new ResultTable { Title = "empty", Columns = table.Columns }));
    }

    private static double Luminance(string hex) =>
        0.2126 * Convert.ToInt32(hex[1..3], 16) + 0.7152 * Convert.ToInt32(hex[3..5], 16) + 0.0722 * Convert.ToInt32(hex[5..7], 16);
}
