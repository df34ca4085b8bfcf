using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Enrich;
using PcapDht.Store;
using PcapDht.Synth;
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
        Assert.True(LakeReportTests.Scalar(db, "SELECT count(*) FROM pcapdht_store.addr_index") > 1000);
        Assert.Equal(0, IndexMismatches(db));
        Assert.True(LakeReportTests.Scalar(db, "SELECT count(*) FROM pcapdht_store.addr_index WHERE direct_lo <> 0 AND direct_lo <> days_lo") > 0,
            "no address seen both directly and only as a contact on some day: the direct bits are not tested");
    }

    /// <summary>
    /// Rows of the index that differ from its recomputation from <c>address_days</c>, one (address, day) at a time: the same
    /// addresses, each with the same days, direct days and last (direct) sighting, and its AS and country as the
    /// reports' ASOF lookup gives them.
    /// </summary>
    internal static long IndexMismatches(DuckDBConnection db) => LakeReportTests.Scalar(db, $"SELECT count(*) FROM ({MismatchSql(db)})");

    private static string DumpMismatches(DuckDBConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT * FROM ({MismatchSql(db)}) LIMIT 3";
        using var r = cmd.ExecuteReader();
        var sb = new System.Text.StringBuilder();
        while (r.Read())
        {
            for (int k = 0; k < r.FieldCount; k++) sb.Append(r.GetName(k)).Append('=').Append(r.IsDBNull(k) ? "NULL" : Convert.ToString(r.GetValue(k), System.Globalization.CultureInfo.InvariantCulture)).Append(' ');
            sb.Append(" | ");
        }
        return sb.ToString();
    }

    private static string MismatchSql(DuckDBConnection db)
    {
        var state = AddressIndex.Current(db)!.Value;
        string anchor = state.Anchor.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"""
            WITH want AS (
                SELECT ip_num AS ip, list_sort(list(DISTINCT {anchor} - (day - DATE '1970-01-01'))) AS days,
                       coalesce(list_sort(list(DISTINCT {anchor} - (day - DATE '1970-01-01')) FILTER (WHERE direct)), []) AS direct_days,
                       max(last_us) AS last_us, max(last_us) FILTER (WHERE direct) AS last_direct_us
                FROM address_days WHERE kind <> 'peer' AND {anchor} - (day - DATE '1970-01-01') < 128 GROUP BY ip_num),
            got AS (SELECT (ip_hi::UHUGEINT << 64) | ip_lo::UHUGEINT AS ip,
                        list_filter(range(128), p -> CASE WHEN p < 64 THEN (days_lo >> p::UBIGINT) & 1::UBIGINT ELSE (days_hi >> (p - 64)::UBIGINT) & 1::UBIGINT END = 1::UBIGINT) AS days,
                        list_filter(range(128), p -> CASE WHEN p < 64 THEN (direct_lo >> p::UBIGINT) & 1::UBIGINT ELSE (direct_hi >> (p - 64)::UBIGINT) & 1::UBIGINT END = 1::UBIGINT) AS direct_days,
                        last_us, last_direct_us, a.asn, a.as_name, coalesce(c.country, a.country) AS country
                    FROM pcapdht_store.addr_index LEFT JOIN pcapdht_store.addr_index_asn a USING (a_key) LEFT JOIN pcapdht_store.addr_index_country c USING (c_key)),
            resolved AS (SELECT w.*, CASE WHEN w.ip <= a.end_num THEN a.asn END AS asn, CASE WHEN w.ip <= a.end_num THEN a.as_name END AS as_name,
                        coalesce(CASE WHEN w.ip <= c.end_num THEN c.country END, CASE WHEN w.ip <= a.end_num THEN a.country END) AS country
                    FROM want w ASOF LEFT JOIN asn_ranges a ON w.ip >= a.start_num ASOF LEFT JOIN country_ranges c ON w.ip >= c.start_num)
            SELECT ip, w.days::VARCHAR AS want_days, g.days::VARCHAR AS got_days, w.direct_days::VARCHAR AS want_direct, g.direct_days::VARCHAR AS got_direct,
                   w.last_us AS want_last, g.last_us AS got_last, w.last_direct_us AS want_last_direct, g.last_direct_us AS got_last_direct, w.asn AS want_asn, g.asn AS got_asn
            FROM resolved w FULL JOIN got g USING (ip)
            WHERE w.days IS DISTINCT FROM g.days OR w.direct_days IS DISTINCT FROM g.direct_days OR w.last_us IS DISTINCT FROM g.last_us
               OR w.last_direct_us IS DISTINCT FROM g.last_direct_us OR w.asn IS DISTINCT FROM g.asn OR w.as_name IS DISTINCT FROM g.as_name
               OR w.country IS DISTINCT FROM g.country
            """;
    }

    /// <summary>
    /// Captures ingested one run at a time are merged into the index (not rebuilt), whose newest day moves by 0, 10, 70
    /// (into the high word) and 200 days (past all 128): after each run it equals its recomputation from address_days,
    /// and the reports read from it equal the detail.
    /// </summary>
    [Fact]
    public void CapturesAddedRunByRun_AreMergedIn_AndEqualARebuild()
    {
        using var temp = new TempFiles();
        string path = temp.Path("merge.duckdb");
        (string End, int Days)[] ends = [("2026-06-01", 20), ("2026-05-20", 5), ("2026-06-11", 20), ("2026-08-20", 30), ("2027-03-09", 10)];
        var ranges = RangeFileReader.Read(SynthDatabaseFixture.FixtureRanges);
        using (PcapDhtDatabase.Open(path)) { }
        using (var db = RollupDatabaseFixture.Open(path))
            RangeStore.Import(db, [ranges], DateTimeOffset.UnixEpoch);
        for (int i = 0; i < ends.Length; i++)
        {
            string capture = temp.Path($"synth-{i}.pcap");
            using (var fs = File.Create(capture))
                SynthGenerator.Generate(new SynthOptions
                {
                    Seed = 20UL + (ulong)i, Packets = 3_000, Days = ends[i].Days,
                    End = DateTimeOffset.Parse(ends[i].End + "T07:30:00Z", System.Globalization.CultureInfo.InvariantCulture),
                }, AsnRangeTable.Load(SynthDatabaseFixture.FixtureRanges), fs);
            using (var store = PcapDhtDatabase.Open(path))
            {
                var pipeline = new PcapDht.Ingest.IngestPipeline(store);
                Assert.Null(pipeline.IngestFile(capture).Error);
                Assert.Equal(AddressIndex.Refreshed.Merged, pipeline.IndexRefreshed);
            }
            using var db = RollupDatabaseFixture.Open(path);
            Assert.NotNull(AddressIndex.Current(db));
            long bad = IndexMismatches(db);
            Assert.True(bad == 0, $"run {i}: {bad} rows differ; {DumpMismatches(db)}");
            var options = new ReportOptions { Days = 30, Top = 0 };
            var cut = new ReportOptions { Since = DateTimeOffset.Parse(ends[i].End + "T07:30:00Z", System.Globalization.CultureInfo.InvariantCulture).AddDays(-9.3),
                Until = DateTimeOffset.Parse(ends[i].End + "T07:30:00Z", System.Globalization.CultureInfo.InvariantCulture).AddDays(-1.6), Top = 0 };
            foreach (var o in new[] { options, cut })
                foreach (var (name, run) in IndexReports)
                    Assert.Equal(LakeReportTests.Canonical(run(db, o with { Source = ReportSource.Detail })), LakeReportTests.Canonical(run(db, o with { Source = ReportSource.Index })));
        }
        using (var db = RollupDatabaseFixture.Open(path))
        {
            // Every run after the first merged; a refresh now finds nothing to do.
            Assert.Equal(AddressIndex.Refreshed.Current, AddressIndex.Refresh(db));
            Assert.Equal(5, LakeReportTests.Scalar(db, "SELECT count(*) FROM pcapdht_store.capture"));
        }
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
        Assert.Equal(AddressIndex.Refreshed.Built, AddressIndex.Refresh(db));
        Assert.NotNull(AddressIndex.Current(db));

        // A capture's rows deleted: rebuilt without its addresses, equal to the detail of what is left.
        Execute(db, $"DELETE FROM pcapdht_store.capture WHERE capture_id = (SELECT max(capture_id) FROM pcapdht_store.capture); " +
                    string.Concat(new[] { "msg", "node", "node6", "peer", "malformed" }.Concat(RollupSchema.Tables)
                        .Select(t => $"DELETE FROM pcapdht_store.{t} WHERE capture_id NOT IN (SELECT capture_id FROM pcapdht_store.capture); ")));
        Assert.Null(AddressIndex.Current(db));
        Assert.Equal(AddressIndex.Refreshed.Built, AddressIndex.Refresh(db));
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

    /// <summary>
    /// <c>pcapdht check</c> compares the index with the rollups: a current index whose rows were changed behind its back
    /// (a last sighting, a day bit, an AS key, a row gone, a row too many) is an inconsistency naming as many addresses as
    /// the list-based recomputation above finds; <c>check --compact</c> rebuilds it, after which check is clean and the
    /// reports read from the index equal the detail again.
    /// </summary>
    [Fact]
    public void Check_FindsAnIndexThatDisagreesWithTheRollups_AndCompactRebuildsIt()
    {
        using var temp = new TempFiles();
        string path = temp.Path("check.duckdb");
        File.Copy(fixture.DbPath, path);
        using (var db = RollupDatabaseFixture.Open(path))
            Assert.Equal((0L, (string?)null), AddressIndex.Mismatches(db));
        Assert.DoesNotContain(StoreCheck.Run(path, TimeSpan.Zero).Findings, StoreCheck.IsIndexMismatch);

        string[] damage =
        [
            "UPDATE pcapdht_store.addr_index SET last_us = last_us - 1 WHERE ip_lo % 11 = 0",
            "UPDATE pcapdht_store.addr_index SET days_lo = xor(days_lo, 4::UBIGINT) WHERE ip_lo % 13 = 1",
            "UPDATE pcapdht_store.addr_index SET a_key = a_key + 1 WHERE a_key IS NOT NULL AND ip_lo % 17 = 2",
            "DELETE FROM pcapdht_store.addr_index WHERE ip_lo % 19 = 3",
            "INSERT INTO pcapdht_store.addr_index SELECT 1, 2, days_lo, days_hi, direct_lo, direct_hi, last_us, last_direct_us, a_key, c_key FROM pcapdht_store.addr_index LIMIT 3",
        ];
        foreach (string sql in damage)
        {
            long expected;
            using (var db = RollupDatabaseFixture.Open(path))
            {
                Execute(db, sql);
                Assert.NotNull(AddressIndex.Current(db)); // the fingerprints still match: reports would trust it
                expected = IndexMismatches(db);
                Assert.True(expected > 0, $"'{sql}' changed nothing the recomputation sees");
                Assert.Equal(expected, AddressIndex.Mismatches(db)!.Value.Count);
            }
            var found = Assert.Single(StoreCheck.Run(path, TimeSpan.Zero).Findings);
            Assert.True(StoreCheck.IsIndexMismatch(found), found.Message);
            Assert.Contains($"{expected} addresses differ", found.Message);

            var compacted = StoreCheck.Compact(path, TimeSpan.Zero);
            Assert.True(compacted.IndexRebuilt, sql);
            Assert.Empty(compacted.Findings);
            Assert.Empty(StoreCheck.Run(path, TimeSpan.Zero).Findings);
            using (var db = RollupDatabaseFixture.Open(path))
            {
                Assert.Equal(0, IndexMismatches(db));
                var options = RollupReportTests.OptionsFor("cut-synth");
                foreach (var (name, run) in IndexReports)
                    Assert.Equal(LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Detail })), LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Index })));
            }
        }
    }

    private static void Execute(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
