using PcapDht.Analysis;

namespace PcapDht.Tests.Analysis;

/// <summary>The reports behind the page's time and traffic panels, counted by hand on <see cref="KnownDatabase"/>.</summary>
public class TrafficReportTests
{
    private static readonly ReportOptions Default = new();

    private static object?[] Row(ResultTable t, Func<object?[], bool> match) => Assert.Single(t.Rows, r => match(r));

    [Fact]
    public void AddressesPerDay_EveryDayOfTheWindow_DistinctPerUtcDay_TopAsnsOnTheirDays()
    {
        using var k = new KnownDatabase();
        var t = Reports.AddressesPerDay(k.Db, Default, topAsns: 2);
        Assert.Null(t.Unavailable);
        var totals = t.Rows.Where(r => r[1] is null).ToList();
        // 2026-02-28T12:00Z .. 2026-03-30T12:00Z touches 31 UTC days; days without a sighting count 0.
        Assert.Equal(31, totals.Count);
        Assert.Equal("2026-02-28", totals[0][0]);
        Assert.Equal("2026-03-30", totals[^1][0]);
        long Total(string day) => (long)totals.Single(r => (string)r[0]! == day)[3]!;
        Assert.Equal(3, Total("2026-03-30"));  // 2.56.0.1, 2.56.0.2, 175.192.0.1 (also message senders: counted once)
        Assert.Equal(1, Total("2026-03-29"));
        Assert.Equal(4, Total("2026-03-21"));  // three IPv6 contacts and the error's sender
        Assert.Equal(2, Total("2026-03-16"));
        Assert.Equal(0, Total("2026-03-01"));
        Assert.Equal(2L, totals.Single(r => (string)r[0]! == "2026-03-30")[4]); // sent themselves
        Assert.Equal(12, totals.Sum(r => (long)r[3]!)); // 11 addresses; 2.56.0.1 on two days

        // The two ASNs with the most addresses in the window, in that order, on the days they were seen.
        var perAsn = t.Rows.Where(r => r[1] is not null).ToList();
        Assert.Equal([12389L, 4766L], perAsn.Select(r => (long)r[1]!).Distinct());
        Assert.Equal([("2026-03-11", 1L), ("2026-03-21", 3L), ("2026-03-29", 1L), ("2026-03-30", 2L)],
            perAsn.Where(r => (long)r[1]! == 12389).Select(r => ((string)r[0]!, (long)r[3]!)));
        Assert.Equal("Rostelecom", perAsn[0][2]);
        Assert.Equal(3, perAsn.Where(r => (long)r[1]! == 4766).Sum(r => (long)r[3]!));
        Assert.Contains(new Fact("UTC days", 31L), t.Facts);
        Assert.Contains("The first and last days are partial: the window starts or ends within them.", t.Notes);
        Assert.NotEmpty(t.Datasets);
    }

    [Fact]
    public void AddressesPerDay_WithoutAsnData_TotalsOnlyAndSaysWhy()
    {
        using var k = new KnownDatabase(withRanges: false);
        var t = Reports.AddressesPerDay(k.Db, Default);
        Assert.All(t.Rows, r => Assert.Null(r[1]));
        Assert.Equal(31, t.Rows.Count);
        Assert.Contains(t.Notes, n => n.Contains("no ASN data", StringComparison.Ordinal));
    }

    [Fact]
    public void MessageKinds_SplitsEachMethodIntoQueriesResponsesAndErrors()
    {
        using var k = new KnownDatabase();
        k.Message(27, "2.56.0.9", "e", "get_peers", null, 0x44);
        k.Message(-3, "2.56.0.9", "q", "ping", null, 0x44); // before the window
        var t = Reports.MessageKinds(k.Db, Default);
        Assert.Equal(["(query not captured)", "get_peers", "find_node"], t.Rows.Select(r => (string)r[0]!));
        Assert.Equal<object?[]>(["get_peers", 1L, 0L, 1L, 2L, 2.0 / 5], Row(t, r => (string)r[0]! == "get_peers"));
        Assert.Equal<object?[]>(["(query not captured)", 0L, 2L, 0L, 2L, 2.0 / 5], t.Rows[0]);
        Assert.Contains(new Fact("messages", 5L), t.Facts);
        Assert.Contains(new Fact("answers whose query is not in the capture", 2L), t.Facts);
    }

