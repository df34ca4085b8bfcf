using PcapDht.Analysis;
using PcapDht.Enrich;

namespace PcapDht.Tests.Analysis;

public class ReportTests
{
    private static Dictionary<long, (long Ips, long Direct)> ByAsn(ResultTable t) =>
        t.Rows.ToDictionary(r => (long)r[1]!, r => ((long)r[4]!, (long)r[5]!));

    private static object? Fact(ResultTable t, string key) => t.Facts.Single(f => f.Key == key).Value;

    [Fact]
    public void Asn_DefaultWindow_CountsDistinctAndDirectAddressesPerAsn()
    {
        using var k = new KnownDatabase();
        var t = Reports.Asn(k.Db, new ReportOptions());
        Assert.Null(t.Unavailable);
        Assert.Equal([12389L, 4766L, 4134L], t.Rows.Select(r => (long)r[1]!));
        Assert.Equal([1L, 2L, 3L], t.Rows.Select(r => (long)r[0]!));
        var by = ByAsn(t);
        Assert.Equal((6L, 1L), by[12389]);   // 3 v4 + 3 v6 addresses; only 2.56.0.1 sent a message
        Assert.Equal((3L, 2L), by[4766]);    // 175.192.0.9 is 39 days old; 175.192.0.50 only sent a message
        Assert.Equal((1L, 0L), by[4134]);
        Assert.Equal("Rostelecom", t.Rows[0][2]);
        Assert.Equal("RU", t.Rows[0][3]);
        Assert.Equal(6.0 / 11, (double)t.Rows[0][6]!, 9);
        Assert.Equal(11L, Fact(t, "distinct addresses"));
        Assert.Equal(new CountShare(1, 11), Fact(t, "addresses with no ASN range"));
        Assert.Equal("2026-02-28 12:00:00Z .. 2026-03-30 12:00:00Z (30 days)", t.Window.ToString());
        Assert.False(t.NoAnswer);
        Assert.Contains(t.Datasets, d => d.Kind == RangeKind.Asn && d.Attribution.Contains("CC BY 4.0"));
    }

    [Fact]
    public void Asn_DaysWindow_EndsAtNewestSighting()
    {
        using var k = new KnownDatabase();
        var by = ByAsn(Reports.Asn(k.Db, new ReportOptions { Days = 10 }));
        Assert.Equal((5L, 1L), by[12389]);
        Assert.Equal((2L, 2L), by[4766]);
        Assert.False(by.ContainsKey(4134));
    }

    [Fact]
    public void Asn_ExplicitSinceUntil_AreInclusive()
    {
        using var k = new KnownDatabase();
        var t = Reports.Asn(k.Db, new ReportOptions
        {
            Since = new DateTimeOffset(2026, 3, 11, 0, 0, 0, TimeSpan.Zero),
            Until = KnownDatabase.Base.AddDays(15), // exactly the day-15 sightings
        });
        var by = ByAsn(t);
        Assert.Equal(2, by.Count);
        Assert.Equal((1L, 0L), by[12389]);
        Assert.Equal((1L, 0L), by[4134]);
        Assert.Equal(3L, Fact(t, "distinct addresses"));
    }

    [Fact]
    public void Asn_Ipv6Prefix64_CountsPrefixesNotAddresses()
    {
        using var k = new KnownDatabase();
        var t = Reports.Asn(k.Db, new ReportOptions { Ipv6Prefix = 64 });
        Assert.Equal((5L, 1L), ByAsn(t)[12389]); // 2a01:540::1 and ::2 share a /64
        Assert.Equal(10L, Fact(t, "distinct addresses"));
        Assert.Equal(64L, Fact(t, "IPv6 prefix length"));
    }

    [Fact]
    public void Asn_Top_LimitsRows()
    {
        using var k = new KnownDatabase();
        var t = Reports.Asn(k.Db, new ReportOptions { Top = 1 });
        Assert.Single(t.Rows);
        Assert.Equal(12389L, t.Rows[0][1]);
    }

