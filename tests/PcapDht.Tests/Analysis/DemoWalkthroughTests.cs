using System.Text.Json;
using System.Text.RegularExpressions;
using PcapDht.Analysis;
using PcapDht.Cli;
using PcapDht.Tests.Enrich;
using PcapDht.Tests.Html;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// What a new user meets on the demo database: every step of scripts/demo.sh and every README example
/// query answers with data, and where a default answers nothing the report says why and what to type.
/// </summary>
[Collection(DemoDatabaseCollection.Name)]
public partial class DemoWalkthroughTests(DemoDatabaseFixture demo)
{
    /// <summary>The synthetic capture's last timestamp, the --until demo.sh passes (DemoDatabaseFixture.Until).</summary>
    private const string SyntheticEnd = "2026-09-30T12:00:00Z";

    [Fact]
    public void DemoFixture_EndsTheWindowWhereTheSyntheticCaptureEnds() => Assert.Equal(SyntheticEnd, demo.Until);

    [Fact]
    public void ReportAsn_DefaultWindowHoldsOnlyLoopback_SaysWhereThePublicDataIsAndExitsNoData()
    {
        // The default window ends at the newest sighting, the loopback recording: nothing in it has an ASN.
        var o = demo.Run("report", "asn");
        Assert.Equal(ExitCodes.NoData, o.ExitCode);
        Assert.Contains("addresses with no ASN range: 53 (100.0%)", o.Stdout);
        Assert.Contains("None of the 53 addresses in this window is in an ASN range", o.Stdout);
        Assert.Contains("synthetic-dht.pcap (2026-08-19 .. 2026-09-30, 14,444 KRPC messages)", Flat(o.Stdout));
        Assert.Contains($"Try --until {SyntheticEnd}", Flat(o.Stdout));

        // The suggestion works: the public addresses, every one matched.
        var fixedRun = demo.Run("report", "asn", "--until", SyntheticEnd);
        Assert.Equal(ExitCodes.Ok, fixedRun.ExitCode);
        Assert.Contains("distinct addresses: 3,111", fixedRun.Stdout);
        Assert.Contains("addresses with no ASN range: 0 (0.0%)", fixedRun.Stdout);
        Assert.Contains("│ Chinanet", fixedRun.Stdout);
    }