    [Fact]
    public void ResponseTimes_BinsOnA125Scale_FromTheFirstToTheLastNonEmptyBin()
    {
        using var k = new KnownDatabase();
        foreach (var (day, rtt) in new[] { (29, 150L), (28, 1_500L), (27, 1_999L), (26, 30_000_000L), (-5, 10L) })
            k.Exec($"INSERT INTO messages (capture_id, frame_no, ts, src_ip, src_ip_num, y, rtt_us) VALUES (1, {900 + day}, {KnownDatabase.Ts(day)}, '2.56.0.1', {KnownDatabase.Num("2.56.0.1")}, 'r', {rtt})");
        var t = Reports.ResponseTimes(k.Db, Default);
        Assert.Equal(16, t.Rows.Count); // 0.1 ms .. 0.2 ms up to >= 10 s
        Assert.Equal<object?[]>(["0.1 ms–0.2 ms", 0.1, 0.2, 1L, 0.25], t.Rows[0]);
        Assert.Equal<object?[]>(["1 ms–2 ms", 1.0, 2.0, 2L, 0.5], t.Rows[3]);
        Assert.Equal<object?[]>(["≥ 10 s", 10_000.0, null, 1L, 0.25], t.Rows[^1]);
        Assert.Equal(0L, t.Rows[1][3]);
        Assert.Contains(new Fact("answers matched to their query", 4L), t.Facts);
        // The two responses KnownDatabase stores without a time are answers without their query.
        Assert.Contains(new Fact("answers without their query in the capture", 2L), t.Facts);
        Assert.Equal(1.7495, (double)t.Facts.Single(f => f.Key == "median ms").Value!, 3); // 1,749.5 µs
    }

    [Fact]
    public void MalformedReasons_CountsTheWindowOnly()
    {
        using var k = new KnownDatabase();
        k.Exec($"INSERT INTO malformed_krpc VALUES (1, 98, {KnownDatabase.Ts(4)}, '9.9.9.9', 6881, '10.0.0.1', 6881, 'truncated', 3, NULL)");
        k.Exec($"INSERT INTO malformed_krpc VALUES (1, 97, {KnownDatabase.Ts(6)}, '9.9.9.9', 6881, '10.0.0.1', 6881, 'missing t', 0, NULL)");
        k.Exec($"INSERT INTO malformed_krpc VALUES (1, 96, {KnownDatabase.Ts(-20)}, '9.9.9.9', 6881, '10.0.0.1', 6881, 'missing y', 0, NULL)");
        var t = Reports.MalformedReasons(k.Db, Default);
        Assert.Equal<object?[]>(["truncated", 2L, 2.0 / 3], t.Rows[0]);
        Assert.Equal<object?[]>(["missing t", 1L, 1.0 / 3], t.Rows[1]);
        Assert.Equal(2, t.Rows.Count);
        Assert.Contains(new Fact("malformed datagrams", 3L), t.Facts);
    }

    [Fact]
    public void CaptureHealth_CapturesOverlappingTheWindow_AndThoseThatReadNothing()
    {
        using var k = new KnownDatabase();
        k.Exec($"INSERT INTO captures VALUES (2, '/data/old.pcap', 'file', 'y', 'complete', 5, 5, 5, 0, {KnownDatabase.Ts(-40)}, {KnownDatabase.Ts(-35)}, NULL, NULL)");
        k.Exec($"INSERT INTO captures VALUES (3, '/data/cut.pcap.zst', 'file', 'z', 'partial', 7, 7, 6, 1, {KnownDatabase.Ts(-5)}, {KnownDatabase.Ts(2)}, NULL, 'frame 8 at byte 4096: truncated')");
        k.Exec("INSERT INTO captures VALUES (4, '/data/empty.pcap', 'file', 'w', 'complete', 0, 0, 0, 0, NULL, NULL, NULL, NULL)");
        k.Exec($"INSERT INTO captures VALUES (5, 'live:eth0', 'live', NULL, 'running', 9, 9, 9, 0, {KnownDatabase.Ts(28)}, {KnownDatabase.Ts(29)}, NULL, NULL)");
        var t = Reports.CaptureHealth(k.Db, Default);
        // old.pcap ends before the window; empty.pcap read nothing but is complete; known.pcap has no times and is not complete.
        Assert.Equal([3L, 5L, 1L], t.Rows.Select(r => (long)r[0]!));
        var cut = t.Rows[0];
        Assert.Equal("cut.pcap.zst", cut[1]); // no local directories on a page people share
        Assert.Equal("partial", cut[3]);
        Assert.Equal("2026-02-24 12:00:00Z", cut[4]);
        Assert.Equal("frame 8 at byte 4096: truncated", cut[10]);
        Assert.Equal("live:eth0", t.Rows[1][1]);
        Assert.Null(t.Rows[1][9]); // no libpcap counters in this schema
        Assert.Contains(new Fact("captures", 3L), t.Facts);
        Assert.Contains(new Fact("partial", 1L), t.Facts);
        Assert.NotNull(t.Window);
    }
}
