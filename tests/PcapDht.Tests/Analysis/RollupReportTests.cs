using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Enrich;
using PcapDht.Ingest;
using PcapDht.Krpc;
using PcapDht.Store;
using PcapDht.Synth;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;
using PcapDht.Tests.Export;
using PcapDht.Tests.Krpc;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// One database of the samples, the third-party captures (when present) and two synthetic captures whose days overlap
/// (a store's rollups then hold several captures' partial rows per day), with its daily rollups; and a copy whose detail
/// rows before <see cref="Cutoff"/> were pruned (the rollups kept), as <c>pcapdht prune</c> leaves a store.
/// </summary>
public sealed class RollupDatabaseFixture : IDisposable
{
    /// <summary>Mid-day: the pruned copy keeps 2026-09-14 from 05:00 on.</summary>
    public static readonly DateTimeOffset Cutoff = new(2026, 9, 14, 5, 0, 0, TimeSpan.Zero);

    private readonly TempFiles _temp = new();
    public string DbPath { get; }
    public string PrunedPath { get; }

    public RollupDatabaseFixture()
    {
        string synth = _temp.Path("synth-overlap.pcap");
        using (var fs = File.Create(synth))
            SynthGenerator.Generate(new SynthOptions { Seed = 7, Packets = 6_000, Days = 20, End = new DateTimeOffset(2026, 9, 20, 8, 30, 0, TimeSpan.Zero) },
                AsnRangeTable.Load(SynthDatabaseFixture.FixtureRanges), fs);
        var captures = new List<string>
        {
            Sample("dht-any-sll2.pcap"), Sample("dht-loopback.pcapng.zst"), Sample("synthetic-dht.pcap"), synth,
        };
        if (ThirdPartyCaptures.Directory is { } shared)
            captures.AddRange(Directory.EnumerateFiles(shared).Where(f => f.Contains(".pcap", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        DbPath = _temp.Path("rollups.duckdb");
        using (var store = PcapDhtDatabase.Open(DbPath))
        {
            var pipeline = new IngestPipeline(store);
            foreach (var capture in captures)
                if (pipeline.IngestFile(capture).Error is { } error) throw new InvalidOperationException($"{capture}: {error}");
        }
        var countries = new StringBuilder();
        foreach (var r in RangeFileReader.Read(SynthDatabaseFixture.FixtureRanges).Ranges)
            countries.Append(r.Start).Append(',').Append(r.End).Append(',').Append(r.Asn % 2 == 0 ? "DE" : "KR").Append('\n');
        using (var db = Open(DbPath))
            RangeStore.Import(db, [RangeFileReader.Read(SynthDatabaseFixture.FixtureRanges), RangeFileReader.Read(_temp.Write("country.csv", countries.ToString()))], DateTimeOffset.UnixEpoch);
        RollupScaffold.Ensure(DbPath);
        PrunedPath = _temp.Path("pruned.duckdb");
        File.Copy(DbPath, PrunedPath);
        RollupScaffold.PruneDetail(PrunedPath, Reports.ToMicros(Cutoff));
    }

    private static string Sample(string name) => Path.Combine(RepoPaths.Root, "samples-pcap", name);

    /// <summary>A read-write connection with the enriched views, as a report's open makes them.</summary>
    public static DuckDBConnection Open(string path) => LakeFixture.Open(path);

    public void Dispose() => _temp.Dispose();
}

/// <summary>
/// Every report that reads the daily rollups equals its detail-path result (all columns, rows, facts and notes) for
/// windows that cut days, lie within one day, are whole days, or are the defaults; after a prune the address counts stay
/// exact and the counts of cut days whose detail is gone are labelled bounds that hold the true value.
/// </summary>
public sealed class RollupReportTests(RollupDatabaseFixture fixture) : IClassFixture<RollupDatabaseFixture>
{
    private static DateTimeOffset T(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static TheoryData<string> Windows => new()
    {
        "default", "days1", "all", "cut-synth", "cut-synth-per64", "cut-years", "cut-samples-day", "one-day", "whole-days", "top5",
    };

    internal static ReportOptions OptionsFor(string name) => name switch
    {
        // 30 days up to the newest sighting (the samples' 2026-11-30): nothing is newer than the end.
        "default" => new ReportOptions { Top = 0 },
        "days1" => new ReportOptions { Days = 1, Top = 0 },
        "all" => new ReportOptions { Days = 30_000, Top = 0 },
        // Both synthetic captures have traffic on both edge days, at both sides of each edge.
        "cut-synth" => new ReportOptions { Since = T("2026-08-25T13:17:00Z"), Until = T("2026-09-16T09:05:30Z"), Top = 0 },
        "cut-synth-per64" => new ReportOptions { Since = T("2026-08-25T13:17:00Z"), Until = T("2026-09-16T09:05:30Z"), Top = 0, Ipv6Prefix = 64 },
        // From inside the 2013 third-party capture to inside a synthetic day.
        "cut-years" => new ReportOptions { Since = T("2013-12-17T04:40:00Z"), Until = T("2026-09-12T17:45:00Z"), Top = 0 },
        // Ends inside the samples' minute on 2026-11-30.
        "cut-samples-day" => new ReportOptions { Since = T("2026-11-01T00:00:00Z"), Until = T("2026-11-30T23:25:10Z"), Top = 0 },
        "one-day" => new ReportOptions { Since = T("2026-09-14T06:00:00Z"), Until = T("2026-09-14T18:00:00Z"), Top = 0 },
        "whole-days" => new ReportOptions { Since = T("2026-09-10T00:00:00Z"), Until = T("2026-09-12T23:59:59.999999Z"), UntilIsDay = true, Top = 0 },
        "top5" => new ReportOptions { Days = 60, Top = 5 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>The reports that read the rollups, by name.</summary>
    internal static readonly (string Name, Func<DuckDBConnection, ReportOptions, ResultTable> Run)[] RollupReports =
    [
        ("asn", Reports.Asn),
        ("country", Reports.Country),
        ("clients", Reports.Clients),
        ("overview", (db, o) => Reports.Overview(db, o, explicitWindow: true)),
        ("overview-all-data", (db, o) => Reports.Overview(db, o, explicitWindow: false)),
        ("daily", (db, o) => Reports.Daily(db, o, byAsn: false)),
        ("daily-by-asn", (db, o) => Reports.Daily(db, o, byAsn: true)),
        ("addresses-per-day", (db, o) => Reports.AddressesPerDay(db, o)),
    ];

    [Theory]
    [MemberData(nameof(Windows))]
    public void EveryRollupReport_EqualsItsDetailResult(string window)
    {
        var options = OptionsFor(window);
        using var db = RollupDatabaseFixture.Open(fixture.DbPath);
        Assert.True(Reports.HasRollups(db));
        foreach (var (name, run) in RollupReports)
        {
            var detail = run(db, options with { Source = ReportSource.Detail });
            Assert.True(detail.Unavailable is null, $"{name} ({window}) has nothing to compare: {detail.Unavailable}");
            string expected = LakeReportTests.Canonical(detail), got = LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Rollups }));
            Assert.True(expected == got, $"report {name} ({window}) differs from rollups:\ndetail:  {expected}\nrollups: {got}");
        }
    }

    /// <summary>
    /// The cut windows above are cut for real: each edge day has rollup rows inside, outside and across the edge, so a
    /// reader that ignored first/last (or took whole days) would count differently.
    /// </summary>
    [Theory]
    [InlineData("cut-synth")]
    [InlineData("cut-years")]
    public void CutWindows_HaveRowsOnBothSidesOfEachEdge(string window)
    {
        var o = OptionsFor(window);
        long s = Reports.ToMicros(o.Since!.Value), u = Reports.ToMicros(o.Until!.Value);
        using var db = RollupDatabaseFixture.Open(fixture.DbPath);
        string first = $"day = pcapdht_day_us({s})", last = $"day = pcapdht_day_us({u})";
        Assert.True(Count(db, $"{first} AND last_us < {s}") > 0, "no row of the first day lies before the window");
        Assert.True(Count(db, $"{first} AND first_us >= {s}") > 0, "no row of the first day lies inside the window");
        Assert.True(Count(db, $"{last} AND first_us > {u}") > 0, "no row of the last day lies after the window");
        Assert.True(Count(db, $"{last} AND last_us <= {u}") > 0, "no row of the last day lies inside the window");
        // Addresses seen on the edge days only outside the window: counting whole days would be wrong by them.
        long wholeDays = LakeReportTests.Scalar(db, $"SELECT count(DISTINCT ip_num) FROM address_days WHERE kind <> 'peer' AND day BETWEEN pcapdht_day_us({s}) AND pcapdht_day_us({u})");
        var asn = Reports.Asn(db, o with { Source = ReportSource.Rollups });
        Assert.NotEqual(wholeDays, (long)asn.Facts.Single(f => f.Key == "distinct addresses").Value!);
    }

    private static long Count(DuckDBConnection db, string where) =>
        LakeReportTests.Scalar(db, $"SELECT count(*) FROM message_days WHERE {where}") + LakeReportTests.Scalar(db, $"SELECT count(*) FROM address_days WHERE {where}");

    /// <summary>Windows that start before the prune cutoff: addresses, ids and whole-day counts are the unpruned detail's.</summary>
    public static TheoryData<string> PrunedWindows => new() { "all", "cut-synth", "cut-years", "whole-days", "default" };

    [Theory]
    [MemberData(nameof(PrunedWindows))]
    public void AfterPrune_AddressReports_EqualTheUnprunedDetail(string window)
    {
        var options = OptionsFor(window);
        using var full = RollupDatabaseFixture.Open(fixture.DbPath);
        using var pruned = RollupDatabaseFixture.Open(fixture.PrunedPath);
        Assert.NotNull(Reports.DetailPrunedBefore(pruned));
        Assert.True(LakeReportTests.Scalar(pruned, "SELECT count(*) FROM messages") < LakeReportTests.Scalar(full, "SELECT count(*) FROM messages"));
        foreach (var (name, run) in RollupReports)
        {
            if (name is "clients" or "overview" && window is "cut-synth" or "cut-years") continue; // cut pruned days: below
            string expected = LakeReportTests.Canonical(run(full, options with { Source = ReportSource.Detail }));
            string got = LakeReportTests.Canonical(run(pruned, options));
            Assert.True(expected == got, $"report {name} ({window}) after the prune differs:\nunpruned detail: {expected}\npruned rollups:  {got}");
        }
    }

    [Fact]
    public void AfterPrune_CountsOfACutPrunedDay_AreLabelledBoundsThatHoldTheTruth()
    {
        var options = OptionsFor("cut-synth"); // starts 2026-08-25 13:17, a pruned day with messages on both sides
        using var full = RollupDatabaseFixture.Open(fixture.DbPath);
        using var pruned = RollupDatabaseFixture.Open(fixture.PrunedPath);
        var truth = Reports.Overview(full, options with { Source = ReportSource.Detail }, explicitWindow: true);
        var got = Reports.Overview(pruned, options, explicitWindow: true);
        Assert.Null(got.Unavailable);
        Assert.Equal(truth.Rows.Select(r => (string)r[0]!), got.Rows.Select(r => (string)r[0]!));
        int bounded = 0;
        for (int i = 0; i < truth.Rows.Count; i++)
        {
            string metric = (string)truth.Rows[i][0]!;
            object? want = truth.Rows[i][1], have = got.Rows[i][1];
            if (metric.StartsWith("distinct", StringComparison.Ordinal) || metric == "captures" || metric == "last message")
            {
                Assert.True(Equals(want, have), $"{metric}: {want} (unpruned) vs {have} (pruned)");
                continue;
            }
            if (Equals(want, have)) continue;
            // Not exact: then labelled, naming the day, and the true value within the bounds.
            var text = Assert.IsType<string>(have);
            Assert.Contains("bounds", text);
            Assert.Contains("2026-08-25", text);
            bounded++;
            if (want is DateTimeOffset t)
            {
                var m = Regex.Match(text, @"^(\S+ \S+) to (\S+ \S+)");
                // The bounds are printed to the second (truncated).
                Assert.InRange(t, T(m.Groups[1].Value.Replace(' ', 'T')), T(m.Groups[2].Value.Replace(' ', 'T')).AddSeconds(1));
            }
            else
            {
                var m = Regex.Match(text, @"^([\d,]+) to ([\d,]+)");
                long lo = long.Parse(m.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
                long hi = long.Parse(m.Groups[2].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);
                Assert.InRange(Convert.ToInt64(want, CultureInfo.InvariantCulture), lo, hi);
                Assert.True(lo < hi, $"{metric}: bounds {text} for an exact value");
            }
        }
        Assert.True(bounded >= 2, "the window cuts a pruned day, yet no count is given as bounds");

        var clients = Reports.Clients(pruned, options);
        var clientsTruth = Reports.Clients(full, options with { Source = ReportSource.Detail });
        Assert.Equal(clientsTruth.Facts.Single(f => f.Key == "distinct sender addresses").Value, clients.Facts.Single(f => f.Key == "distinct sender addresses").Value);
        Assert.Contains(clients.Facts, f => f.Key == "messages (bounds)" && f.Value is string s && s.Contains("2026-08-25", StringComparison.Ordinal));
        Assert.Contains(clients.Rows, r => r[6] is null);
        var truthRows = clientsTruth.Rows.ToDictionary(r => $"{r[1]}|{r[2]}|{r[3]}");
        foreach (var row in clients.Rows)
        {
            var want = truthRows[$"{row[1]}|{row[2]}|{row[3]}"];
            Assert.Equal(want[4], row[4]); // ips
            Assert.Equal(want[5], row[5]); // node ids
            if (row[6] is not null) Assert.Equal(want[6], row[6]);
        }
    }

    [Fact]
    public void AfterPrune_ReportsThatNeedTheDetail_SayTheirWindowReachesBeforeTheCutoff()
    {
        using var pruned = RollupDatabaseFixture.Open(fixture.PrunedPath);
        var before = OptionsFor("cut-synth");
        var after = new ReportOptions { Since = RollupDatabaseFixture.Cutoff, Until = T("2026-09-20T00:00:00Z"), Top = 0 };
        foreach (var (name, table) in new (string, Func<ReportOptions, ResultTable>)[]
                 {
                     ("sybil", o => Reports.Sybil(pruned, o, byAsn: false)),
                     ("bep42", o => Reports.Bep42(pruned, o, Bep42Grouping.Client)),
                     ("size", o => Reports.Size(pruned, o, new SizeOptions())),
                     ("methods", o => Reports.MessageKinds(pruned, o)),
                     ("malformed", o => Reports.MalformedReasons(pruned, o)),
                     ("asn from the detail", o => Reports.Asn(pruned, o with { Source = ReportSource.Detail })),
                     ("overview from the detail", o => Reports.Overview(pruned, o with { Source = ReportSource.Detail }, explicitWindow: false)),
                     ("daily from the detail", o => Reports.Daily(pruned, o with { Source = ReportSource.Detail }, byAsn: false)),
                     ("within one pruned day", o => Reports.Asn(pruned, o with { Since = T("2026-09-14T01:00:00Z"), Until = T("2026-09-14T04:00:00Z") })),
                 })
        {
            var refused = table(before);
            Assert.True(refused.Unavailable?.Contains("were pruned", StringComparison.Ordinal) == true, $"{name}: {refused.Unavailable ?? "answered"}");
            Assert.Contains("2026-09-14 05:00:00Z", refused.Unavailable!);
            Assert.DoesNotContain('\n', refused.Unavailable!);
        }
        Assert.Null(Reports.Sybil(pruned, after, byAsn: false).Unavailable);
        Assert.Null(Reports.MessageKinds(pruned, after).Unavailable);
        Assert.Null(Reports.Asn(pruned, after with { Source = ReportSource.Detail }).Unavailable);
    }

    [Fact]
    public void Cli_SourceFlag_ReadsEitherWayWithTheSameNumbers()
    {
        string[] window = ["--since", "2026-08-25T13:17:00Z", "--until", "2026-09-16T09:05:30Z", "--top", "0", "--format", "json"];
        foreach (var verb in new[] { "asn", "country", "overview", "clients" })
        {
            var detail = CliRunner.Run(["report", verb, "--db", fixture.DbPath, "--source", "detail", .. verb == "overview" ? window.Where(a => a != "--top" && a != "0") : window]);
            Assert.True(detail.ExitCode == 0, detail.Stderr);
            foreach (var source in verb is "asn" or "country" ? new[] { "rollups", "index" } : ["rollups"])
            {
                var other = CliRunner.Run(["report", verb, "--db", fixture.DbPath, "--source", source, .. verb == "overview" ? window.Where(a => a != "--top" && a != "0") : window]);
                Assert.True(other.ExitCode == 0, other.Stderr);
                Assert.Equal(detail.Stdout, other.Stdout);
            }
        }
        var bad = CliRunner.Run(["report", "asn", "--db", fixture.DbPath, "--source", "sideways"]);
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("--source must be auto, index, rollups or detail", bad.Stderr + bad.Stdout);
    }
}
