using System.Collections.Concurrent;
using PcapDht.Capture;
using PcapDht.Ingest;
using PcapDht.Net;
using PcapDht.Store;

namespace PcapDht.Live;

/// <summary>
/// Writes a live session into the DuckDB store with the same decode path as <c>ingest</c>
/// (<see cref="FrameStep"/>: PacketDecoder → KrpcDecoder → CaptureWriter). DuckDB admits one writing process and locks the file,
/// so the sink holds the database only while it flushes: between flushes frames are spooled in memory,
/// and each flush opens the file, resumes the capture, decodes and appends the spooled frames, commits,
/// and closes it again — <c>pcapdht query</c>/<c>report</c> open the file in between (docs/sniff.md).
/// Flushes run on their own thread, so capture and spooling never wait for DuckDB; a flush that is
/// still running when the next is due lets the spool grow instead.
/// </summary>
public sealed class StoreLiveSink : ILiveSink
{
    private readonly string _path;
    private readonly CaptureWriterOptions _writerOptions;
    private readonly ConcurrentBag<FrameBatch> _pool = [];
    private readonly PacketDecoder _decoder = new();
    private readonly DistinctCounter _nodes = new();
    private readonly SemaphoreSlim _idle = new(1, 1);
    private readonly SemaphoreSlim _work = new(0, 1);
    private List<FrameBatch> _current = [];
    private List<FrameBatch> _pending = [];
    private LiveStatistics _pendingStats;
    private LiveStatistics _lastStats;
    private bool _pendingFinal;
    private string? _finalError;
    private LiveStopReason _finalReason;
    private Thread? _worker;
    private volatile Exception? _failure;
    private DetachedCapture? _detached;
    private LiveSessionInfo? _info;
    private long _frameNumber;
    private long _udp, _krpc, _malformed, _distinct, _committed, _flushes;

    /// <param name="path">The DuckDB file (created if missing).</param>
    /// <param name="spoolLimitBytes">
    /// Frames held in memory for the next flush before the sink stops taking more. When the store cannot keep
    /// up for long (or another process holds the file), the capture then backs up into the kernel ring and
    /// its overflow is counted as pcap drops, instead of the process growing until the OOM killer takes it.
    /// </param>
    public StoreLiveSink(string path, CaptureWriterOptions? writerOptions = null, long spoolLimitBytes = DefaultSpoolLimit)
    {
        _path = path;
        _writerOptions = writerOptions ?? new CaptureWriterOptions();
        _spoolLimitBatches = Math.Max(2, spoolLimitBytes / FrameQueue.BatchBytes);
    }

    public const long DefaultSpoolLimit = 2L << 30;
    private readonly long _spoolLimitBatches;

    /// <summary>The capture_id of this session (after <see cref="Start"/>).</summary>
    public int CaptureId { get; private set; }

    /// <summary>Flushes committed so far.</summary>
    public long Flushes => Interlocked.Read(ref _flushes);

