using System.Text.Json;
using System.Text.Json.Nodes;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Export;
using PcapDht.Tests.Analysis;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Export;

/// <summary>
/// The lake carries the daily rollups: the rollup-reading reports over a lake of two sensors equal the database's
/// detail results; a lake with a batch that has no rollups (an older build's) falls back to the detail rows; a lake
/// exported after a prune knows its detail is partial.
/// </summary>
[Collection(LakeFixture.Collection)]
public sealed class LakeRollupTests(LakeFixture lake)
{
    public static TheoryData<string> Windows => new() { "default", "all", "all-per64", "cut", "cut-per64", "one-day", "days1" };

    private static ReportOptions OptionsFor(string name) => name switch
    {
        "default" => new ReportOptions { Top = 0 },
        "days1" => new ReportOptions { Days = 1, Top = 0 },
        "all" => new ReportOptions { Days = 400, Top = 0 },
        "all-per64" => new ReportOptions { Days = 400, Top = 0, Ipv6Prefix = 64 },
        // Inside beta's synthetic capture (May-June) to inside alpha's (August-September): both edge days cut.
        "cut" => new ReportOptions { Since = At(2026, 6, 10, 10, 11), Until = At(2026, 9, 3, 15, 16), Top = 0 },
        "cut-per64" => new ReportOptions { Since = At(2026, 6, 10, 10, 11), Until = At(2026, 9, 3, 15, 16), Top = 0, Ipv6Prefix = 64 },
        "one-day" => new ReportOptions { Since = At(2026, 9, 3, 2, 0), Until = At(2026, 9, 3, 21, 30), Top = 0 },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    private static DateTimeOffset At(int y, int mo, int d, int h, int mi) => new(y, mo, d, h, mi, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(Windows))]
    public void RollupReports_OverLakeOfTwoSensors_EqualTheDatabasesDetailResults(string window)
    {
        var options = OptionsFor(window);
        using var db = LakeFixture.Open(lake.All);
        using var lakeDb = LakeReader.Open(lake.Lake);
        Assert.True(Reports.HasRollups(lakeDb), "the lake carries no rollups");
        foreach (var (name, run) in RollupReportTests.RollupReports)
        {
            var detail = run(db, options with { Source = ReportSource.Detail });
            Assert.True(detail.Unavailable is null, $"{name} ({window}): {detail.Unavailable}");
            string expected = LakeReportTests.Canonical(detail), got = LakeReportTests.Canonical(run(lakeDb, options with { Source = ReportSource.Rollups }));
            Assert.True(expected == got, $"report {name} ({window}) differs over the lake's rollups:\ndatabase detail: {expected}\nlake rollups:    {got}");
        }
    }

    [Fact]
    public void Lake_HoldsEachRollupRowOnce_WithTheDatabasesSums_AndExportingAgainAddsNone()
    {
        using var db = LakeFixture.Open(lake.All);
        using var lakeDb = LakeReader.Open(lake.Lake);
        foreach (var (view, sum) in new[] { ("address_days", "sightings"), ("node_id_days", "sightings"), ("sender_days", "messages"), ("message_days", "messages"), ("malformed_days", "datagrams") })
        {
            string digest = $"SELECT count(*), sum({sum}), sum(first_us), sum(last_us), count(DISTINCT day) FROM {view}";
            Assert.Equal(Row(db, digest), Row(lakeDb, digest));
        }
        // Addresses as the 128-bit number, rebuilt from their two halves, and the text.
        const string ips = "SELECT count(DISTINCT ip_num), count(DISTINCT ip), sum(hash(ip_num)) FROM address_days";
        Assert.Equal(Row(db, ips), Row(lakeDb, ips));
        Assert.True(LakeReportTests.Scalar(lakeDb, "SELECT count(*) FROM malformed_days") > 0);
        var again = LakeExporter.Run(new ExportOptions { Lake = lake.Lake, Database = lake.Alpha, Sensor = "alpha" });
        Assert.Null(again.Batch);
        Assert.True(lake.AlphaExport.Rows["address_days"] > 0);
    }

