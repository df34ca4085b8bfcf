using System.Security.Cryptography;
using PcapDht.Capture;
using PcapDht.Pipeline;
using PcapDht.Store;

namespace PcapDht.Ingest;

public sealed class IngestOptions
{
    /// <summary>Re-ingest files whose sha256 is already stored, replacing their rows in the same transaction.</summary>
    public bool Force { get; init; }

    /// <summary>
    /// Files ingested at the same time (each worker has its own pipeline and store session). One worker keeps
    /// about two cores busy (decoding, and the two writer lanes), so the default is one per two cores: on
    /// the 2-core benchmark machine two workers took 25 % more CPU time for 100 files and finished no sooner
    /// (docs/benchmarks.md, "Pipeline").
    /// </summary>
    public int MaxParallelFiles { get; init; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Called once per file when its outcome is final (from a worker thread).</summary>
    public IProgress<IngestFileResult>? FileDone { get; init; }

    public StoreSessionOptions? Store { get; init; }

    /// <summary>
    /// Small files share a commit until this many message rows are written (each file's rows still commit
    /// together with its final status). DuckDB writes a commit of less than a row group (122,880 rows) per
    /// table through its WAL and rewrites it at the next checkpoint, and every commit costs fsyncs and a flush of
    /// each table's partial row group: 16 row groups (the 100-file benchmark: one commit per 256 MB batch) took
    /// 15 % less CPU than 4 (8.4 against 9.9 CPU-s, median of 3 alternating, load ~20). A crash still loses at
    /// most one batch (<see cref="BatchBytes"/>). docs/pipeline.md has the measurements.
    /// </summary>
    public long CommitRows { get; init; } = 16 * 122_880;

    /// <summary>A worker takes files (in input order) up to this many bytes at a time: they are registered in one commit.</summary>
    public long BatchBytes { get; init; } = 256L << 20;

    /// <summary>
    /// A stream (standard input, a named pipe: <c>tcpdump -w - | pcapdht ingest -</c>) has no end to wait for: what it
    /// delivered is committed at this interval, like <c>sniff</c>'s flush, with the capture <c>running</c>. Ctrl-C,
    /// SIGTERM or a crash keep what was committed (status <c>interrupted</c>); the end of the stream completes it.
    /// </summary>
    public TimeSpan StreamCommitInterval { get; init; } = Live.LiveCaptureOptions.DefaultFlushInterval;

    /// <summary>
    /// <c>--keep-detail</c>: detail rows older than the newest message time minus this go, the rollups stay
    /// (<see cref="StoreRetention"/>). Files: once at the end of the run (a prune scans the day at the cutoff; after
    /// every commit of a directory of small files that would be one scan per batch). Streams: also after their
    /// periodic commits, so <c>tcpdump -w - | pcapdht ingest -</c> keeps only the last N days for as long as it runs.
    /// Null (the default): everything is kept.
    /// </summary>
    public TimeSpan? KeepDetail { get; init; }
}

public enum IngestOutcome
{
    /// <summary>Read to the end and committed (<c>complete</c>).</summary>
    Ingested,
    /// <summary>Already stored (same sha256); nothing written.</summary>
    Skipped,
    /// <summary>Damaged after some frames: what was read before is committed as <c>partial</c>.</summary>
    Partial,
    /// <summary>Not found, not a capture or unreadable; nothing written.</summary>
    InputError,
    /// <summary>Database error (locked, disk full, ...); rolled back.</summary>
    DatabaseError,
    /// <summary>Cancelled; rolled back.</summary>
    Interrupted,
}

/// <summary>What happened to one input file.</summary>
public sealed class IngestFileResult
{
    public required string Path { get; init; }
    public IngestOutcome Outcome { get; set; }
    public int? CaptureId { get; set; }
    public int? ExistingCaptureId { get; set; }
    public string? Sha256 { get; set; }
    public long Bytes { get; set; }
    public CaptureStats Stats { get; set; } = new();
    /// <summary>Everything its <c>captures</c> row records (network counters, link types).</summary>
    public CaptureTotals Totals { get; set; } = CaptureTotals.Empty;
    /// <summary>One line: why the file failed or where it is damaged.</summary>
    public string? Error { get; set; }
    public CaptureDamage? Damage { get; set; }
    public TimeSpan Elapsed { get; set; }
    public Exception? Exception { get; set; }
}

/// <summary>Live totals over all files, updated by the workers, read by whoever shows progress.</summary>
public sealed class IngestProgress
{
    internal long _bytesRead, _frames, _messages, _filesDone;
    public long TotalBytes { get; internal set; }
    public int TotalFiles { get; internal set; }
    public long BytesRead => Interlocked.Read(ref _bytesRead);
    public long Frames => Interlocked.Read(ref _frames);
    public long Messages => Interlocked.Read(ref _messages);
    public long FilesDone => Interlocked.Read(ref _filesDone);
}

/// <summary>
/// Ingests files: each worker (files in parallel, <see cref="IngestOptions.MaxParallelFiles"/>) reads
/// frames (<see cref="CaptureReader"/>) into one <see cref="CapturePipeline"/> (decode, KRPC, matching,
/// row encoding) whose chunks go to one <see cref="StoreSession"/>; both serve every file the worker
/// takes, so a directory of many small files costs about what one file of the same packets costs.
/// Decoding runs on the worker's thread, DuckDB appends on the session's threads.
/// <para>
/// A file's rows commit together with its final status (<c>complete</c>/<c>partial</c>); consecutive small
/// files may share a commit (<see cref="IngestOptions.CommitRows"/>), so a crash loses the files of the
/// commit in progress (each left <c>running</c>, repaired to <c>failed</c> without rows by the next open)
/// and never leaves part of a file. Files of the same size go to the same worker in input order, so a
/// second copy of a file in one run is recognised (by sha256) and skipped.
/// </para>
/// </summary>
public sealed class IngestPipeline
{
    private const int ProgressEvery = 4096;
    private readonly PcapDhtDatabase _db;
    private readonly IngestOptions _options;
    private readonly Queue<List<int>> _units = new();
    private readonly Dictionary<string, int> _runHashes = []; // content hash -> capture id of files of this run (claimed when read)
    private readonly HashSet<long> _runSizes = [];
    private IReadOnlyList<string> _paths = [];
    private IngestFileResult[] _results = [];
    private long[] _sizes = [];
    private bool[] _done = [];
    private bool[] _streams = [];
    private StoredCaptures _stored = new();

