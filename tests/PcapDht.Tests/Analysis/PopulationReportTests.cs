using System.Globalization;
using System.Text.Json;
using PcapDht.Analysis;
using PcapDht.Cli;
using PcapDht.Net;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// report sybil, bep42, daily and ip (and the ip_profiles relation) against the generator's ground truth:
/// a capture with planted Sybil addresses, id changers, prefix clusters and churning visitors.
/// </summary>
public class PopulationReportTests(PlantedPopulationFixture fixture) : IClassFixture<PlantedPopulationFixture>
{
    private PopulationStore Store => fixture.Store;

    private static ReportOptions All => new() { Top = 0 };

    [Fact]
    public void Sybil_FlagsExactlyThePlantedAddressesForEachReason()
    {
        using var db = Store.Open();
        var r = Reports.SybilReport(db, All);
        Assert.Null(r.Unavailable);
        var truth = Store.Truth;
        Assert.True(truth.AddressesOverEightIds.Count == 4 && truth.ClusterAddresses.Count >= 6, "the scenario plants 4 Sybils and 2 clusters");
        Assert.Equal(truth.AddressesOverEightIds, r.Addresses.Where(a => a.OverEightIds).ToDictionary(a => a.Ip.ToString(), a => a.NodeIds));
        Assert.Equal(truth.EndpointsWithIdChange.Keys.Select(e => e[..e.LastIndexOf(':')]).ToHashSet(),
            r.Addresses.Where(a => a.IdChanges).Select(a => a.Ip.ToString()).ToHashSet());
        Assert.Equal(truth.EndpointsWithIdChange.Count, r.Addresses.Sum(a => a.ChangingEndpoints));
        Assert.Equal(truth.ClusterAddresses, r.Addresses.Where(a => a.PrefixCluster).Select(a => a.Ip.ToString()).ToHashSet());
        Assert.Equal(truth.Bep42InvalidAddresses, r.Addresses.Where(a => a.Bep42Invalid).Select(a => a.Ip.ToString()).ToHashSet());
        Assert.All(r.Addresses.Where(a => a.PrefixCluster), a => Assert.NotNull(a.ClusterTarget));
        Assert.Equal(truth.FlaggedPerAsn, r.Asns.Where(a => a.Flagged > 0).ToDictionary(a => a.Asn!.Value, a => a.Flagged));
    }