    [Fact]
    public void Lake_WithABatchWithoutRollups_FallsBackToTheDetailRows()
    {
        using var db = LakeFixture.Open(lake.All);
        foreach (var oldSensors in new[] { new[] { "beta" }, new[] { "alpha", "beta" } })
        {
            string old = CopyLake(lake.Lake, lake.TempPath("old-" + string.Join("-", oldSensors)), oldSensors);
            using var lakeDb = LakeReader.Open(old);
            Assert.False(Reports.HasRollups(lakeDb), $"partial rollups ({string.Join(", ", oldSensors)} without) must not be read");
            var options = OptionsFor("cut");
            foreach (var (name, run) in RollupReportTests.RollupReports)
                Assert.Equal(LakeReportTests.Canonical(run(db, options with { Source = ReportSource.Detail })), LakeReportTests.Canonical(run(lakeDb, options)));
        }
    }

    [Fact]
    public void Lake_ExportedAfterAPrune_KeepsAddressesExact_AndLabelsWhatItCannotKnow()
    {
        string pruned = lake.TempPath("pruned-all.duckdb");
        if (!File.Exists(pruned))
        {
            File.Copy(lake.All, pruned);
            RollupScaffold.PruneDetail(pruned, Reports.ToMicros(At(2026, 9, 1, 0, 0) + TimeSpan.FromHours(7)));
        }
        string lakeDir = lake.TempPath("pruned-lake");
        LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = pruned, Sensor = "gamma" });
        using var db = LakeFixture.Open(lake.All);
        using var lakeDb = LakeReader.Open(lakeDir);
        Assert.Equal(Reports.ToMicros(At(2026, 9, 1, 7, 0)), Reports.DetailPrunedBefore(lakeDb));
        var cut = OptionsFor("cut");
        foreach (var (name, run) in new[] { ("asn", (Func<DuckDBConnection, ReportOptions, ResultTable>)Reports.Asn), ("country", Reports.Country), ("daily", (d, o) => Reports.Daily(d, o, byAsn: true)) })
            Assert.Equal(LakeReportTests.Canonical(run(db, cut with { Source = ReportSource.Detail })), LakeReportTests.Canonical(run(lakeDb, cut)));
        var overview = Reports.Overview(lakeDb, cut, explicitWindow: true);
        var messages = overview.Rows.Single(r => (string)r[0]! == "messages")[1];
        Assert.Contains("bounds", Assert.IsType<string>(messages));
        Assert.Contains("2026-06-10", (string)messages!);
        var sybil = Reports.Sybil(lakeDb, cut, byAsn: false);
        Assert.Contains("were pruned", sybil.Unavailable);
    }

    /// <summary>A copy of the lake as an older build would have left it for these sensors: their batches list no rollups.</summary>
    private static string CopyLake(string from, string to, string[] oldSensors)
    {
        if (Directory.Exists(to)) Directory.Delete(to, recursive: true);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(from, file);
            string relation = rel.Split(Path.DirectorySeparatorChar)[0];
            if (LakeLayout.RollupRelations.Contains(relation) && oldSensors.Any(s => rel.Contains("sensor=" + s, StringComparison.Ordinal))) continue;
            string dest = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            if (rel.StartsWith(LakeLayout.BookkeepingDir, StringComparison.Ordinal) && rel.EndsWith(".json", StringComparison.Ordinal)
                && oldSensors.Any(s => rel.Contains("sensor=" + s, StringComparison.Ordinal)))
            {
                var manifest = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
                foreach (var key in new[] { "files", "rows", "Files", "Rows" })
                    if (manifest[key] is JsonObject o)
                        foreach (var r in LakeLayout.RollupRelations) o.Remove(r);
                File.WriteAllText(dest, manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else File.Copy(file, dest);
        }
        return to;
    }

    private static string Row(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        r.Read();
        return string.Join("|", Enumerable.Range(0, r.FieldCount).Select(i => Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)));
    }
}
