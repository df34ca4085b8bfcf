using PcapDht.Capture;
using PcapDht.Pipeline;
using PcapDht.Store;

namespace PcapDht.Live;

/// <summary>
/// Writes a live session into the DuckDB store through the same pipeline as <c>ingest</c>: each frame goes
/// straight from the capture batch through <see cref="CapturePipeline"/> (decode, KRPC, matching, row
/// encoding) on the session's decode thread, and the encoded chunks wait in the <see cref="StoreSession"/>'s
/// spool. DuckDB admits one writing process and locks the file, so the session holds the database only while
/// it flushes: every flush interval the spool is handed to a flush thread, which opens the file, appends the
/// chunks, commits them with the capture row (still <c>running</c>) and closes the file — a checkpoint of the
/// same session; <c>pcapdht query</c>/<c>report</c> open the file in between (docs/sniff.md). A flush that is
/// still running when the next is due lets the spool grow instead, up to the spool limit.
/// </summary>
public sealed class StoreLiveSink : ILiveSink
{
    /// <summary>A flush that cannot get the file (a reader or an ingest holds it) keeps trying this long; the final one 2 minutes.</summary>
    private static readonly TimeSpan FlushLockWait = TimeSpan.FromDays(365), FinalLockWait = TimeSpan.FromMinutes(2);

    private readonly StoreSession _session;
    private readonly CapturePipeline _pipeline;
    private readonly DistinctCounter _nodes = new();
    private readonly SemaphoreSlim _idle = new(1, 1);
    private readonly SemaphoreSlim _work = new(0, 1);
    private readonly long _spoolLimit;
    private CaptureTotals _pendingTotals = CaptureTotals.Empty;
    private LiveStatistics _pendingPcap;
    private LiveStatistics _lastStats;
    private bool _pendingFinal;
    private string? _pendingError;
    private Thread? _worker;
    private volatile Exception? _failure;
    private long _udp, _krpc, _malformed, _distinct, _committed, _flushes, _busyTicks;

    /// <param name="path">The DuckDB file (created if missing).</param>
    /// <param name="spoolLimitBytes">
    /// Encoded rows held in memory for the next flush before the sink waits for the running flush and hands
    /// them over. When the store cannot keep up for long (or another process holds the file), the capture
    /// then backs up into the kernel ring and its overflow is counted as pcap drops, instead of the process
    /// growing until the OOM killer takes it.
    /// </param>
    /// <param name="keepDetail">
    /// <c>--keep-detail</c>: after flushes (and always after the last) detail rows older than the newest message time minus
    /// this go, the rollups stay (<see cref="DetailRetention"/>). Null: everything is kept.
    /// </param>
    public StoreLiveSink(string path, StoreSessionOptions? options = null, long spoolLimitBytes = DefaultSpoolLimit, TimeSpan? keepDetail = null)
    {
        _session = StoreSession.Detached(path, options);
        _pipeline = new CapturePipeline(_session);
        _spoolLimit = Math.Max(1, spoolLimitBytes);
        if (keepDetail is { } keep) Retention = new DetailRetention(keep);
    }

    /// <summary>The retention of <c>--keep-detail</c> (its last prune and totals), or null.</summary>
    public DetailRetention? Retention { get; }

    public const long DefaultSpoolLimit = 2L << 30;

    /// <summary>The capture_id of this session (after <see cref="Start"/>).</summary>
    public int CaptureId { get; private set; }

    /// <summary>Flushes committed so far.</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    public LiveSinkCounters Counters => new(Interlocked.Read(ref _udp), Interlocked.Read(ref _krpc), Interlocked.Read(ref _malformed),
        Interlocked.Read(ref _distinct), Interlocked.Read(ref _committed), Interlocked.Read(ref _flushes),
        TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks)));

    public void Start(LiveSessionInfo info)
    {
        CaptureId = _session.RegisterLiveCapture(info.Interface, info.ProcessId, info.Host, PcapDhtDatabase.LockWait);
        _pipeline.StartCapture(CaptureId);
        _worker = new Thread(WorkerLoop) { Name = "pcapdht-flush", IsBackground = true };
        _worker.Start();
    }

    public void Write(in Frame frame)
    {
        if (_failure != null) ThrowFailure();
        if (_session.SpoolBytes >= _spoolLimit)
        {
            // Full: wait for the running flush, then hand this spool over (see the constructor).
            _idle.Wait();
            if (_failure != null)
            {
                _idle.Release();
                ThrowFailure();
            }
            Hand(_lastStats, final: false, null);
        }
        if (_pipeline.Process(frame, out var senderId) && senderId != 0) _nodes.Add(senderId); // the first 16 id bytes: enough for an estimate
    }

    public void Flush(in LiveStatistics statistics)
    {
        if (_failure != null) ThrowFailure();
        _lastStats = statistics;
        Publish();
        // Busy with the previous flush (a slow disk, a reader holding the lock): keep spooling.
        if (!_idle.Wait(0)) return;
        Hand(statistics, final: false, null);
    }

    public void Finish(LiveStopReason reason, in LiveStatistics statistics, string? error)
    {
        if (_worker == null) return;
        _idle.Wait();
        if (_failure != null) ThrowFailure();
        _pipeline.EndOfInput();
        Hand(statistics, final: true, reason == LiveStopReason.Error ? "capture error: " + error : null);
        _worker.Join();
        if (_failure != null) ThrowFailure();
    }

    /// <summary>Decode thread, flush thread idle: everything encoded so far becomes the next flush.</summary>
    private void Hand(in LiveStatistics statistics, bool final, string? error)
    {
        _pipeline.Encoder.SubmitAll();
        _pendingTotals = _pipeline.Totals();
        _session.CutSpool();
        _pendingPcap = statistics;
        _pendingFinal = final;
        _pendingError = error;
        Publish();
        _work.Release();
    }

    private void Publish()
    {
        var s = _pipeline.Stats;
        Interlocked.Exchange(ref _udp, _pipeline.Net.UdpDatagrams);
        Interlocked.Exchange(ref _krpc, s.KrpcMessages);
        Interlocked.Exchange(ref _malformed, s.Malformed);
        Interlocked.Exchange(ref _distinct, _nodes.Estimate());
    }

    private void WorkerLoop()
    {
        try
        {
            while (true)
            {
                _work.Wait();
                bool final = _pendingFinal;
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                var pcap = _pendingPcap;
                _session.FlushSpool(CaptureId, _pendingTotals, final ? (_pendingError == null ? "complete" : "partial") : "running", _pendingError,
                    (pcap.PcapReceived, pcap.PcapDropped, pcap.InterfaceDropped), final ? FinalLockWait : FlushLockWait,
                    Retention == null ? null : db => Retention.AfterCommit(db.Connection, final));
                Interlocked.Add(ref _busyTicks, System.Diagnostics.Stopwatch.GetElapsedTime(t0).Ticks);
                Interlocked.Exchange(ref _committed, _pendingTotals.Stats.KrpcMessages);
                Interlocked.Increment(ref _flushes);
                _idle.Release();
                if (final) return;
            }
        }
        catch (Exception ex)
        {
            _failure = ex;
            _idle.Release();
        }
    }

    private void ThrowFailure() => throw new LiveSinkException(_failure!.Message, _failure);

    public void Dispose()
    {
        _session.Dispose();
        _pipeline.Dispose();
        _idle.Dispose();
        _work.Dispose();
    }
}
