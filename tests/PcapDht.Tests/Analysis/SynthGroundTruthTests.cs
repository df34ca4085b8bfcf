using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Enrich;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Synth;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// End to end: a synthetic capture with a known answer goes through the real ingest into the
/// real store schema, the same range file is imported with `asn import`'s reader, and
/// `report asn` must reproduce the generator's ground truth per AS exactly.
/// </summary>
public class SynthGroundTruthTests
{
    private static string FixtureRanges => Path.Combine(RepoPaths.Root, "tests", "PcapDht.Tests", "Synth", "synth-test-asn.csv");

    [Fact]
    public void ReportAsn_OnIngestedSyntheticCapture_EqualsGroundTruth()
    {
        using var t = new TempFiles();
        string capture = t.Path("synth.pcap");
        SynthTruth truth;
        using (var fs = File.Create(capture))
            truth = SynthGenerator.Generate(new SynthOptions { Seed = 11, Packets = 12_000 }, AsnRangeTable.Load(FixtureRanges), fs);
        Assert.True(truth.Asns.Count >= 3, "the fixture should spread nodes over several ASes");

        string dbPath = t.Path("synth.duckdb");
        using (var store = PcapDhtDatabase.Open(dbPath))
        {
            var result = new IngestPipeline(store).IngestFile(capture);
            Assert.Null(result.Error);
        }
        using var db = new DuckDBConnection($"Data Source={dbPath}");
        db.Open();
        RangeStore.Import(db, [RangeFileReader.Read(FixtureRanges)], DateTimeOffset.UnixEpoch);

        var window = Reports.ResolveWindow(db, new ReportOptions { Days = truth.WindowDays });
        Assert.Equal(truth.WindowEndUs, Reports.ToMicros(window.Until));
        Assert.Equal(truth.WindowStartUs, Reports.ToMicros(window.Since));

        var report = Reports.Asn(db, new ReportOptions { Days = truth.WindowDays, Top = 0 });
        var got = report.Rows.ToDictionary(r => (uint)(long)r[1]!, r => (Ips: (long)r[4]!, Direct: (long)r[5]!, Name: (string?)r[2]));
        Assert.Equal(truth.Asns.Where(a => a.ReportIps > 0).Select(a => a.Asn).Order(), got.Keys.Order());
        foreach (var a in truth.Asns.Where(a => a.ReportIps > 0))
            Assert.Equal((a.ReportIps, a.ReportDirectIps, a.Org), got[a.Asn]);
        Assert.Equal(truth.ReportIps, report.Facts.Single(f => f.Key == "distinct addresses").Value);

        var per64 = Reports.Asn(db, new ReportOptions { Days = truth.WindowDays, Top = 0, Ipv6Prefix = 64 });
        var got64 = per64.Rows.ToDictionary(r => (uint)(long)r[1]!, r => (long)r[4]!);
        // The truth counts /64s among node-sighting IPs; an AS whose report adds error-only
        // senders may have more. Where both agree on the addresses, the /64 count must match.
        foreach (var a in truth.Asns.Where(a => a.ReportIps == a.Ips && a.Ips > 0))
            Assert.Equal(a.Ipv4 + a.Ipv6Slash64, got64[a.Asn]);
        Assert.Contains(truth.Asns, a => a.ReportIps == a.Ips && a.Ipv6Slash64 > 0);
    }
}
