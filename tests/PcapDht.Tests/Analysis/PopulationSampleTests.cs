using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// The population reports on the real recordings in samples-pcap/ (a swarm of 32 libtorrent and
/// webtorrent nodes on loopback) and on the committed synthetic sample: no report may claim a size the
/// swarm does not have, and every count must agree with a direct count in SQL.
/// </summary>
public class PopulationSampleTests
{
    public static TheoryData<string> Samples()
    {
        var data = new TheoryData<string>();
        foreach (var f in new[] { "dht-loopback.pcap", "dht-loopback-ns.pcap", "dht-loopback.pcapng", "dht-any-sll2.pcap", "synthetic-dht.pcap" })
            data.Add(f);
        return data;
    }

    private static long Scalar(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void PopulationReports_OnSampleCaptures_NeverClaimASizeTheSwarmDoesNotHave(string sample)
    {
        string path = Path.Combine(RepoPaths.Root, "samples-pcap", sample);
        Assert.True(File.Exists(path), path);
        using var t = new TempFiles();
        string dbPath = t.Path("sample.duckdb");
        using (var store = PcapDhtDatabase.Open(dbPath))
        {
            var result = new IngestPipeline(store).IngestFile(path);
            Assert.Null(result.Error);
            PcapDht.Enrich.RangeStore.EnsureEnrichedViews(store.Connection);
        }
        using var db = new DuckDBConnection($"Data Source={dbPath}");
        db.Open();

        // Size: a refusal, or an interval that holds the swarm. The loopback swarm has 28 IPv4 and 24 IPv6
        // nodes (20 libtorrent with both families, 8 + 4 webtorrent); its routing tables hold 48 and 44 ids
        // (libtorrent sometimes answers on one family with the other one's id). Whatever the count, never millions.
        var size = Reports.SizeEstimate(db, new ReportOptions(), new SizeOptions());
        var estimates = size.Rows.Where(r => r.Estimate is not null).ToList();
        Assert.True(size.Unavailable is not null || estimates.Count > 0);
        foreach (var row in estimates)
        {
            long ids = Scalar(db, $"SELECT count(DISTINCT id_prefix) FROM reply_contacts WHERE family = {row.Family}");
            Assert.True(row.Estimate!.Low <= ids && row.Estimate.High >= ids / 2,
                $"{sample} {row.Method} IPv{row.Family}: {row.Estimate} for a swarm of {ids} ids");
            Assert.True(row.Estimate.Estimate < 1_000_000);
        }
        if (sample.StartsWith("dht-", StringComparison.Ordinal))
        {
            // A minute of a 32-node swarm: too few lookups converge on a complete view for an estimate.
            Assert.NotNull(size.Unavailable);
            Assert.Contains("too few converged lookups", size.Unavailable);
        }

        // BEP 42: every distinct (sender, id) pair counted once; loopback and private addresses are exempt.
        var bep42 = Reports.Bep42(db, new ReportOptions { Top = 0, Days = 3650 }, Bep42Grouping.Client);
        var all = bep42.Rows[0];
        Assert.Equal(Scalar(db, "SELECT count(*) FROM (SELECT DISTINCT src_ip_num, node_id FROM messages WHERE y IN ('q','r') AND node_id IS NOT NULL)"), (long)all[2]!);
        if (sample.StartsWith("dht-", StringComparison.Ordinal)) Assert.Equal(all[2], all[5]);
        Assert.Equal((long)all[2]!, (long)all[3]! + (long)all[4]! + (long)all[5]!);

        // Churn: each day's addresses are the distinct node-sighting and sender addresses of that day.
        var churn = Reports.ChurnReport(db, new ReportOptions { Days = 3650 });
        long distinct = Scalar(db, "SELECT count(DISTINCT ip) FROM (SELECT ip_num AS ip FROM node_sightings UNION ALL SELECT src_ip_num FROM messages)");
        Assert.Equal(distinct, churn.Days.Sum(d => d.New));
        Assert.Null(churn.Days[^1].Gone);

        // Sybil: every flagged address says why, and its id count is the one SQL finds.
        var sybil = Reports.SybilReport(db, new ReportOptions { Top = 0, Days = 3650 });
        foreach (var a in sybil.Addresses.Take(5))
        {
            Assert.NotEmpty(a.Reasons);
            Assert.Equal(Scalar(db, $"SELECT count(DISTINCT node_id) FROM node_sightings WHERE ip_num = {a.Ip.Value}"), a.NodeIds);
        }

        // ip_profiles: one row per address; together they hold every message and every listing by others.
        Assert.Equal(Scalar(db, "SELECT count(DISTINCT ip_num) FROM ip_profiles"), Scalar(db, "SELECT count(*) FROM ip_profiles"));
        Assert.Equal(Scalar(db, "SELECT count(*) FROM messages"), Scalar(db, "SELECT sum(messages)::BIGINT FROM ip_profiles"));
        Assert.Equal(Scalar(db, "SELECT count(*) FROM node_sightings WHERE source <> 'sender'"), Scalar(db, "SELECT sum(reported_by_others)::BIGINT FROM ip_profiles"));
    }
}