    [Fact]
    public void SybilCli_JsonRowsCarryIpNodeIdsAndWhy_ByAsnSummarises()
    {
        var o = CliRunner.Run(["report", "sybil", "--db", Store.DbPath, "--format", "json", "--top", "0"]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        using var doc = JsonDocument.Parse(o.Stdout);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        var sybil = Store.Truth.AddressesOverEightIds.First();
        var row = rows.Single(x => x.GetProperty("ip").GetString() == sybil.Key);
        Assert.Equal(sybil.Value, row.GetProperty("node_ids").GetInt64());
        Assert.Contains("BEP 42 allows 8", row.GetProperty("why").GetString());
        // The window is the report's window object, the totals are numbers, the caveats notes (as every report has them).
        Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("window").GetProperty("since").ValueKind);
        Assert.Equal(rows.Count, doc.RootElement.GetProperty("facts").GetProperty("flagged").GetInt64());
        Assert.Contains(doc.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("Caveats: NAT", StringComparison.Ordinal));

        var byAsn = CliRunner.Run(["report", "sybil", "--db", Store.DbPath, "--by", "asn", "--format", "csv"]);
        Assert.Equal(ExitCodes.Ok, byAsn.ExitCode);
        var lines = byAsn.Stdout.Trim().Split('\n');
        Assert.StartsWith("asn,as_name,addresses,flagged,", lines[0]);
        var (asn, flagged) = Store.Truth.FlaggedPerAsn.MaxBy(kv => kv.Value);
        Assert.Contains(lines, l => l.StartsWith($"{asn},") && l.Split(',')[3] == flagged.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(ExitCodes.Usage, CliRunner.Run(["report", "sybil", "--db", Store.DbPath, "--by", "client"]).ExitCode);
    }

    [Fact]
    public void Bep42_CountsEqualTheGroundTruth_OverallAndPerClient()
    {
        using var db = Store.Open();
        var t = Reports.Bep42(db, All, Bep42Grouping.Client);
        Assert.Null(t.Unavailable);
        var truth = Store.Truth;
        Assert.True(truth.Bep42.Compliant > 50 && truth.Bep42.NonCompliant > 50, "the scenario mixes compliant and other ids");
        var all = t.Rows[0];
        Assert.Equal("(all)", all[0]);
        Assert.Equal((truth.Bep42.Compliant, truth.Bep42.NonCompliant, truth.Bep42.Exempt), ((long)all[3]!, (long)all[4]!, (long)all[5]!));
        foreach (var (code, c) in truth.Bep42ByClient)
        {
            var row = t.Rows.Skip(1).Single(r => (string?)r[1] == (code.Length == 0 ? null : code));
            Assert.Equal((c.Compliant, c.NonCompliant), ((long)row[3]!, (long)row[4]!));
        }
        var byAsn = Reports.Bep42(db, All, Bep42Grouping.Asn);
        Assert.Equal(truth.Bep42.Compliant, byAsn.Rows.Skip(1).Sum(r => (long)r[3]!));
        Assert.Equal(truth.Bep42.NonCompliant, byAsn.Rows.Skip(1).Sum(r => (long)r[4]!));
    }

    [Fact]
    public void Daily_NewReturningGoneEqualTheGroundTruth()
    {
        using var db = Store.Open();
        var r = Reports.ChurnReport(db, All);
        Assert.Null(r.Unavailable);
        var truth = Store.Truth.Daily;
        Assert.True(truth.Count >= 5 && truth.Skip(1).All(d => d.Returning > 0 && d.New > 0), "the scenario churns every day");
        Assert.Equal(truth.Select(d => (d.Day, d.Ips, d.New, d.Returning, d.Gone)),
            r.Days.Select(d => (d.Day, d.Ips, d.New, d.Returning, d.Gone)));
        Assert.Equal(truth[0].Day, r.FirstDayOfData);

        // A window over the last two days still knows who was seen before it.
        var last2 = Reports.ChurnReport(db, new ReportOptions { Since = truth[^2].Day });
        Assert.Equal(truth.TakeLast(2).Select(d => (d.Ips, d.New, d.Gone)), last2.Days.Select(d => (d.Ips, d.New, d.Gone)));

        // Per ASN: the rows of each day add up to at most that day's total (addresses outside the top ASNs drop out).
        var byAsn = Reports.ChurnReport(db, All, topAsns: 100);
        foreach (var day in truth)
            Assert.Equal(day.Ips, byAsn.Days.Where(d => d.Day == day.Day).Sum(d => d.Ips));
    }

    [Fact]
    public void IpProfiles_AndReportIp_DescribeAPlantedSybil()
    {
        var (ip, ids) = Store.Truth.AddressesOverEightIds.First();
        using var db = Store.Open();
        var t = Reports.Ip(db, All, [IpAddr.Parse(ip)], null);
        Assert.Null(t.Unavailable);
        object? Fact(string key) => t.Facts.Single(f => f.Key == key).Value;
        Assert.Equal(ids, Fact("node_ids"));
        Assert.Equal("non-compliant", Fact("bep42"));
        Assert.Equal("libtorrent 2.0.0", Fact("clients"));
        Assert.Equal(ids, t.Rows.Sum(r => (long)r[1]!)); // one ping per id: its messages, day by day
        Assert.Equal(ids, Fact("messages"));

        // The relation itself: one row per address, as many as the daily report counts over all days.
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT count(*), count(DISTINCT ip_num), sum(messages)::BIGINT FROM ip_profiles";
        using var r = cmd.ExecuteReader();
        r.Read();
        Assert.Equal(r.GetInt64(0), r.GetInt64(1));
        Assert.Equal(Store.Truth.KrpcMessages, Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture));
    }

