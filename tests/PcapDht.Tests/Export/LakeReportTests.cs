using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Export;

namespace PcapDht.Tests.Export;

/// <summary>
/// Every report over a lake of two sensors equals the same report over the database that ingested both sensors'
/// captures, for several windows and options, and reproduces each synthetic capture's ground truth.
/// </summary>
[Collection(LakeFixture.Collection)]
public sealed class LakeReportTests(LakeFixture lake)
{
    public static TheoryData<string> Options => new() { "default", "all", "all-per64", "since-until", "top5" };

    private ReportOptions OptionsFor(string name) => name switch
    {
        "default" => new ReportOptions { Top = 0 },
        "all" => new ReportOptions { Days = 400, Top = 0 },
        "all-per64" => new ReportOptions { Days = 400, Top = 0, Ipv6Prefix = 64 },
        "since-until" => new ReportOptions { Since = Reports.FromMicros(lake.Truth2.WindowStartUs), Until = Reports.FromMicros(lake.Truth2.WindowEndUs), Top = 0 },
        "top5" => new ReportOptions { Days = 120, Top = 5 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>Every report the CLI and the report page run, by name.</summary>
    private static readonly (string Name, Func<DuckDBConnection, ReportOptions, ResultTable> Run)[] AllReports =
    [
        ("asn", Reports.Asn),
        ("country", Reports.Country),
        ("clients", Reports.Clients),
        ("overview", (db, o) => Reports.Overview(db, o, explicitWindow: true)),
        ("overview-all-data", (db, o) => Reports.Overview(db, o, explicitWindow: false)),
        ("daily", (db, o) => Reports.AddressesPerDay(db, o)),
        ("methods", Reports.MessageKinds),
        ("rtt", Reports.ResponseTimes),
        ("malformed", Reports.MalformedReasons),
        ("captures", Reports.CaptureHealth),
    ];

    [Theory]
    [MemberData(nameof(Options))]
    public void EveryReport_OverLakeOfTwoSensors_EqualsTheDatabaseHoldingTheSameCaptures(string optionsName)
    {
        var options = OptionsFor(optionsName);
        using var db = LakeFixture.Open(lake.All);
        using var lakeDb = LakeReader.Open(lake.Lake);
        foreach (var (name, run) in AllReports)
        {
            string expected = Canonical(run(db, options)), got = Canonical(run(lakeDb, options));
            Assert.True(expected == got, $"report {name} ({optionsName}) differs over the lake:\ndatabase: {expected}\nlake:     {got}");
        }
    }

    /// <summary>The population reports (docs/analysis.md) that read sightings and messages, with their groupings.</summary>
    private static readonly (string Name, Func<DuckDBConnection, ReportOptions, ResultTable> Run)[] PopulationReports =
    [
        ("sybil", (db, o) => Reports.Sybil(db, o, byAsn: false)),
        ("sybil-by-asn", (db, o) => Reports.Sybil(db, o, byAsn: true)),
        ("bep42-by-client", (db, o) => Reports.Bep42(db, o, Bep42Grouping.Client)),
        ("bep42-by-asn", (db, o) => Reports.Bep42(db, o, Bep42Grouping.Asn)),
        ("daily-population", (db, o) => Reports.Daily(db, o, byAsn: false)),
        ("daily-population-by-asn", (db, o) => Reports.Daily(db, o, byAsn: true)),
        ("size", (db, o) => Reports.Size(db, o, new SizeOptions())),
    ];

    [Fact]
    public void PopulationReports_OverLake_EqualTheDatabase_AndBep42ByAsnOverTheAnonymizedLake()
    {
        var options = new ReportOptions { Days = 400, Top = 0 };
        using var db = LakeFixture.Open(lake.All);
        using var lakeDb = LakeReader.Open(lake.Lake);
        foreach (var (name, run) in PopulationReports)
        {
            string expected = Canonical(run(db, options)), got = Canonical(run(lakeDb, options));
            Assert.True(expected == got, $"report {name} differs over the lake:\ndatabase: {expected}\nlake:     {got}");
        }
        // Not vacuous: BEP 42 has checked pairs to count.
        Assert.NotEmpty(Reports.Bep42(lakeDb, options, Bep42Grouping.Asn).Rows);
        // Over the anonymized lake (addresses mapped, ids hashed) BEP 42 per AS comes from the pairs checked at export.
        using var anon = LakeReader.Open(lake.AnonymizedLake);
        string original = Canonical(Reports.Bep42(lakeDb, options, Bep42Grouping.Asn));
        Assert.Equal(original, Canonical(Reports.Bep42(anon, options, Bep42Grouping.Asn)));
    }

    [Fact]
    public void Reports_OverLake_HaveRows_SoTheComparisonMeansSomething()
    {
        using var lakeDb = LakeReader.Open(lake.Lake);
        var options = new ReportOptions { Days = 400, Top = 0 };
        foreach (var (name, run) in AllReports)
        {
            var table = run(lakeDb, options);
            Assert.True(table.Unavailable is null, $"{name}: {table.Unavailable}");
            Assert.True(table.Rows.Count > 0, $"{name} has no rows");
        }
        // Both sensors' captures, ids made unique across sensors in the database's order.
        var captures = Reports.CaptureHealth(lakeDb, options);
        Assert.Equal([1L, 2L, 3L, 4L], captures.Rows.Select(r => (long)r[0]!).Order());
    }

    [Fact]
    public void ReportAsn_OverLake_EqualsEachSyntheticCapturesGroundTruth()
    {
        using var lakeDb = LakeReader.Open(lake.Lake);
        foreach (var truth in new[] { lake.Truth1, lake.Truth2 })
        {
            var options = new ReportOptions { Since = Reports.FromMicros(truth.WindowStartUs), Until = Reports.FromMicros(truth.WindowEndUs), Top = 0 };
            var report = Reports.Asn(lakeDb, options);
            var got = report.Rows.ToDictionary(r => (uint)(long)r[1]!, r => (Ips: (long)r[4]!, Direct: (long)r[5]!, Name: (string?)r[2]));
            var expected = truth.Asns.Where(a => a.ReportIps > 0).ToList();
            Assert.True(expected.Count >= 3);
            Assert.Equal(expected.Select(a => a.Asn).Order(), got.Keys.Order());
            foreach (var a in expected) Assert.Equal((a.ReportIps, a.ReportDirectIps, a.Org), got[a.Asn]);
            Assert.Equal(truth.ReportIps.ToString(CultureInfo.InvariantCulture), FactValue(report, "distinct addresses"));
        }
    }

    [Fact]
    public void Lake_CountsEveryRowOnce_AndEachAddressOnceAcrossSensors()
    {
        using var db = LakeFixture.Open(lake.All);
        using var lakeDb = LakeReader.Open(lake.Lake);
        foreach (var relation in new[] { "messages", "node_sightings", "peer_sightings", "malformed_krpc", "captures" })
            Assert.Equal(Scalar(db, $"SELECT count(*) FROM {relation}"), Scalar(lakeDb, $"SELECT count(*) FROM {relation}"));
        // The two recordings are the same traffic seen twice (loopback and SLL2): their addresses overlap completely.
        long alphaOnly = Scalar(lakeDb, "SELECT count(DISTINCT ip_num) FROM node_sightings WHERE sensor = 'alpha'");
        long betaOnly = Scalar(lakeDb, "SELECT count(DISTINCT ip_num) FROM node_sightings WHERE sensor = 'beta'");
        long both = Scalar(lakeDb, "SELECT count(DISTINCT ip_num) FROM node_sightings");
        Assert.True(both < alphaOnly + betaOnly, "the sensors share addresses, counted once");
        Assert.Equal(Scalar(db, "SELECT count(DISTINCT ip_num) FROM node_sightings"), both);
        // Every column of the database's relations is there with the same values (addresses rebuilt from their halves).
        foreach (var relation in new[] { "messages", "node_sightings", "peer_sightings", "malformed_krpc" })
        {
            string columns = string.Join(", ", LakeColumns.Describe(db, relation).Select(c => c.Name));
            string digest = $"SELECT count(*), sum(hash(({columns}))) FROM {relation}";
            Assert.Equal(Row(db, digest), Row(lakeDb, digest));
        }
    }

    [Fact]
    public void LakeConnection_ReadsOnlyTheLakesDirectory()
    {
        using var lakeDb = LakeReader.Open(lake.Lake);
        string outside = lake.TempPath("outside.csv");
        File.WriteAllText(outside, "a\n1\n");
        var ex = Assert.ThrowsAny<DuckDBException>(() => Scalar(lakeDb, $"SELECT count(*) FROM read_csv('{outside}')"));
        Assert.Contains("disabled by configuration", ex.Message);
        Assert.ThrowsAny<DuckDBException>(() => Scalar(lakeDb, "SET enable_external_access = true"));
        Assert.True(Scalar(lakeDb, "SELECT count(*) FROM messages") > 0);
    }

    internal static string FactValue(ResultTable t, string key) =>
        Convert.ToString(t.Facts.Single(f => f.Key == key).Value, CultureInfo.InvariantCulture)!;

    /// <summary>A report as JSON: title, window, facts, rows, sources, everything a renderer shows.</summary>
    internal static string Canonical(ResultTable t) => JsonSerializer.Serialize(t, new JsonSerializerOptions { IncludeFields = true });

    internal static long Scalar(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static string Row(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        r.Read();
        return string.Join("|", Enumerable.Range(0, r.FieldCount).Select(i => Convert.ToString(r.GetValue(i), CultureInfo.InvariantCulture)));
    }
}
