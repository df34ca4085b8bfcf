using System.Globalization;
using PcapDht.Capture;
using PcapDht.Ingest;
using PcapDht.Live;
using PcapDht.Store;

namespace PcapDht.Tests.Live;

/// <summary>
/// The live sink without a network: the frames of a real recorded swarm fed through StoreLiveSink, with
/// many flushes (each closing and reopening the file), must give exactly the rows ingest gives.
/// </summary>
public class StoreLiveSinkTests
{
    private static string Sample(string name)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "PcapDht.sln"))) return Path.Combine(d.FullName, "samples-pcap", name);
        throw new InvalidOperationException("repository root not found");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sink_RecordedSwarmAcrossManyFlushes_SameRowsAsIngest(bool spoolLimitForcesFlushes)
    {
        string pcap = Sample("dht-loopback.pcap");
        using var dir = new TempDir();
        string liveDb = Path.Combine(dir.Path, "live.duckdb"), ingestDb = Path.Combine(dir.Path, "ingest.duckdb");

        using (var db = PcapDhtDatabase.Open(ingestDb))
            Assert.Equal(IngestOutcome.Ingested, new IngestPipeline(db).IngestFile(pcap).Outcome);

        // Either the flush interval (a Flush call every 1500 frames) or the spool limit (two 256 KiB
        // batches) cuts the capture into many flushes; both must be invisible in the result.
        using var sink = new StoreLiveSink(liveDb, spoolLimitBytes: spoolLimitForcesFlushes ? 2 * FrameQueue.BatchBytes : StoreLiveSink.DefaultSpoolLimit);
        int linkType = -1;
        long frames = 0;
        using (var reader = CaptureReader.Open(pcap))
        {
            while (reader.TryRead(out var frame))
            {
                if (linkType < 0)
                {
                    linkType = frame.LinkType;
                    sink.Start(new LiveSessionInfo("lo", linkType, LiveCaptureOptions.DefaultFilter, 65535, false,
                        DateTimeOffset.UtcNow, Environment.ProcessId, Environment.MachineName));
                }
                sink.Write(frame);
                frames++;
                if (!spoolLimitForcesFlushes && frames % 1500 == 0)
                {
                    sink.Flush(new LiveStatistics(frames, 0, frames, 0, 0, 0));
                    // Let the flush thread take this spool, so the next Flush is not skipped as busy.
                    SpinWait.SpinUntil(() => sink.Flushes >= frames / 1500, TimeSpan.FromSeconds(60));
                }
            }
        }
        sink.Finish(LiveStopReason.Stopped, new LiveStatistics(frames, 0, frames + 7, 3, 1, 0), null);
        Assert.True(sink.Flushes >= 3, $"only {sink.Flushes} flushes");

        using var live = PcapDhtDatabase.Open(liveDb);
        using var reference = PcapDhtDatabase.Open(ingestDb);
        foreach (var sql in new[]
        {
            "SELECT count(*) FROM messages",
            "SELECT count(*) FROM node_sightings",
            "SELECT count(*) FROM peer_sightings",
            "SELECT count(*) FROM malformed_krpc",
            "SELECT count(rtt_us) FROM messages",
            "SELECT sum(hash(frame_no, ts_ns, src_port, dst_port, y, method, tx_id, node_id, rtt_us)) FROM messages",
            "SELECT sum(hash(frame_no, ip, port, node_id, source)) FROM node_sightings",
            "SELECT krpc_messages || '/' || frames || '/' || udp_datagrams || '/' || node_sightings FROM captures",
        })
        {
            Assert.Equal(Scalar(reference, sql), Scalar(live, sql));
        }
        Assert.True(long.Parse(Scalar(live, "SELECT count(rtt_us) FROM messages"), CultureInfo.InvariantCulture) > 0);
        Assert.Equal("complete|live|3|1|" + Environment.ProcessId,
            Scalar(live, "SELECT status || '|' || kind || '|' || pcap_dropped || '|' || if_dropped || '|' || pid FROM captures"));
        Assert.Equal((frames + 7).ToString(CultureInfo.InvariantCulture), Scalar(live, "SELECT pcap_received FROM captures"));
    }

    [Fact]
    public void Sink_ManyMalformedBetweenFlushes_NeverBlocksAndStoresEveryOne()
    {
        // Malformed rows are spooled until the flush like every other row: more than a few chunks of them in one
        // interval must not stall the decode thread (a bounded pool deadlocked the sniff benchmark).
        using var dir = new TempDir();
        string pcap = Path.Combine(dir.Path, "malformed.pcap");
        const int count = 3 * 2048 + 5;
        PcapDht.Tests.Ingest.IngestTestFiles.WriteRawPcap(pcap, count, i => System.Text.Encoding.ASCII.GetBytes($"d1:t2:{(char)('a' + i % 26)}{(char)('a' + i / 26 % 26)}1:y1:q1:q4:ping1:ad2:id"));
        string db = Path.Combine(dir.Path, "live.duckdb");
        Exception? failure = null;
        var run = new Thread(() =>
        {
            try
            {
                using var sink = new StoreLiveSink(db);
                long frames = LiveReplay.Feed(sink, pcap);
                sink.Finish(LiveStopReason.Stopped, LiveReplay.Stats(frames), null);
            }
            catch (Exception ex) { failure = ex; }
        }) { IsBackground = true };
        run.Start();
        Assert.True(run.Join(TimeSpan.FromMinutes(3)), "the sink blocked");
        Assert.Null(failure);
        using var d = PcapDhtDatabase.Open(db);
        Assert.Equal(count.ToString(CultureInfo.InvariantCulture), Scalar(d, "SELECT count(*) FROM malformed_krpc"));
        Assert.Equal($"complete|{count}|0", Scalar(d, "SELECT status || '|' || malformed_krpc || '|' || krpc_messages FROM captures"));
    }

    [Fact]
    public void Open_LiveCaptureOfDeadProcess_BecomesInterruptedButOwnRunningOneStays()
    {
        using var dir = new TempDir();
        string db = Path.Combine(dir.Path, "x.duckdb");
        using (var d = PcapDhtDatabase.Open(db))
        {
            int own = d.InsertRunningCaptures([CaptureSource.Live("eth9")])[0];
            d.SetLiveProcess(own, Environment.ProcessId, Environment.MachineName);
            int dead = d.InsertRunningCaptures([CaptureSource.Live("eth8")])[0];
            // A pid that cannot be running pcapdht: beyond pid_max.
            d.SetLiveProcess(dead, 1 << 30, Environment.MachineName);
        }
        using var again = PcapDhtDatabase.Open(db);
        Assert.Equal("live:eth9=running,live:eth8=interrupted",
            Scalar(again, "SELECT string_agg(source || '=' || status, ',' ORDER BY capture_id) FROM captures"));
    }

    private static string Scalar(PcapDhtDatabase db, string sql)
    {
        using var cmd = db.Connection.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToString(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) ?? "";
    }
}