    public IngestPipeline(PcapDhtDatabase db, IngestOptions? options = null)
    {
        _db = db;
        _options = options ?? new IngestOptions();
        if (_options.KeepDetail is { } keep) Retention = new DetailRetention(keep);
    }

    public IngestProgress Progress { get; } = new();

    /// <summary>The retention of <see cref="IngestOptions.KeepDetail"/> (its last prune and totals), or null.</summary>
    public DetailRetention? Retention { get; }

    /// <summary>Why the last prune of the run failed (the ingested captures are committed regardless), or null.</summary>
    public StoreException? PruneError { get; private set; }

    /// <summary>Runs the retention on a connection of its own (workers commit in parallel); a failure is kept, not thrown.</summary>
    private void Prune(bool final)
    {
        if (Retention == null) return;
        try
        {
            using var c = _db.OpenConnection();
            // The ingest's memory limit (128 MB per file) is for its appends: deleting a 2M-packet capture's detail rows
            // under it ran out of memory. The maintenance limit serves here too.
            using var memory = StoreCheck.MemoryLimitScope(c, PcapDhtDatabase.MaintenanceMemoryLimit, _db.MemoryLimit);
            Retention.AfterCommit(c, final);
            PruneError = null;
        }
        catch (StoreException ex)
        {
            PruneError = ex;
        }
        catch (System.Data.Common.DbException ex)
        {
            PruneError = PcapDhtDatabase.Translate(ex, "pruning the detail rows failed");
        }
    }

