using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

/// <summary>
/// Many small files through one store session per worker, several files per commit: every file's rows and
/// counters must be exactly what it gets alone, copies of one content are stored once, and a cancel leaves
/// committed files whole and no other rows.
/// </summary>
public class ManyFilesIngestTests
{
    private static string Sample(string name) => Path.Combine(PcapDht.Tests.Capture.CaptureTestFiles.RepoRoot, "samples-pcap", name);

    private const string PerCapture = """
        SELECT regexp_replace(source, '.*/', '') AS f, status, frames, udp_datagrams, krpc_messages, queries, responses, malformed_krpc,
               not_krpc, node_sightings, peer_sightings, ip_fragments, reassembled_datagrams, link_types,
               (SELECT count(*) FROM messages m WHERE m.capture_id = c.capture_id),
               (SELECT count(*) FROM messages m WHERE m.capture_id = c.capture_id AND m.rtt_us IS NOT NULL),
               (SELECT count(*) FROM node_sightings n WHERE n.capture_id = c.capture_id),
               (SELECT count(*) FROM peer_sightings p WHERE p.capture_id = c.capture_id)
        FROM captures c ORDER BY f
        """;

    [Fact]
    public void IngestFiles_ManySmallFilesSharingCommits_EachFileAsIfAlone()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("in"));
        var files = new List<string>();
        for (int i = 0; i < 24; i++)
        {
            // Different contents and sizes; a few payloads long enough to be matched across files if the matcher leaked.
            string f = dir.File($"in/f{i:D2}.pcap");
            IngestTestFiles.WriteRawPcap(f, 40 + i * 7, IngestTestFiles.FindNodeResponse, first: i * 1000);
            files.Add(f);
        }
        // The real recording twice under two names (same content) and once changed in one byte.
        File.Copy(Sample("dht-loopback.pcap"), dir.File("in/swarm-a.pcap"));
        File.Copy(Sample("dht-loopback.pcap"), dir.File("in/swarm-b.pcap"));
        var changed = File.ReadAllBytes(Sample("dht-loopback.pcap"));
        changed[^1] ^= 0x01; // same size, other content (the last frame's last byte)
        File.WriteAllBytes(dir.File("in/swarm-changed.pcap"), changed);
        files.AddRange([dir.File("in/swarm-a.pcap"), dir.File("in/swarm-b.pcap"), dir.File("in/swarm-changed.pcap")]);

        // Alone: one file per database.
        var alone = new List<object?[]>();
        foreach (var f in files.Where(f => !f.EndsWith("swarm-b.pcap", StringComparison.Ordinal)))
        {
            using var one = PcapDhtDatabase.Open(dir.File($"one-{Path.GetFileName(f)}.duckdb"));
            Assert.Equal(IngestOutcome.Ingested, new IngestPipeline(one).IngestFile(f).Outcome);
            alone.Add(Sql.Rows(one.Connection, PerCapture).Single());
        }

        // Together: small commits and batches so that files share commits and workers take several batches.
        using var db = PcapDhtDatabase.Open(dir.File("all.duckdb"));
        var results = new IngestPipeline(db, new IngestOptions { CommitRows = 1500, BatchBytes = 2 << 20, MaxParallelFiles = 2 }).IngestFiles(files);
        Assert.Equal(files.Count - 1, results.Count(r => r.Outcome == IngestOutcome.Ingested));
        var skipped = Assert.Single(results, r => r.Outcome == IngestOutcome.Skipped);
        Assert.EndsWith("swarm-b.pcap", skipped.Path);
        Assert.NotNull(skipped.ExistingCaptureId);
        var together = Sql.Rows(db.Connection, PerCapture);
        Assert.Equal(alone.Count, together.Count);
        for (int i = 0; i < alone.Count; i++) Assert.Equal(alone[i], together[i]);
        Assert.Equal(0L, Sql.Long(db.Connection, "SELECT count(*) FROM captures WHERE status <> 'complete'"));
        // Distinct capture ids, each file's rows under its own id.
        Assert.Equal((long)alone.Count, Sql.Long(db.Connection, "SELECT count(DISTINCT capture_id) FROM messages"));
    }

    [Fact]
    public void IngestFiles_CancelledAfterFirstCommit_CommittedFilesStayWholeNothingElseRemains()
    {
        using var dir = new TempDir();
        var files = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            string f = dir.File($"f{i}.pcap");
            IngestTestFiles.WriteRawPcap(f, 3000 + i, IngestTestFiles.FindNodeResponse, first: i * 5000);
            files.Add(f);
        }
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        using var cts = new CancellationTokenSource();
        var done = new List<IngestFileResult>();
        var options = new IngestOptions
        {
            MaxParallelFiles = 1,
            CommitRows = 1, // every file commits on its own
            FileDone = new Progress(r => { lock (done) done.Add(r); cts.Cancel(); }),
        };
        var results = new IngestPipeline(db, options).IngestFiles(files, cts.Token);

        var ingested = Assert.Single(results, r => r.Outcome == IngestOutcome.Ingested);
        Assert.All(results.Where(r => r != ingested), r => Assert.Equal(IngestOutcome.Interrupted, r.Outcome));
        Assert.Equal(ingested.CaptureId, (int)Sql.Long(db.Connection, "SELECT DISTINCT capture_id FROM messages"));
        Assert.Equal(3000L, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
        Assert.Equal(3000L * 9, Sql.Long(db.Connection, "SELECT count(*) FROM node_sightings"));
        Assert.Equal(0L, Sql.Long(db.Connection, "SELECT count(*) FROM captures WHERE status IN ('running', 'partial')"));
        Assert.Equal(1L, Sql.Long(db.Connection, "SELECT count(*) FROM captures WHERE status = 'complete'"));
        Assert.Equal(files.Count, done.Count);
    }

    private sealed class Progress(Action<IngestFileResult> report) : IProgress<IngestFileResult>
    {
        public void Report(IngestFileResult value) => report(value);
    }
}
