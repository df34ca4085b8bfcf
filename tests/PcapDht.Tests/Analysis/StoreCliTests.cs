using System.Text.Json;
using PcapDht.Cli;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Analysis;

/// <summary>The report verbs through the real binary on a database written by the real ingest.</summary>
public class StoreCliTests(SynthDatabaseFixture fixture) : IClassFixture<SynthDatabaseFixture>
{
    [Fact]
    public void ReportOverview_Json_MatchesGroundTruthCounts()
    {
        var o = CliRunner.Run(["report", "overview", "--db", fixture.DbPath, "--format", "json"]);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        using var doc = JsonDocument.Parse(o.Stdout);
        var m = doc.RootElement.GetProperty("rows").EnumerateArray()
            .ToDictionary(r => r.GetProperty("metric").GetString()!, r => r.GetProperty("value"));
        Assert.Equal(fixture.Truth.KrpcMessages, m["messages"].GetInt64());
        Assert.Equal(fixture.Truth.Malformed, m["malformed KRPC datagrams"].GetInt64());
        Assert.Equal(1, m["captures"].GetInt64());
        Assert.Equal(fixture.Truth.DistinctIpsAllTime, m["distinct IPs in node sightings"].GetInt64());
    }

    [Fact]
    public void ReportAsnAndCountry_Csv_CoverEveryAsnOfTheTruth()
    {
        var asn = CliRunner.Run(["report", "asn", "--db", fixture.DbPath, "--format", "csv", "--top", "0"]);
        Assert.Equal(ExitCodes.Ok, asn.ExitCode);
        var lines = asn.Stdout.Trim().Split('\n');
        Assert.Equal(fixture.Truth.Asns.Count(a => a.ReportIps > 0), lines.Length - 1);
        var top = fixture.Truth.Asns.OrderByDescending(a => a.ReportIps).ThenBy(a => a.Asn).First();
        Assert.StartsWith($"1,{top.Asn},", lines[1]);
        Assert.Contains($",{top.ReportIps},{top.ReportDirectIps},", lines[1]);

        var country = CliRunner.Run(["report", "country", "--db", fixture.DbPath, "--format", "csv"]);
        Assert.Equal(ExitCodes.Ok, country.ExitCode);
        long expectedDe = fixture.Truth.Asns.Where(a => a.Asn % 2 == 0).Sum(a => a.ReportIps);
        Assert.Contains(country.Stdout.Split('\n'), l => l.Contains($",DE,{expectedDe},"));
    }

    [Fact]
    public void ReportClients_Table_ShowsDecodedClients()
    {
        var o = CliRunner.Run(["report", "clients", "--db", fixture.DbPath]);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Contains("window:", o.Stdout);
        Assert.Contains("│", o.Stdout);
    }
}