    /// <summary>Why the address index could not be brought up to date (the captures are committed; reports read the rollups), or null.</summary>
    public StoreException? IndexError { get; private set; }

    /// <summary>What the run's refresh of the address index did (null when it did not run or failed).</summary>
    public AddressIndex.Refreshed? IndexRefreshed { get; private set; }

    /// <summary>How long that refresh took.</summary>
    public TimeSpan IndexRefreshTime { get; private set; }

    /// <summary>
    /// Brings the address index (Store/AddressIndex.cs) up to date after the run, on a connection of its own; skipped
    /// when the run was stopped (the index stays as it was, and reports see it is older than the captures).
    /// </summary>
    private void RefreshIndex(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return;
        try
        {
            (var done, IndexRefreshTime) = AddressIndex.RefreshAfterWrite(_db, cancellationToken);
            IndexRefreshed = done;
            IndexError = null;
        }
        catch (OperationCanceledException)
        {
        }
        catch (StoreException ex)
        {
            IndexError = ex;
        }
    }

    public IngestFileResult IngestFile(string path, CancellationToken cancellationToken = default) => IngestFiles([path], cancellationToken)[0];

    public IReadOnlyList<IngestFileResult> IngestFiles(IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        _paths = paths;
        _results = new IngestFileResult[paths.Count];
        _sizes = new long[paths.Count];
        _done = new bool[paths.Count];
        _streams = new bool[paths.Count];
        Progress.TotalFiles = paths.Count;
        long total = 0;
        for (int i = 0; i < paths.Count; i++)
        {
            _results[i] = new IngestFileResult { Path = paths[i] };
            _streams[i] = StandardInputStream.IsStream(paths[i]);
            _sizes[i] = !_streams[i] && File.Exists(paths[i]) ? new FileInfo(paths[i]).Length : -1;
            if (_sizes[i] > 0) total += _sizes[i];
        }
        Progress.TotalBytes = total;
        try
        {
            _stored = _db.StoredCaptures();
        }
        catch (StoreException ex)
        {
            for (int i = 0; i < paths.Count; i++) Finish(i, IngestOutcome.DatabaseError, ex.Message, ex);
            return _results;
        }
        PlanUnits();
        int workers = _workers = Math.Clamp(_options.MaxParallelFiles, 1, Math.Max(1, _units.Count));
        var threads = new Thread[workers - 1];
        Exception? failure = null;
        void Run()
        {
            try { Worker(cancellationToken); }
            catch (Exception ex) { failure ??= ex; }
        }
        for (int i = 0; i < threads.Length; i++)
        {
            threads[i] = new Thread(Run) { Name = "pcapdht-ingest", IsBackground = true };
            threads[i].Start();
        }
        Run();
        foreach (var t in threads) t.Join();
        if (failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        if (Array.Exists(_results, r => r.CaptureId != null))
        {
            Prune(final: true);
            RefreshIndex(cancellationToken);
        }
        return _results;
    }

    /// <summary>Work units in input order: a file, or all files of one size (a duplicate must see its original's hash).</summary>
    private void PlanUnits()
    {
        var bySize = new Dictionary<long, List<int>>();
        for (int i = 0; i < _paths.Count; i++)
        {
            if (_sizes[i] < 0)
            {
                _units.Enqueue([i]);
                continue;
            }
            if (bySize.TryGetValue(_sizes[i], out var unit))
            {
                unit.Add(i);
                continue;
            }
            bySize[_sizes[i]] = unit = [i];
            _units.Enqueue(unit);
        }
    }

    /// <summary>The next units, up to <see cref="IngestOptions.BatchBytes"/> of input (at least one unit).</summary>
    private List<int>? TakeBatch()
    {
        lock (_units)
        {
            if (_units.Count == 0) return null;
            // Guided self-scheduling: a worker takes at most its share of what is left, so the other workers
            // are not left idle at the end (and never more than BatchBytes: a crash loses one commit's files).
            long left = 0;
            foreach (var u in _units) left += UnitBytes(u);
            long limit = Math.Min(_options.BatchBytes, left / Math.Max(1, _workers));
            var batch = new List<int>(_units.Dequeue());
            long bytes = UnitBytes(batch);
            while (_units.Count > 0 && batch.Count < 256)
            {
                var next = _units.Peek();
                long more = UnitBytes(next);
                if (bytes + more > limit) break;
                batch.AddRange(_units.Dequeue());
                bytes += more;
            }
            return batch;
        }
    }

    private long UnitBytes(List<int> unit)
    {
        long b = 0;
        foreach (int i in unit) b += Math.Max(0, _sizes[i]);
        return b;
    }

    private int _workers = 1;

    private void Worker(CancellationToken ct)
    {
        StoreSession? session = null;
        CapturePipeline? pipeline = null;
        using var reading = new Reading();
        try
        {
            while (TakeBatch() is { } batch)
            {
                if (ct.IsCancellationRequested)
                {
                    foreach (int i in batch) Finish(i, IngestOutcome.Interrupted, $"{_paths[i]}: interrupted before it was read");
                    continue;
                }
                if (session == null)
                {
                    try
                    {
                        session = StoreSession.Attach(_db, _options.Store);
                        pipeline = new CapturePipeline(session, (_options.Store ?? new StoreSessionOptions()).ChunksPerTable);
                    }
                    catch (StoreException ex)
                    {
                        foreach (int i in batch) Finish(i, IngestOutcome.DatabaseError, ex.Message, ex);
                        continue;
                    }
                }
                new Batch(this, session, pipeline!, reading, batch).Run(ct);
            }
        }
        finally
        {
            session?.Dispose();
            pipeline?.Dispose();
        }
    }

    private void Finish(int index, IngestOutcome outcome, string? error = null, Exception? exception = null)
    {
        if (_done[index]) return;
        _done[index] = true;
        var r = _results[index];
        r.Outcome = outcome;
        if (error != null) r.Error = error;
        if (exception != null) r.Exception = exception;
        // An interrupted stream keeps what it committed: its capture stays.
        if (outcome is IngestOutcome.InputError or IngestOutcome.DatabaseError or IngestOutcome.Skipped
            || (outcome == IngestOutcome.Interrupted && !_streams[index])) r.CaptureId = null;
        Interlocked.Increment(ref Progress._filesDone);
        _options.FileDone?.Report(r);
    }

    /// <summary>What a worker reuses for every file it reads: the reader's buffer and the content hash.</summary>
    private sealed class Reading : IDisposable
    {
        public byte[] Buffer { get; } = new byte[CaptureReader.BufferSize];
        public FrameDigest Digest { get; } = new();
        public void Dispose() => Digest.Dispose();
    }

    /// <summary>The capture row's error of a file the user stopped (Ctrl-C, SIGTERM) before its commit; its status is <c>interrupted</c>.</summary>
    internal const string InterruptedError = "interrupted (Ctrl-C or SIGTERM) before the capture was complete; nothing of it was stored, ingest it again";

    /// <summary>The files one worker took at once: registered in one commit, their rows in as few commits as fit.</summary>
    private sealed class Batch(IngestPipeline owner, StoreSession session, CapturePipeline pipeline, Reading reading, List<int> files)
    {
        private readonly List<int> _uncommitted = []; // files whose rows and status wait for the next commit
        private long _rowsSinceCommit;

        public void Run(CancellationToken ct)
        {
            int[] ids;
            var sources = new List<CaptureSource>();
            var registered = new List<int>();
            foreach (int i in files)
            {
                string path = owner._paths[i];
                bool stream = owner._streams[i];
                if (path != "-" && Directory.Exists(path)) owner.Finish(i, IngestOutcome.InputError, $"{path} is a directory");
                else if (!stream && owner._sizes[i] < 0) owner.Finish(i, IngestOutcome.InputError, $"{path}: no such file");
                else if (!stream && SkipStored(i)) { }
                else
                {
                    registered.Add(i);
                    sources.Add(stream ? new CaptureSource(path == "-" ? "-" : Path.GetFullPath(path), CaptureKind.Stream)
                        : new CaptureSource(Path.GetFullPath(path), CaptureKind.File, null, owner._sizes[i]));
                }
            }
            if (registered.Count == 0) return;
            try
            {
                ids = session.RegisterCaptures(sources);
            }
            catch (StoreException ex)
            {
                foreach (int i in registered) owner.Finish(i, IngestOutcome.DatabaseError, ex.Message, ex);
                return;
            }
            for (int next = 0; next < registered.Count; next++)
            {
                int i = registered[next];
                try
                {
                    ct.ThrowIfCancellationRequested();
                    IngestOne(i, ids[next], ct);
                    if (_rowsSinceCommit >= owner._options.CommitRows || next == registered.Count - 1) Commit();
                }
                catch (OperationCanceledException) when (owner._streams[i] && owner._results[i].CaptureId != null && !owner._done[i])
                {
                    // A stream has no end to reach: Ctrl-C or SIGTERM is how it stops. Keep what was read.
                    StopStream(i, ids[next]);
                    for (int k = next + 1; k < registered.Count; k++)
                    {
                        DropRow(ids[k]);
                        owner.Finish(registered[k], IngestOutcome.Interrupted, $"{owner._paths[registered[k]]}: interrupted before it was read");
                    }
                    return;
                }
                catch (OperationCanceledException)
                {
                    bool started = owner._results[i].CaptureId != null;
                    Abort(InterruptedError, IngestOutcome.Interrupted, null);
                    if (!started) DropRow(ids[next]); // registered, not started: the rollback did not mark it
                    if (!owner._done[i]) owner.Finish(i, IngestOutcome.Interrupted, $"{owner._paths[i]}: interrupted, nothing of this file was stored");
                    for (int k = next + 1; k < registered.Count; k++)
                    {
                        DropRow(ids[k]);
                        owner.Finish(registered[k], IngestOutcome.Interrupted, $"{owner._paths[registered[k]]}: interrupted before it was read");
                    }
                    return;
                }
                catch (StoreException ex)
                {
                    // The open transaction is gone: every file in it failed with this error. The rest of the batch goes on.
                    bool started = owner._results[i].CaptureId != null;
                    Abort(ex.Message, IngestOutcome.DatabaseError, ex);
                    if (!started) DropRow(ids[next]);
                    if (!owner._done[i]) owner.Finish(i, IngestOutcome.DatabaseError, ex.Message, ex);
                }
            }
        }

        /// <summary>
        /// A file of the size of a stored capture is hashed before it is registered: when its content is stored
        /// already (and no --force) it is skipped without taking a capture id.
        /// </summary>
        private bool SkipStored(int index)
        {
            long size = owner._sizes[index];
            try
            {
                if (!owner._stored.Sizes.Contains(size)) return false;
                var result = owner._results[index];
                var existing = HashFirst(index);
                result.ExistingCaptureId = existing; // with --force: the capture to replace (maybe found by its file hash)
                if (existing == null || owner._options.Force) return false;
                result.Bytes = size;
                Interlocked.Add(ref owner.Progress._bytesRead, size);
                owner.Finish(index, IngestOutcome.Skipped);
                return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CaptureFormatException)
            {
                return false; // reading it again reports the error
            }
        }

        /// <summary>
        /// Hashes a file before decoding it (sets the result's content hash) and returns the stored or earlier
        /// capture of the same content. One pass computes both the content hash and the sha256 of the file's
        /// bytes, which is what builds before content hashes stored.
        /// </summary>
        private int? HashFirst(int index)
        {
            var result = owner._results[index];
            var file = new FileStream(result.Path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
            var raw = new HashingStream(file);
            string fileSha;
            CaptureReader reader;
            try { reader = CaptureReader.Open(raw, result.Path, owner._sizes[index], reading.Buffer); }
            catch { raw.Dispose(); throw; }
            using (reader) // disposes raw
            {
                var digest = reading.Digest;
                digest.Reset();
                while (reader.TryRead(out var frame)) digest.Add(frame);
                result.Sha256 = digest.HexDigestAndReset();
                raw.ReadToEnd();
                fileSha = raw.HexDigest();
            }
            return Existing(result.Sha256) ?? Existing(fileSha);
        }

        private void Commit()
        {
            pipeline.Encoder.SubmitAll();
            session.Commit();
            Committed();
        }

        /// <summary>A stream's periodic commit: its rows so far and counters, the capture still <c>running</c>.</summary>
        private void Checkpoint(int captureId)
        {
            pipeline.Encoder.SubmitAll();
            session.Checkpoint(captureId, pipeline.Totals());
            Committed(); // files of this batch completed before the stream are now committed too
            owner.Prune(final: false);
        }

        /// <summary>
        /// Commits what an interrupted stream read (status <c>interrupted</c>, as a sniff whose process died), or,
        /// when the store fails, keeps what its earlier commits stored.
        /// </summary>
        private void StopStream(int index, int captureId)
        {
            var result = owner._results[index];
            try
            {
                pipeline.EndOfInput();
                var totals = pipeline.Totals();
                result.Totals = totals;
                result.Stats = totals.Stats;
                result.Error = $"{result.Path}: interrupted; the {totals.Stats.Frames:N0} frames read before were stored (capture {captureId}, status interrupted)";
                session.CompleteCapture(captureId, totals, "interrupted", "interrupted: the stream was stopped before its end; what was read is stored");
                _uncommitted.Remove(index);
                Commit();
                owner.Finish(index, IngestOutcome.Interrupted);
            }
            catch (StoreException ex)
            {
                Abort(ex.Message, IngestOutcome.DatabaseError, ex);
                owner.Finish(index, IngestOutcome.DatabaseError, ex.Message, ex);
            }
        }

        private void Committed()
        {
            foreach (int i in _uncommitted)
            {
                var r = owner._results[i];
                owner.Finish(i, r.Damage != null ? IngestOutcome.Partial : IngestOutcome.Ingested);
            }
            _uncommitted.Clear();
            _rowsSinceCommit = 0;
        }

        private void Abort(string error, IngestOutcome outcome, Exception? ex)
        {
            pipeline.Encoder.DropAllRows();
            session.Rollback(ex is StoreException se ? StoreSession.CaptureError(se) : error, status: outcome == IngestOutcome.Interrupted ? "interrupted" : "failed");
            foreach (int i in _uncommitted) Unclaim(i);
            foreach (int i in _uncommitted)
                owner.Finish(i, outcome, outcome == IngestOutcome.Interrupted ? $"{owner._paths[i]}: interrupted, nothing of this file was stored" : error, ex);
            _uncommitted.Clear();
            _rowsSinceCommit = 0;
        }

        private void DropRow(int captureId)
        {
            try { owner._db.DeleteCapture(captureId); }
            catch (Exception e) when (e is System.Data.Common.DbException or StoreException) { /* left running: the next open marks it failed */ }
        }

        /// <summary>One file into the open transaction; its outcome is final only at the commit (or now, when it failed or was skipped).</summary>
        private void IngestOne(int index, int captureId, CancellationToken ct)
        {
            var result = owner._results[index];
            string path = result.Path;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            bool started = false;
            try
            {
                if (owner._streams[index])
                {
                    // Polls while the pipe is idle, so Ctrl-C ends `tcpdump -w - | pcapdht ingest -` on a quiet link too.
                    Stream input = path == "-" ? new StandardInputStream(ct) : StandardInputStream.OpenStream(path, ct);
                    CaptureReader reader;
                    try { reader = CaptureReader.Open(input, path, null, reading.Buffer); }
                    catch { input.Dispose(); throw; }
                    using (reader) Read(index, captureId, reader, null, ref started, ct, stream: true);
                }
                else
                {
                    long size = owner._sizes[index];
                    // A duplicate is found after reading (its content hash comes from the decoding pass). Only a file
                    // of the size of a stored capture or of an earlier file of this run is hashed first, so a copy
                    // of the same file is skipped without decoding it.
                    bool seen;
                    lock (owner._runHashes) seen = owner._runSizes.Contains(size);
                    int? existing = null;
                    if (seen && result.Sha256 == null) existing = HashFirst(index);
                    else if (result.Sha256 != null) existing = Existing(result.Sha256) ?? result.ExistingCaptureId;
                    if (existing != null && !owner._options.Force)
                    {
                        DropRow(captureId);
                        result.ExistingCaptureId = existing;
                        result.Bytes = size;
                        Interlocked.Add(ref owner.Progress._bytesRead, size);
                        owner.Finish(index, IngestOutcome.Skipped);
                        return;
                    }
                    result.ExistingCaptureId = existing;
                    // Unbuffered: the reader's 1 MiB buffer is the only copy between page cache and parser.
                    var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
                    CaptureReader reader;
                    try { reader = CaptureReader.Open(file, path, size, reading.Buffer); }
                    catch { file.Dispose(); throw; }
                    using (reader) Read(index, captureId, reader, existing, ref started, ct);
                }
            }
            catch (Exception ex) when (ex is InputException or CaptureFormatException or UnauthorizedAccessException or IOException)
            {
                string error = ex switch
                {
                    FileNotFoundException => $"{path}: no such file",
                    UnauthorizedAccessException => $"{path}: permission denied",
                    IOException io when io is not FileNotFoundException && ex is not CaptureFormatException => $"{path}: {PcapDhtDatabase.FirstLine(io.Message)}",
                    _ => ex.Message,
                };
                if (started)
                {
                    pipeline.Encoder.DropCaptureRows();
                    session.DiscardCapture(captureId, null);
                }
                else DropRow(captureId);
                owner.Finish(index, IngestOutcome.InputError, error, ex is IOException ? ex : null);
            }
            catch (System.Data.Common.DbException ex)
            {
                throw PcapDhtDatabase.Translate(ex, $"ingesting {path} failed");
            }
            finally
            {
                result.Elapsed = sw.Elapsed;
            }
        }

        private int? Existing(string sha)
        {
            lock (owner._runHashes)
                if (owner._runHashes.TryGetValue(sha, out int id)) return id;
            return owner._stored.ByHash.TryGetValue(sha, out int stored) ? stored : null;
        }

        /// <summary>
        /// The stored or earlier capture of this content; unless that is a duplicate to skip, claims the content for
        /// <paramref name="captureId"/> in the same step (two workers reading two copies at once store one).
        /// </summary>
        private int? ExistingOrClaim(string sha, int captureId)
        {
            lock (owner._runHashes)
            {
                int? existing = Existing(sha); // the same (reentrant) lock: looked up and claimed in one step
                if (existing == null || owner._options.Force) owner._runHashes[sha] = captureId;
                return existing;
            }
        }

        /// <summary>A file whose transaction was rolled back no longer holds its content: a later copy is stored.</summary>
        private void Unclaim(int index)
        {
            var r = owner._results[index];
            if (r.Sha256 == null || r.CaptureId is not int id) return;
            lock (owner._runHashes)
                if (owner._runHashes.TryGetValue(r.Sha256, out int claimed) && claimed == id) owner._runHashes.Remove(r.Sha256);
        }

        private void Read(int index, int captureId, CaptureReader reader, int? replaces, ref bool started, CancellationToken ct, bool stream = false)
        {
            var result = owner._results[index];
            result.Bytes = reader.Length ?? 0;
            result.CaptureId = captureId;
            // The reader checks too: a stream of blocks that are not packets yields no frame to count.
            reader.Cancellation = ct;
            session.StartCapture(captureId);
            pipeline.StartCapture(captureId);
            started = true;
            if (replaces is int old) session.ReplaceCapture(old);
            var progress = owner.Progress;
            long lastBytes = 0, lastFrames = 0, lastMessages = 0;
            int untilProgress = ProgressEvery;
            var stats = pipeline.Stats;
            long commitEvery = (long)(owner._options.StreamCommitInterval.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            long nextCommit = System.Diagnostics.Stopwatch.GetTimestamp() + commitEvery;
            var digest = reading.Digest;
            digest.Reset();
            while (reader.TryRead(out var frame))
            {
                digest.Add(frame);
                pipeline.Process(frame, out _);
                if (stream && System.Diagnostics.Stopwatch.GetTimestamp() >= nextCommit)
                {
                    Checkpoint(captureId);
                    nextCommit = System.Diagnostics.Stopwatch.GetTimestamp() + commitEvery;
                }
                if (--untilProgress == 0)
                {
                    untilProgress = ProgressEvery;
                    ct.ThrowIfCancellationRequested();
                    long b = reader.BytesRead, f = reader.FramesRead, m = stats.KrpcMessages;
                    Interlocked.Add(ref progress._bytesRead, b - lastBytes);
                    Interlocked.Add(ref progress._frames, f - lastFrames);
                    Interlocked.Add(ref progress._messages, m - lastMessages);
                    lastBytes = b; lastFrames = f; lastMessages = m;
                }
            }
            pipeline.EndOfInput();
            ct.ThrowIfCancellationRequested();
            Interlocked.Add(ref progress._bytesRead, reader.BytesRead - lastBytes);
            Interlocked.Add(ref progress._frames, reader.FramesRead - lastFrames);
            Interlocked.Add(ref progress._messages, stats.KrpcMessages - lastMessages);

            // The content hash covers the frames read (up to the damage of a partial file), whatever the container.
            string sha = digest.HexDigestAndReset();
            result.Sha256 = sha;
            int? existing = ExistingOrClaim(sha, captureId);
            if (existing != null && !owner._options.Force)
            {
                // Another file of the same frames (x.pcap.gz after x.pcap, a pcapng of the same packets) is known only
                // now: this file's rows leave the open transaction and its capture row goes; nothing of it is committed.
                pipeline.Encoder.DropCaptureRows();
                session.DiscardCapture(captureId, null);
                result.ExistingCaptureId = existing;
                result.Stats = new CaptureStats();
                owner.Finish(index, IngestOutcome.Skipped);
                return;
            }
            if (existing is int old2 && old2 != replaces)
            {
                result.ExistingCaptureId = old2;
                session.ReplaceCapture(old2);
            }
            var totals = pipeline.Totals();
            result.Totals = totals;
            result.Stats = totals.Stats;
            var damage = reader.Damage;
            if (damage != null)
            {
                result.Damage = damage;
                result.Error = $"{result.Path}: damaged at frame {damage.FrameNumber}, byte offset {damage.ByteOffset}: {damage.Reason} (the {totals.Stats.Frames} frames before it were stored)";
                session.CompleteCapture(captureId, totals, "partial", damage.ToString(), (damage.FrameNumber, damage.ByteOffset), result.Sha256);
            }
            else session.CompleteCapture(captureId, totals, "complete", null, null, result.Sha256);
            _uncommitted.Add(index);
            _rowsSinceCommit += totals.Stats.KrpcMessages;
            if (owner._sizes[index] is long size and >= 0)
                lock (owner._runHashes) owner._runSizes.Add(size);
        }
    }
}

/// <summary>An input problem (missing file, directory, ...) with a one-line message.</summary>
public sealed class InputException(string message) : Exception(message);

/// <summary>Hashes the bytes read through it: a file's sha256, the identity builds before content hashes stored.</summary>
internal sealed class HashingStream(Stream inner) : ForwardReadStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public string HexDigest() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    /// <summary>Reads (and hashes) what the consumer left unread.</summary>
    public void ReadToEnd()
    {
        var buffer = new byte[1 << 16];
        while (Read(buffer) > 0) { }
    }
    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        _hash.AppendData(buffer[..n]);
        return n;
    }
    protected override void Dispose(bool disposing)
    {
        if (disposing) { inner.Dispose(); _hash.Dispose(); }
        base.Dispose(disposing);
    }
}
