using PcapDht.Analysis;
using PcapDht.Cli;
using PcapDht.Store;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

public class ReportWindowTests
{
    [Fact]
    public void TryParseEnd_BareDate_MeansTheWholeDay()
    {
        Assert.True(ReportWindow.TryParseEnd("2026-09-30", out var end, out bool isDay));
        Assert.True(isDay);
        Assert.Equal(new DateTimeOffset(2026, 9, 30, 23, 59, 59, TimeSpan.Zero).AddTicks(9_999_990), end);
        Assert.True(ReportWindow.TryParseEnd("2026-09-30T12:00:00Z", out var exact, out isDay));
        Assert.False(isDay);
        Assert.Equal(new DateTimeOffset(2026, 9, 30, 12, 0, 0, TimeSpan.Zero), exact);
    }

    [Fact]
    public void Resolve_DaysBeforeABareDate_AreWholeDaysFromMidnight()
    {
        ReportWindow.TryParseEnd("2026-09-30", out var end, out bool isDay);
        var w = ReportWindow.Resolve(null, 30, null, end, isDay);
        Assert.Equal(new DateTimeOffset(2026, 9, 1, 0, 0, 0, TimeSpan.Zero), w.Since);
        Assert.Equal("2026-09-01 00:00:00Z .. 2026-09-30 23:59:59Z (30 days)", w.ToString());
    }

    [Fact]
    public void ReportAsn_UntilBareDate_IncludesThatDaysSightings()
    {
        // The newest sightings are on day 29 = 2026-03-30 12:00Z; `--until 2026-03-30` must count them.
        using var t = new TempFiles();
        using var k = new KnownDatabase();
        k.Db.Close();
        var o = CliRunner.Run(["report", "asn", "--db", k.Path, "--until", "2026-03-30", "--days", "1", "--format", "csv"]);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Contains("# window: 2026-03-30 00:00:00Z .. 2026-03-30 23:59:59Z (1 days)", o.Stderr);
        var lines = o.Stdout.Trim().Split('\n');
        Assert.StartsWith("1,12389,", lines[1]); // 2.56.0.1 and 2.56.0.2 on day 29
        Assert.StartsWith("2,4766,", lines[2]);  // 175.192.0.1 on day 29
    }

    [Fact]
    public void ReportAsn_WithAsnDataButNoSightings_ExitsNoDataSayingSo()
    {
        using var t = new TempFiles();
        string db = t.Path("empty.duckdb");
        using (PcapDhtDatabase.Open(db)) { } // the store's relations, empty: what an ingest of a capture without KRPC leaves
        Assert.Equal(ExitCodes.Ok, CliRunner.Run(["asn", "import", Path.Combine(RepoPaths.AsnSamples, "asn-ipv4.csv"), "--db", db]).ExitCode);
        foreach (var verb in new[] { "asn", "clients" })
        {
            var o = CliRunner.Run(["report", verb, "--db", db]);
            Assert.Equal(ExitCodes.NoData, o.ExitCode);
            Assert.Contains("no sightings", o.Stdout);
            Assert.DoesNotContain("1970", o.Stdout);
        }
    }

    [Fact]
    public void Asn_EmptyWindowWithoutCaptureSpans_NamesTheSightingsOnBothSides()
    {
        // KnownDatabase's one capture row has no first/last timestamps, so the note falls back to the sightings.
        using var k = new KnownDatabase();
        var t = Reports.Asn(k.Db, new ReportOptions { Since = KnownDatabase.Base.AddDays(1), Until = KnownDatabase.Base.AddDays(2) });
        Assert.NotNull(t.Unavailable);
        Assert.Contains("No sightings in the window 2026-03-02 12:00:00Z .. 2026-03-03 12:00:00Z", t.Unavailable);
        Assert.Contains("sightings from 2026-02-19 12:00:00Z on, before the window and sightings up to 2026-03-30 12:00:00Z, after it.", t.Unavailable);
        Assert.EndsWith("Try --since 2026-02-19T12:00:00Z --until 2026-03-30T12:00:00Z.", t.Unavailable);
        Assert.Empty(t.Rows);
    }

    [Fact]
    public void ReportAsn_NegativeTop_IsAUsageError()
    {
        var o = CliRunner.Run(["report", "asn", "--top", "-1"]);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        Assert.Contains("--top", o.Stderr);
    }
}