    public LiveSinkCounters Counters => new(Interlocked.Read(ref _udp), Interlocked.Read(ref _krpc), Interlocked.Read(ref _malformed),
        Interlocked.Read(ref _distinct), Interlocked.Read(ref _committed), Interlocked.Read(ref _flushes),
        TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks)));

    private long _busyTicks;

    public void Start(LiveSessionInfo info)
    {
        _info = info;
        using (var db = PcapDhtDatabase.Open(_path))
        {
            StoreCheck.VerifyLength(db.Connection, _path); // never append to a file that was cut short
            var writer = CaptureWriter.Begin(db, CaptureSource.Live(info.Interface), _writerOptions);
            try
            {
                CaptureId = writer.CaptureId;
                db.SetLiveProcess(writer.CaptureId, info.ProcessId, info.Host);
                _detached = writer.Detach();
            }
            finally
            {
                writer.Dispose();
            }
        }
        _worker = new Thread(WorkerLoop) { Name = "pcapdht-flush", IsBackground = true };
        _worker.Start();
    }

    public void Write(in Frame frame)
    {
        if (_failure != null) ThrowFailure();
        var list = _current;
        if (list.Count == 0 || !list[^1].TryAdd(frame.TimestampNs, frame.OriginalLength, frame.Data))
        {
            if (list.Count >= _spoolLimitBatches)
            {
                // Full: wait for the running flush, then hand this spool over (see the constructor).
                _idle.Wait();
                if (_failure != null)
                {
                    _idle.Release();
                    ThrowFailure();
                }
                Submit(_lastStats, final: false);
                list = _current;
            }
            if (!_pool.TryTake(out var batch)) batch = new FrameBatch(FrameQueue.BatchBytes, FrameQueue.BatchSlots);
            list.Add(batch);
            batch.TryAdd(frame.TimestampNs, frame.OriginalLength, frame.Data);
        }
    }

    public void Flush(in LiveStatistics statistics)
    {
        if (_failure != null) ThrowFailure();
        _lastStats = statistics;
        // Busy with the previous flush (a slow disk, a reader holding the lock): keep spooling.
        if (!_idle.Wait(0)) return;
        Submit(statistics, final: false);
    }

    public void Finish(LiveStopReason reason, in LiveStatistics statistics, string? error)
    {
        if (_worker == null) return;
        _idle.Wait();
        if (_failure != null) ThrowFailure();
        _finalReason = reason;
        _finalError = error;
        Submit(statistics, final: true);
        _worker.Join();
        if (_failure != null) ThrowFailure();
    }

    private void Submit(in LiveStatistics statistics, bool final)
    {
        (_pending, _current) = (_current, _pending);
        _pendingStats = statistics;
        _pendingFinal = final;
        _work.Release();
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
                Process(_pending, _pendingStats, final);
                Interlocked.Add(ref _busyTicks, System.Diagnostics.Stopwatch.GetElapsedTime(t0).Ticks);
                foreach (var b in _pending)
                {
                    b.Reset();
                    _pool.Add(b);
                }
                _pending.Clear();
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

    private void Process(List<FrameBatch> batches, in LiveStatistics pcap, bool final)
    {
        using var db = OpenForFlush(final);
        var writer = CaptureWriter.Resume(db, _detached!, _writerOptions);
        try
        {
            var stats = writer.Stats;
            int linkType = _info!.LinkType;
            foreach (var batch in batches)
            {
                var data = batch.Data;
                for (int i = 0; i < batch.Count; i++)
                {
                    ref readonly var s = ref batch.Slots[i];
                    var frame = new Frame(++_frameNumber, s.TimestampNs, linkType, s.OriginalLength, new ReadOnlySpan<byte>(data, s.Offset, s.Length));
                    // The first 16 of the 20 id bytes: enough for an approximate distinct count.
                    if (FrameStep.Process(_decoder, writer, frame, out var senderId) && senderId != 0) _nodes.Add(senderId);
                }
            }
            if (final) _decoder.Finish();
            stats.Frames = _decoder.Counters.Frames;
            stats.UdpDatagrams = _decoder.Counters.UdpDatagrams;
            if (final)
            {
                writer.Complete(_finalReason == LiveStopReason.Error ? "capture error: " + _finalError : null);
            }
            else
            {
                _detached = writer.Detach();
            }
            db.SetPcapCounters(writer.CaptureId, pcap.PcapReceived, pcap.PcapDropped, pcap.InterfaceDropped);
            Interlocked.Exchange(ref _udp, stats.UdpDatagrams);
            Interlocked.Exchange(ref _krpc, stats.KrpcMessages);
            Interlocked.Exchange(ref _malformed, stats.Malformed);
            Interlocked.Exchange(ref _committed, stats.KrpcMessages);
            Interlocked.Exchange(ref _distinct, _nodes.Estimate());
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>Opens the file, waiting out other processes' locks: a reader, or an ingest between our flushes.</summary>
    private PcapDhtDatabase OpenForFlush(bool final)
    {
        var giveUp = DateTime.UtcNow + (final ? TimeSpan.FromMinutes(2) : TimeSpan.FromDays(365));
        while (true)
        {
            try
            {
                return PcapDhtDatabase.Open(_path, TimeSpan.FromSeconds(5));
            }
            catch (DatabaseLockedException) when (DateTime.UtcNow < giveUp)
            {
            }
        }
    }

    private void ThrowFailure() => throw new LiveSinkException(_failure!.Message, _failure);

    public void Dispose()
    {
        _idle.Dispose();
        _work.Dispose();
    }
}