    public static TheoryData<string, string> VerbsAndFormats()
    {
        var data = new TheoryData<string, string>();
        foreach (var verb in new[] { "size", "ip", "sybil", "bep42", "daily" })
            foreach (var format in new[] { "table", "csv", "json", "markdown" })
                data.Add(verb, format);
        return data;
    }

    /// <summary>Every population report, in every format, states its window and its caveats, where every report does.</summary>
    [Theory]
    [MemberData(nameof(VerbsAndFormats))]
    public void PopulationReports_InEveryFormat_StateTheirWindowAndCaveats(string verb, string format)
    {
        string[] args = verb == "ip" ? ["report", "ip", Store.Truth.AddressesOverEightIds.First().Key] : ["report", verb];
        var o = CliRunner.Run([.. args, "--db", Store.DbPath, "--format", format]);
        Assert.True(o.ExitCode == ExitCodes.Ok, $"{verb} {format}: exit {o.ExitCode}: {o.Stderr}");
        switch (format)
        {
            case "table":
                Assert.Matches(@"(?m)^  window: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \.\. ", o.Stdout);
                Assert.Matches("(?m)^  note: ", o.Stdout);
                break;
            case "csv":
                Assert.Matches("(?m)^# window: ", o.Stderr);
                Assert.Matches("(?m)^# note: ", o.Stderr);
                Assert.DoesNotContain("#", o.Stdout.Split('\n')[0]); // stdout is the CSV alone
                break;
            case "markdown":
                Assert.Matches("(?m)^- window: ", o.Stdout);
                Assert.Matches("(?m)^- note: ", o.Stdout);
                break;
            default:
                using (var doc = JsonDocument.Parse(o.Stdout))
                {
                    var window = doc.RootElement.GetProperty("window");
                    Assert.True(ReportWindow.TryParse(window.GetProperty("since").GetString()!, out var since));
                    Assert.True(ReportWindow.TryParse(window.GetProperty("until").GetString()!, out var until));
                    Assert.True(since < until);
                    Assert.NotEqual(0, doc.RootElement.GetProperty("notes").GetArrayLength());
                    Assert.NotEqual(0, doc.RootElement.GetProperty("rows").GetArrayLength());
                }
                break;
        }
    }

    [Fact]
    public void ReportIpCli_ByAsnListsTheMostActive_UnknownAddressExitsNoData()
    {
        var (asn, _) = Store.Truth.FlaggedPerAsn.MaxBy(kv => kv.Value);
        var o = CliRunner.Run(["report", "ip", "--asn", asn.ToString(CultureInfo.InvariantCulture), "--top", "5", "--db", Store.DbPath, "--format", "json"]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        using var doc = JsonDocument.Parse(o.Stdout);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(5, rows.Count);
        Assert.All(rows, x => Assert.Equal(asn, x.GetProperty("asn").GetUInt32()));
        var messages = rows.Select(x => x.GetProperty("messages").GetInt64()).ToList();
        Assert.Equal(messages.OrderDescending(), messages);

        var none = CliRunner.Run(["report", "ip", "192.0.2.99", "--db", Store.DbPath]);
        Assert.Equal(ExitCodes.NoData, none.ExitCode);
        Assert.Contains("No sighting of 192.0.2.99", none.Stdout);
        Assert.Equal(ExitCodes.Usage, CliRunner.Run(["report", "ip", "not-an-address", "--db", Store.DbPath]).ExitCode);
    }

    [Fact]
    public void Size_OnThePlantedStore_CoversThePopulation()
    {
        using var db = Store.Open();
        var r = Reports.SizeEstimate(db, new ReportOptions(), new SizeOptions());
        var xor = Assert.Single(r.Rows, x => x.Method == Reports.XorMethod);
        Assert.InRange(Store.Truth.Population, xor.Estimate!.Low, xor.Estimate.High);
        // The cluster nodes' single get_peers queries are lookups too, and are rejected.
        Assert.Equal(Store.Truth.LookupsConverged, xor.LookupsUsed);
    }
}