    [Fact]
    public void Report_WindowWithNoSightings_NamesTheCapturesOutsideIt()
    {
        var o = demo.Run("report", "country", "--since", "2026-10-01", "--until", "2026-10-31");
        Assert.Equal(ExitCodes.NoData, o.ExitCode);
        string text = Flat(o.Stdout);
        Assert.Contains("No sightings in the window 2026-10-01 00:00:00Z .. 2026-10-31 23:59:59Z", text);
        Assert.Contains("2 captures, synthetic-dht.pcap", text);
        Assert.Contains("dht-loopback.pcapng.zst (2026-11-30 .. 2026-11-30, 6,937 KRPC messages)", text);
        Assert.DoesNotContain("│", o.Stdout);

        var json = demo.Run("report", "country", "--since", "2026-10-01", "--until", "2026-10-31", "--format", "json");
        Assert.Equal(ExitCodes.NoData, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        Assert.False(doc.RootElement.GetProperty("available").GetBoolean());
        Assert.Contains("synthetic-dht.pcap", doc.RootElement.GetProperty("reason").GetString());
    }

    public static TheoryData<string[]> DemoSteps => new()
    {
        new[] { "report", "overview" },
        new[] { "report", "asn", "--days", "30", "--until", SyntheticEnd, "--top", "15" },
        new[] { "report", "country", "--days", "30", "--until", SyntheticEnd, "--top", "10" },
        new[] { "report", "clients", "--until", SyntheticEnd },
    };

    [Theory]
    [MemberData(nameof(DemoSteps))]
    public void DemoStep_AnswersWithRows(string[] step)
    {
        // The same commands as scripts/demo.sh (which stops at the first non-zero exit).
        Assert.Contains(string.Join(' ', step[..2]), File.ReadAllText(Path.Combine(RepoPaths.Root, "scripts", "demo.sh")));
        var o = demo.Run([.. step, "--format", "json"]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stdout + o.Stderr);
        using var doc = JsonDocument.Parse(o.Stdout);
        Assert.True(doc.RootElement.GetProperty("rows").GetArrayLength() > 1);
        Assert.Empty(doc.RootElement.GetProperty("notes").EnumerateArray());
    }

    [Fact]
    public void ReportClients_OnPublicData_DecodesEachClientsVersion()
    {
        var o = demo.Run("report", "clients", "--until", SyntheticEnd, "--format", "json");
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        using var doc = JsonDocument.Parse(o.Stdout);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray()
            .Select(r => (Client: r.GetProperty("client").GetString(), Version: r.GetProperty("version").GetString())).ToList();
        Assert.DoesNotContain(rows, r => r.Client == "(unlisted code)");
        Assert.Contains(rows, r => r.Client == "uTorrent" && MuTorrentBuild().IsMatch(r.Version!));
        Assert.Contains(rows, r => r.Client == "Transmission" && r.Version!.StartsWith('r'));
        Assert.Contains(rows, r => r.Client == "libtorrent" && r.Version == "2.0.0");
    }

    [GeneratedRegex(@"^build 464\d\d$")]
    private static partial Regex MuTorrentBuild();

    /// <summary>The README's example queries, one by one, on the demo database.</summary>
    public static TheoryData<int, string> ReadmeQueries()
    {
        string md = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var block = Regex.Match(md, @"## Example queries.*?```sql\n(.*?)```", RegexOptions.Singleline).Groups[1].Value;
        var data = new TheoryData<int, string>();
        int i = 0;
        foreach (var statement in block.Split(';'))
        {
            string sql = string.Join('\n', statement.Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim();
            if (sql.Length > 0) data.Add(++i, sql);
        }
        return data;
    }

    [Fact]
    public void Readme_HasTenExampleQueries() => Assert.Equal(10, ReadmeQueries().Count);

    [Theory]
    [MemberData(nameof(ReadmeQueries))]
    public void ReadmeExampleQuery_OnTheDemoDatabase_ReturnsRows(int number, string sql)
    {
        using var db = demo.OpenReadOnly();
        var result = SqlQuery.Run(db, sql);
        Assert.True(result.Rows.Count > 0, $"README example {number} returned no rows on the demo database");
        // Every row of the article's table is an AS; an empty or all-NULL answer is no answer.
        if (number == 1) Assert.All(result.Rows, r => Assert.NotNull(r[0]));
    }

    [Fact]
    public void ReadmeArticleQuery_AgreesWithReportAsnOnNodeSightings()
    {
        using var db = demo.OpenReadOnly();
        var article = SqlQuery.Run(db, (string)ReadmeQueries().First()[1]);
        Assert.Equal(12, article.Rows.Count);
        Assert.Equal(4134L, Convert.ToInt64(article.Rows[0][0])); // Chinanet first, as in `report asn`
    }

    [Fact]
    public void ReportOverview_Table_HasSeparatorsOneMalformedRowAndNoDatasetRows()
    {
        var o = demo.Run("report", "overview");
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Matches(@"│ messages +│ 21,381 +│", o.Stdout);
        Assert.Single(Regex.Matches(o.Stdout, "malformed KRPC"));
        Assert.DoesNotContain("data set  ", o.Stdout);
        Assert.DoesNotContain("│ asn data set", o.Stdout);
        Assert.Contains("window: all data (2026-08-19 ", o.Stdout);
    }

    [Fact]
    public void ReportAsn_Table_AttributionOnceAndWrappedAtWordsAt80Columns()
    {
        var o = Cli.CliRunner.Run(["report", "asn", "--until", SyntheticEnd, "--db", demo.DbPath],
            env: new Dictionary<string, string> { ["COLUMNS"] = "80" });
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        var lines = o.Stdout.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"line of {l.Length} columns: {l}"));
        Assert.Single(Regex.Matches(o.Stdout, "@ip-location-db/asn by sapics"));
        Assert.Single(Regex.Matches(o.Stdout, "@ip-location-db/asn-country by sapics"));
        // No word is cut: every word of the attribution is on one line.
        string attribution = "@ip-location-db/asn by sapics, CC BY 4.0; data from RouteViews (routeviews.org), the NRO (nro.net) and DB-IP (db-ip.com, IP to ASN Lite), CC BY 4.0";
        var words = lines.SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet();
        Assert.All(attribution.Split(' '), w => Assert.Contains(w, words));
        Assert.Contains("asn: asn-ipv4.csv, asn-ipv6.csv (ip-location-db asn CSV, 14,118 ranges; data of 2026-06-17", Flat(o.Stdout));
    }