    [Fact]
    public void Asn_WithoutAsnData_SaysSoInsteadOfAnEmptyTable()
    {
        using var k = new KnownDatabase(withRanges: false);
        var t = Reports.Asn(k.Db, new ReportOptions());
        Assert.NotNull(t.Unavailable);
        Assert.Contains("no ASN data", t.Unavailable);
        Assert.Empty(t.Rows);
        var c = Reports.Country(k.Db, new ReportOptions());
        Assert.Contains("no country data", c.Unavailable);
    }

    [Fact]
    public void Country_CountsPerCountry()
    {
        using var k = new KnownDatabase();
        var t = Reports.Country(k.Db, new ReportOptions());
        Assert.Equal(["RU", "KR", "CN"], t.Rows.Select(r => (string)r[1]!));
        Assert.Equal([6L, 3L, 1L], t.Rows.Select(r => (long)r[2]!));
        Assert.Equal([1L, 2L, 0L], t.Rows.Select(r => (long)r[3]!));
        Assert.Equal([1L, 1L, 1L], t.Rows.Select(r => (long)r[4]!));
        Assert.Equal(3L, Fact(t, "countries"));
    }

    [Fact]
    public void Clients_DecodesVersionKey()
    {
        using var k = new KnownDatabase();
        var t = Reports.Clients(k.Db, new ReportOptions());
        var rows = t.Rows.Select(r => ((string)r[1]!, (string)r[2]!, (string)r[3]!, (long)r[4]!, (long)r[6]!)).ToList();
        Assert.Contains(("libtorrent", "LT", "1.2", 1L, 2L), rows);
        Assert.Contains(("uTorrent", "UT", "build 3358", 1L, 1L), rows);
        Assert.Contains(("(no v key)", "", "", 1L, 1L), rows);
        Assert.Equal(3L, Fact(t, "distinct sender addresses"));
    }

    [Fact]
    public void Overview_ReportsCountsOverAllData()
    {
        using var k = new KnownDatabase();
        var t = Reports.Overview(k.Db, new ReportOptions(), explicitWindow: false);
        var m = t.Rows.ToDictionary(r => (string)r[0]!, r => r[1]);
        Assert.Equal(1L, m["captures"]);
        Assert.Equal(4L, m["messages"]);
        Assert.Equal(1L, m["messages y=q get_peers"]);
        Assert.Equal(1L, m["messages y=q find_node"]);
        Assert.Equal(2L, m["messages y=r -"]);
        Assert.Equal(3L, m["distinct sender IPs"]);
        Assert.Equal(11L, m["distinct IPs in node sightings"]);
        Assert.Equal(1L, m["malformed KRPC datagrams"]);
        Assert.True(t.WindowIsAllData);
        Assert.Equal(KnownDatabase.Base.AddDays(-10), t.Window!.Value.Since);
        Assert.Equal(KnownDatabase.Base.AddDays(29), t.Window!.Value.Until);
    }

    [Fact]
    public void EnrichedViews_AddAsnAndCountryPerSighting()
    {
        using var k = new KnownDatabase();
        var created = RangeStore.EnsureEnrichedViews(k.Db);
        Assert.Equal(["node_sightings_enriched", "messages_enriched", "peer_sightings_enriched"], created);
        using var cmd = k.Db.CreateCommand();
        cmd.CommandText = "SELECT ip, asn, as_name, country FROM node_sightings_enriched ORDER BY frame_no";
        using var r = cmd.ExecuteReader();
        var got = new Dictionary<string, (long?, string?, string?)>();
        while (r.Read())
            got[r.GetString(0)] = (r.IsDBNull(1) ? null : Convert.ToInt64(r.GetValue(1)), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3));
        Assert.Equal((12389L, "Rostelecom", "RU"), got["2a01:540:0:1::1"]);
        Assert.Equal((4766L, "Korea Telecom", "KR"), got["175.192.0.9"]);
        Assert.Equal((4134L, "CHINANET-BACKBONE", "CN"), got["1.80.0.1"]);
        Assert.Equal(((long?)null, (string?)null, (string?)null), got["8.8.8.8"]);
        Assert.Equal(12, got.Count + 1); // 2.56.0.1 appears twice
    }
}
