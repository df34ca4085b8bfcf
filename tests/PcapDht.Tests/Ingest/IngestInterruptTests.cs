using PcapDht.Analysis;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

/// <summary>
/// A file the user stops (Ctrl-C, SIGTERM) in the middle: its capture row says <c>interrupted</c> (not
/// <c>failed</c>), none of its rows stay, and reports do not count it as a capture.
/// </summary>
public class IngestInterruptTests
{
    [Fact]
    public void IngestFiles_CancelledMidFile_CaptureInterruptedWithoutRows_ReportsDoNotCountIt()
    {
        using var dir = new TempDir();
        string small = dir.File("small.pcap"), big = dir.File("big.pcap");
        IngestTestFiles.WriteRawPcap(small, 3000, IngestTestFiles.FindNodeResponse);
        IngestTestFiles.WriteRawPcap(big, 120_000, IngestTestFiles.FindNodeResponse, first: 10_000);
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var first = Assert.Single(new IngestPipeline(db, new IngestOptions()).IngestFiles([small], CancellationToken.None));
        Assert.Equal(IngestOutcome.Ingested, first.Outcome);

        using var cts = new CancellationTokenSource();
        var pipeline = new IngestPipeline(db, new IngestOptions { MaxParallelFiles = 1 });
        var watcher = new Thread(() =>
        {
            // Stop once the big file is being read (progress moves every few thousand frames, long before its end).
            while (pipeline.Progress.Frames == 0 && !cts.IsCancellationRequested) Thread.Sleep(1);
            cts.Cancel();
        });
        watcher.Start();
        var result = Assert.Single(pipeline.IngestFiles([big], cts.Token));
        cts.Cancel();
        watcher.Join();

        Assert.Equal(IngestOutcome.Interrupted, result.Outcome);
        Assert.Equal(1L, Sql.Long(db.Connection, "SELECT count(*) FROM captures WHERE status = 'interrupted'"));
        Assert.Equal(0L, Sql.Long(db.Connection, "SELECT count(*) FROM captures WHERE status IN ('failed', 'running')"));
        Assert.Equal(IngestPipeline.InterruptedError, Sql.Scalar(db.Connection, "SELECT error FROM captures WHERE status = 'interrupted'"));
        long interruptedId = Sql.Long(db.Connection, "SELECT capture_id FROM captures WHERE status = 'interrupted'");
        Assert.Equal(0L, Sql.Long(db.Connection, $"SELECT count(*) FROM messages WHERE capture_id = {interruptedId}"));
        Assert.Equal(3000L, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));

        var overview = Reports.Overview(db.Connection, new ReportOptions(), explicitWindow: false);
        object? Metric(string name) => overview.Rows.Single(r => (string?)r[0] == name)[1];
        Assert.Equal(1L, Convert.ToInt64(Metric("captures")));
        Assert.Equal(1L, Convert.ToInt64(Metric("captures without rows (failed or interrupted, not counted)")));
        var health = Reports.CaptureHealth(db.Connection, new ReportOptions());
        Assert.Equal(1L, Convert.ToInt64(health.Facts.Single(f => f.Key == "captures").Value));
        Assert.Equal(1L, Convert.ToInt64(health.Facts.Single(f => f.Key == "interrupted").Value));

        // Not a duplicate of anything: ingesting it again stores it whole.
        var again = Assert.Single(new IngestPipeline(db, new IngestOptions()).IngestFiles([big], CancellationToken.None));
        Assert.Equal(IngestOutcome.Ingested, again.Outcome);
        Assert.Equal(123_000L, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
    }
}
