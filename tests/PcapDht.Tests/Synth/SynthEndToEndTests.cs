using System.Globalization;
using System.Text.Json;
using PcapDht.Cli;
using PcapDht.Synth;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Synth;

/// <summary>
/// The whole tool on a synthetic capture: `ingest`, `asn import` of the committed excerpt,
/// `report asn` and `query` must reproduce the generator's ground truth exactly.
/// </summary>
public class SynthEndToEndTests
{
    [Fact]
    public void IngestImportReportAsn_OnSyntheticCapture_EqualsGroundTruth()
    {
        string root = SynthTestSupport.RepoRoot();
        string[] ranges = [Path.Combine(root, "samples-pcap", "asn", "asn-ipv4.csv"), Path.Combine(root, "samples-pcap", "asn", "asn-ipv6.csv")];
        string[] countryFiles = [Path.Combine(root, "samples-pcap", "asn", "asn-country-ipv4.csv"), Path.Combine(root, "samples-pcap", "asn", "asn-country-ipv6.csv")];
        var dir = SynthTestSupport.TempDir();
        try
        {
            string capture = Path.Combine(dir, "e2e.pcapng"), db = Path.Combine(dir, "e2e.duckdb");
            SynthTruth truth;
            using (var fs = File.Create(capture))
                truth = SynthGenerator.Generate(new SynthOptions
                {
                    Seed = 2026, Packets = 12_000, Format = SynthFormat.PcapNg, FragmentShare = 0.03, MalformedShare = 0.01,
                    Countries = CountryRangeTable.Load(countryFiles),
                }, AsnRangeTable.Load(ranges), fs);

            var ingest = CliRunner.Run(["ingest", capture, "--db", db]);
            Assert.True(ingest.ExitCode == ExitCodes.Ok, ingest.Stdout + ingest.Stderr);
            var import = CliRunner.Run(["asn", "import", .. ranges, .. countryFiles, "--db", db]);
            Assert.True(import.ExitCode == ExitCodes.Ok, import.Stdout + import.Stderr);

            // Stored rows: frames, messages, malformed, sightings.
            var counts = Query(db, """
                SELECT (SELECT sum(frames) FROM captures), (SELECT count(*) FROM messages),
                       (SELECT count(*) FROM malformed_krpc), (SELECT count(*) FROM node_sightings),
                       (SELECT count(*) FROM peer_sightings)
                """)[0];
            Assert.Equal([truth.Frames, truth.KrpcMessages, truth.Malformed, truth.NodeSightings, truth.PeerSightings], counts);

            // node_sightings per AS in the window: the definitions of docs/synth.md.
            var perAsn = Query(db, """
                SELECT asn, count(DISTINCT ip_num), count(DISTINCT ip_num) FILTER (WHERE source = 'sender')
                FROM node_sightings_enriched
                WHERE ts >= (SELECT max(ts) FROM node_sightings) - INTERVAL 30 DAY AND asn IS NOT NULL
                GROUP BY asn ORDER BY asn
                """);
            var expected = truth.Asns.Where(a => a.Ips > 0).OrderBy(a => a.Asn)
                .Select(a => new[] { (long)a.Asn, a.Ips, a.SenderIps }).ToList();
            Assert.Equal(expected, perAsn);

            // `report asn` (node sightings plus message senders, docs/analysis.md).
            var report = CliRunner.Run(["report", "asn", "--db", db, "--format", "json", "--top", "1000"]);
            Assert.True(report.ExitCode == ExitCodes.Ok, report.Stdout + report.Stderr);
            using var doc = JsonDocument.Parse(report.Stdout);
            var rows = doc.RootElement.GetProperty("rows").EnumerateArray()
                .Select(r => new[] { r.GetProperty("asn").GetInt64(), r.GetProperty("ips").GetInt64(), r.GetProperty("direct_ips").GetInt64() })
                .OrderBy(r => r[0]).ToList();
            var expectedReport = truth.Asns.Where(a => a.ReportIps > 0).OrderBy(a => a.Asn)
                .Select(a => new[] { (long)a.Asn, a.ReportIps, a.ReportDirectIps }).ToList();
            Assert.Equal(expectedReport, rows);
            Assert.Equal(truth.ReportIps, doc.RootElement.GetProperty("facts").GetProperty("distinct_addresses").GetInt64());

            // `report country` with the excerpt's country ranges.
            Assert.NotEmpty(truth.Countries);
            var cr = CliRunner.Run(["report", "country", "--db", db, "--format", "json", "--top", "1000"]);
            Assert.True(cr.ExitCode == ExitCodes.Ok, cr.Stdout + cr.Stderr);
            using var cdoc = JsonDocument.Parse(cr.Stdout);
            var countryRows = cdoc.RootElement.GetProperty("rows").EnumerateArray()
                .Select(r => (r.GetProperty("country").GetString(), r.GetProperty("ips").GetInt64(), r.GetProperty("direct_ips").GetInt64()))
                .OrderBy(r => r.Item1, StringComparer.Ordinal).ToList();
            var expectedCountries = truth.Countries.Where(c => c.ReportIps > 0).OrderBy(c => c.Country, StringComparer.Ordinal)
                .Select(c => ((string?)c.Country, c.ReportIps, c.ReportDirectIps)).ToList();
            Assert.Equal(expectedCountries, countryRows);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static List<long[]> Query(string db, string sql)
    {
        var r = CliRunner.Run(["query", sql, "--db", db, "--format", "csv"]);
        Assert.True(r.ExitCode == ExitCodes.Ok, r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Trim().Split(',').Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
    }
}
