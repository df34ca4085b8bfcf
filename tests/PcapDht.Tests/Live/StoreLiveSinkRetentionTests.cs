using DuckDB.NET.Data;
using PcapDht.Capture;
using PcapDht.Live;
using PcapDht.Store;
using PcapDht.Tests.Capture;
using PcapDht.Tests.Ingest;
using PcapDht.Tests.Store;
using Sql = PcapDht.Tests.Store.Sql;

namespace PcapDht.Tests.Live;

/// <summary>
/// <c>sniff --keep-detail</c> without a network: the six-week synthetic sample fed through the live sink with many
/// flushes. Between flushes the file already holds no detail older than a day before its newest message, and at the
/// end exactly the last day's rows of a full ingest, with the same rollups.
/// </summary>
public sealed class StoreLiveSinkRetentionTests
{
    private const long Day = 86_400_000_000;

    [RollupWriterFact]
    public void Sink_KeepDetailOneDay_PrunesBetweenFlushes_AndKeepsExactlyTheLastDay()
    {
        string pcap = Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap", "synthetic-dht.pcap");
        using var dir = new PcapDht.Tests.Store.TempDir();
        string live = dir.File("live.duckdb"), full = dir.File("full.duckdb");
        using (var db = PcapDhtDatabase.Open(full))
            Assert.Equal(PcapDht.Ingest.IngestOutcome.Ingested, new PcapDht.Ingest.IngestPipeline(db).IngestFile(pcap).Outcome);

        int checkedBetween = 0;
        using (var sink = new StoreLiveSink(live, keepDetail: TimeSpan.FromDays(1)))
        {
            long frames = LiveReplay.Feed(sink, pcap, n =>
            {
                if (n % 4000 != 0) return;
                sink.Flush(LiveReplay.Stats(n));
                Assert.True(SpinWait.SpinUntil(() => sink.Flushes >= n / 4000, TimeSpan.FromSeconds(60)));
                // The sink holds the file only while it flushes: what it left must already be pruned.
                using var c = Open(live);
                long newest = Sql.Long(c, "SELECT max(last_us) FROM pcapdht_store.msg_day");
                Assert.Equal(0, Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.msg WHERE epoch_us(ts) < {newest - Day}"));
                Assert.True(Sql.Long(c, "SELECT min(first_us) FROM pcapdht_store.msg_day") < newest - 2 * Day, "the rollups reach back further than the detail");
                checkedBetween++;
            });
            sink.Finish(LiveStopReason.Stopped, LiveReplay.Stats(frames), null);
            Assert.NotNull(sink.Retention!.Last);
        }
        Assert.True(checkedBetween >= 3);

        long cutoff;
        var expected = new List<(string Table, long Rows, string Hash)>();
        List<string> rollups;
        using (var c = Open(full))
        {
            RollupFixture.Ensure(full);
            cutoff = Sql.Long(c, "SELECT max(epoch_us(ts)) FROM pcapdht_store.msg") - Day;
            foreach (var t in StoreSchema.DataTables)
            {
                string kept = Sql.KeptDetail(t, cutoff);
                expected.Add((t, Sql.Long(c, $"SELECT count(*) FROM ({kept})"),
                    Sql.String(c, $"SELECT coalesce(sum(hash(y)), 0)::VARCHAR FROM (SELECT * EXCLUDE (capture_id) FROM ({kept})) y")!));
            }
            rollups = WithoutCapture(RollupFixture.Aggregated(c));
        }
        using (var c = Open(live))
        {
            foreach (var (t, rows, hash) in expected)
            {
                Assert.Equal(rows, Sql.Long(c, $"SELECT count(*) FROM pcapdht_store.{t}"));
                Assert.Equal(hash, Sql.String(c, $"SELECT coalesce(sum(hash(y)), 0)::VARCHAR FROM (SELECT * EXCLUDE (capture_id) FROM pcapdht_store.{t}) y"));
            }
            Assert.Equal(rollups, WithoutCapture(RollupFixture.Aggregated(c)));
            Assert.Equal(0, RollupFixture.DuplicateKeys(c));
        }
        var report = StoreCheck.Run(live, TimeSpan.FromSeconds(10));
        Assert.Empty(report.Findings);
    }

    private static List<string> WithoutCapture(List<string> lines) =>
        [.. lines.Select(l => { var p = l.Split('|'); p[1] = ""; return string.Join('|', p); }).Order(StringComparer.Ordinal)];

    private static DuckDBConnection Open(string path)
    {
        var c = new DuckDBConnection($"Data Source={path}");
        c.Open();
        return c;
    }
}