    public static TheoryData<string> ReportVerbs => new() { "asn", "country", "clients", "overview" };

    [Theory]
    [MemberData(nameof(ReportVerbs))]
    public void ReportJson_HasTheDocumentedShape_NumbersAsNumbersAndIsoWindow(string verb)
    {
        var o = demo.Run("report", verb, "--until", SyntheticEnd, "--format", "json");
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stdout + o.Stderr);
        using var doc = JsonDocument.Parse(o.Stdout);
        var root = doc.RootElement;
        Assert.Equal(["title", "available", "window", "facts", "notes", "datasets", "attribution", "columns", "rows"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.True(root.GetProperty("available").GetBoolean());
        var window = root.GetProperty("window");
        Assert.Equal("2026-09-30T12:00:00Z", window.GetProperty("until").GetString());
        Assert.Equal(JsonValueKind.Number, window.GetProperty("days").ValueKind);
        Assert.True(DateTimeOffset.TryParse(window.GetProperty("since").GetString(), out _));
        foreach (var fact in root.GetProperty("facts").EnumerateObject())
        {
            Assert.Matches("^[a-z0-9_]+$", fact.Name);
            Assert.Equal(JsonValueKind.Number, fact.Value.ValueKind);
        }
        var columns = root.GetProperty("columns").EnumerateArray().Select(c => c.GetString()).ToList();
        foreach (var row in root.GetProperty("rows").EnumerateArray())
            Assert.Equal(columns, row.EnumerateObject().Select(p => p.Name));
        foreach (var d in root.GetProperty("datasets").EnumerateArray())
        {
            Assert.Equal(JsonValueKind.Number, d.GetProperty("ranges").ValueKind);
            Assert.Equal("2026-06-17T19:00:00Z", d.GetProperty("source_date").GetString());
        }
    }

    [Fact]
    public void ReportAsnJson_FactsAndRowsAreNumbers()
    {
        var o = demo.Run("report", "asn", "--until", SyntheticEnd, "--format", "json");
        using var doc = JsonDocument.Parse(o.Stdout);
        var facts = doc.RootElement.GetProperty("facts");
        Assert.Equal(3111, facts.GetProperty("distinct_addresses").GetInt64());
        Assert.Equal(12, facts.GetProperty("asns").GetInt64());
        Assert.Equal(0, facts.GetProperty("addresses_with_no_asn_range").GetInt64());
        var first = doc.RootElement.GetProperty("rows")[0];
        Assert.Equal(4134, first.GetProperty("asn").GetInt64());
        Assert.Equal(JsonValueKind.Number, first.GetProperty("share").ValueKind);
    }

    [Fact]
    public void Query_Timestamps_CarryZAndAreUtcWhateverTheMachineZone()
    {
        var o = Cli.CliRunner.Run(["query", "SELECT min(ts) AS t, date_trunc('day', min(ts)) AS d FROM messages", "--db", demo.DbPath, "--format", "csv"],
            env: new Dictionary<string, string> { ["TZ"] = "America/New_York" });
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        var row = o.Stdout.Trim().Split('\n')[1].Split(',');
        Assert.Equal("2026-08-19T12:09:31.493673Z", row[0]);
        Assert.Equal("2026-08-19T00:00:00Z", row[1]);
    }

    /// <summary>The text with its line breaks and indentation folded to single spaces, as a reader reads wrapped prose.</summary>
    private static string Flat(string text) => Regex.Replace(text, @"\s+", " ");
}
