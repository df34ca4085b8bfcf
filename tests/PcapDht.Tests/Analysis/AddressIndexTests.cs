using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Enrich;
using PcapDht.Store;
using PcapDht.Tests.Export;
using PcapDht.Tests.Enrich;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// The address index (Store/AddressIndex.cs): <c>report asn</c> and <c>report country</c> read from it equal the same
/// reports read from the detail rows, for every window it answers (cut edge days included) and after a prune; it is
/// used only while it matches the store's captures and ranges, and a refresh after either changes makes it match again.
/// </summary>
public sealed class AddressIndexTests(RollupDatabaseFixture fixture) : IClassFixture<RollupDatabaseFixture>
{
    private static readonly (string Name, Func<DuckDBConnection, ReportOptions, ResultTable> Run)[] IndexReports =
    [
        ("asn", Reports.Asn),
        ("country", Reports.Country),
    ];

    /// <summary>The windows of <see cref="RollupReportTests"/> the index answers (the others start before its 128 days, or lie within one day).</summary>
    private static readonly string[] Answered = ["default", "days1", "cut-synth", "cut-samples-day", "whole-days", "top5"];

    [Theory]
    [MemberData(nameof(RollupReportTests.Windows), MemberType = typeof(RollupReportTests))]
    public void IndexReports_EqualTheDetail_OrRefuseTheWindow(string window)
    {
        var options = RollupReportTests.OptionsFor(window);
        using var db = RollupDatabaseFixture.Open(fixture.DbPath);
        Assert.NotNull(AddressIndex.Current(db));
        foreach (var (name, run) in IndexReports)
        {
            string expected = LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Detail }));
            if (options.Ipv6Prefix is null && Answered.Contains(window))
            {
                string got = LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Index }));
                Assert.True(expected == got, $"report {name} ({window}) from the index differs:\ndetail: {expected}\nindex:  {got}");
            }
            else
            {
                var refused = Assert.Throws<ArgumentException>(() => run(db, options with { Source = ReportSource.Index }));
                Assert.Contains("address index cannot answer", refused.Message);
            }
            // Auto takes the index where it answers, the rollups (or detail) where not: the same numbers either way.
            Assert.Equal(expected, LakeReportTests.Canonical(run(db, options)));
        }
    }

    [Fact]
    public void IndexHoldsEveryNonPeerAddressOfItsDays_WithTheirDayBits()
    {
        using var db = RollupDatabaseFixture.Open(fixture.DbPath);
        var state = AddressIndex.Current(db)!.Value;
        string anchor = state.Anchor.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Recomputed from the rollup view one (address, day) at a time: the same addresses, each with the same days and direct days.
        long mismatches = LakeReportTests.Scalar(db, $"""
            WITH want AS (
                SELECT ip_num AS ip, list_sort(list(DISTINCT {anchor} - (day - DATE '1970-01-01'))) AS days,
                       list_sort(list(DISTINCT {anchor} - (day - DATE '1970-01-01')) FILTER (WHERE direct)) AS direct_days
                FROM address_days WHERE kind <> 'peer' AND {anchor} - (day - DATE '1970-01-01') < 128 GROUP BY ip_num),
            bits AS (SELECT ip, list_filter(range(128), p -> (days >> p::UHUGEINT) & 1::UHUGEINT = 1::UHUGEINT) AS days,
                            list_filter(range(128), p -> (direct_days >> p::UHUGEINT) & 1::UHUGEINT = 1::UHUGEINT) AS direct_days
                     FROM pcapdht_store.addr_index)
            SELECT count(*) FROM want FULL JOIN bits USING (ip)
            WHERE want.days IS DISTINCT FROM bits.days OR coalesce(want.direct_days, []) IS DISTINCT FROM bits.direct_days
            """);
        Assert.Equal(0, mismatches);
        Assert.True(LakeReportTests.Scalar(db, "SELECT count(*) FROM pcapdht_store.addr_index") > 1000);
        Assert.True(LakeReportTests.Scalar(db, "SELECT count(*) FROM pcapdht_store.addr_index WHERE direct_days <> 0 AND direct_days <> days") > 0,
            "no address seen both directly and only as a contact on some day: the direct bits are not tested");
    }

    [Theory]
    [InlineData("default")]
    [InlineData("cut-synth")]
    [InlineData("whole-days")]
    public void AfterPrune_TheIndexStaysCurrent_AndEqualsTheUnprunedDetail(string window)
    {
        var options = RollupReportTests.OptionsFor(window);
        using var full = RollupDatabaseFixture.Open(fixture.DbPath);
        using var pruned = RollupDatabaseFixture.Open(fixture.PrunedPath);
        Assert.NotNull(Reports.DetailPrunedBefore(pruned));
        Assert.NotNull(AddressIndex.Current(pruned));
        foreach (var (name, run) in IndexReports)
            Assert.Equal(LakeReportTests.Canonical(run(full, options with { Source = ReportSource.Detail })),
                LakeReportTests.Canonical(run(pruned, options with { Source = ReportSource.Index })));
    }

    [Fact]
    public void AChangedCaptureOrRangeSet_MakesTheIndexStale_UntilARefresh()
    {
        using var temp = new TempFiles();
        string path = temp.Path("copy.duckdb");
        File.Copy(fixture.DbPath, path);
        var options = RollupReportTests.OptionsFor("cut-synth");
        using var db = RollupDatabaseFixture.Open(path);
        Assert.NotNull(AddressIndex.Current(db));

        // A commit that adds rows to a capture raises its counters: the index no longer matches and is not read.
        Execute(db, "UPDATE pcapdht_store.capture SET frames = frames + 1 WHERE capture_id = (SELECT min(capture_id) FROM pcapdht_store.capture)");
        Assert.Null(AddressIndex.Current(db));
        Assert.Throws<ArgumentException>(() => Reports.Asn(db, options with { Source = ReportSource.Index }));
        Assert.Equal(LakeReportTests.Canonical(Reports.Asn(db, options with { Source = ReportSource.Rollups })), LakeReportTests.Canonical(Reports.Asn(db, options)));
        Assert.True(AddressIndex.Refresh(db));
        Assert.NotNull(AddressIndex.Current(db));

        // A capture's rows deleted: rebuilt without its addresses, equal to the detail of what is left.
        Execute(db, $"DELETE FROM pcapdht_store.capture WHERE capture_id = (SELECT max(capture_id) FROM pcapdht_store.capture); " +
                    string.Concat(new[] { "msg", "node", "node6", "peer", "malformed" }.Concat(RollupSchema.Tables)
                        .Select(t => $"DELETE FROM pcapdht_store.{t} WHERE capture_id NOT IN (SELECT capture_id FROM pcapdht_store.capture); ")));
        Assert.Null(AddressIndex.Current(db));
        Assert.True(AddressIndex.Refresh(db));
        foreach (var (name, run) in IndexReports)
            Assert.Equal(LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Detail })), LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Index })));

        // New ranges: the import resolves every address again (AS numbers shifted by one, countries swapped).
        string asnBefore = LakeReportTests.Canonical(Reports.Asn(db, options with { Source = ReportSource.Index }));
        var shifted = new System.Text.StringBuilder();
        var countries = new System.Text.StringBuilder();
        foreach (var r in RangeFileReader.Read(SynthDatabaseFixture.FixtureRanges).Ranges)
        {
            shifted.Append(r.Start).Append(',').Append(r.End).Append(',').Append(r.Asn + 1).Append(",AS-").Append(r.Asn + 1).Append('\n');
            countries.Append(r.Start).Append(',').Append(r.End).Append(',').Append(r.Asn % 2 == 0 ? "FR" : "JP").Append('\n');
        }
        RangeStore.Import(db, [RangeFileReader.Read(temp.Write("asn.csv", shifted.ToString())), RangeFileReader.Read(temp.Write("country.csv", countries.ToString()))],
            DateTimeOffset.UnixEpoch.AddDays(1));
        Assert.NotNull(AddressIndex.Current(db));
        foreach (var (name, run) in IndexReports)
        {
            string detail = LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Detail }));
            Assert.Equal(detail, LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Index })));
        }
        Assert.NotEqual(asnBefore, LakeReportTests.Canonical(Reports.Asn(db, options with { Source = ReportSource.Index })));
    }

    private static void Execute(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
