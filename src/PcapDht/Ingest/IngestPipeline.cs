using System.Security.Cryptography;
using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Store;

namespace PcapDht.Ingest;

public sealed class IngestOptions
{
    /// <summary>Re-ingest files whose sha256 is already stored, replacing their rows in one transaction.</summary>
    public bool Force { get; init; }

    /// <summary>Files ingested at the same time (each on its own connection and transaction).</summary>
    public int MaxParallelFiles { get; init; } = Environment.ProcessorCount;

    /// <summary>Called once per file when it is done (from the worker thread).</summary>
    public IProgress<IngestFileResult>? FileDone { get; init; }

    public CaptureWriterOptions? Writer { get; init; }
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
    public NetCounters? Net { get; set; }
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
/// file → frames (CaptureReader) → UDP datagrams (PacketDecoder) → KRPC (KrpcDecoder) → DuckDB
/// (CaptureWriter). Files run in parallel; within a file, decoding runs on the calling thread and
/// DuckDB appends on the writer's thread, with a bounded queue of chunks between them.
/// </summary>
public sealed class IngestPipeline
{
    private const int ProgressEvery = 4096;
    private readonly PcapDhtDatabase _db;
    private readonly IngestOptions _options;

    public IngestPipeline(PcapDhtDatabase db, IngestOptions? options = null)
    {
        _db = db;
        _options = options ?? new IngestOptions();
    }

    public IngestProgress Progress { get; } = new();

    public IReadOnlyList<IngestFileResult> IngestFiles(IReadOnlyList<string> paths, CancellationToken cancellationToken = default)
    {
        Progress.TotalFiles = paths.Count;
        long total = 0;
        foreach (var p in paths)
            if (p != "-" && File.Exists(p)) total += new FileInfo(p).Length;
        Progress.TotalBytes = total;
        var results = new IngestFileResult[paths.Count];
        // Same content twice in one run: the second must see the first's row, so identical
        // hashes are not ingested concurrently (the sha256 lock below serializes them).
        Parallel.For(0, paths.Count, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _options.MaxParallelFiles) },
            i => results[i] = IngestFile(paths[i], cancellationToken));
        return results;
    }

    private readonly Dictionary<long, object> _sizeLocks = [];

    // Same content has the same size: files of one size are ingested one after the other, so a
    // second copy in the same run sees the first one's row (whether its hash was known up front or not).
    private object SizeLock(long size)
    {
        lock (_sizeLocks)
        {
            if (!_sizeLocks.TryGetValue(size, out var l)) _sizeLocks[size] = l = new object();
            return l;
        }
    }

    public IngestFileResult IngestFile(string path, CancellationToken cancellationToken = default)
    {
        var result = new IngestFileResult { Path = path };
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            // After Ctrl-C no file starts: it would only record a failed capture.
            cancellationToken.ThrowIfCancellationRequested();
            if (path == "-")
                IngestStdin(result, cancellationToken);
            else
            {
                if (Directory.Exists(path)) throw new InputException($"{path} is a directory");
                if (!File.Exists(path)) throw new InputException($"{path}: no such file");
                long size = new FileInfo(path).Length;
                lock (SizeLock(size))
                {
                    // Hashing first costs a second pass over the file (0.35 CPU-s for 455 MB); it is
                    // only needed to skip a duplicate, and a duplicate has the size of a stored capture.
                    if (HasStoredCaptureOfSize(size))
                    {
                        string sha = Sha256Of(path);
                        result.Sha256 = sha;
                        IngestHashed(result, path, sha, cancellationToken);
                    }
                    else
                        IngestHashingWhileReading(result, path, cancellationToken);
                }
            }
        }
        catch (InputException ex) { result.Outcome = IngestOutcome.InputError; result.Error = ex.Message; }
        catch (CaptureFormatException ex) { result.Outcome = IngestOutcome.InputError; result.Error = ex.Message; }
        catch (FileNotFoundException) { result.Outcome = IngestOutcome.InputError; result.Error = $"{path}: no such file"; }
        catch (UnauthorizedAccessException) { result.Outcome = IngestOutcome.InputError; result.Error = $"{path}: permission denied"; }
        catch (OperationCanceledException) { result.Outcome = IngestOutcome.Interrupted; result.Error = $"{path}: interrupted, nothing of this file was stored"; }
        catch (StoreException ex) { result.Outcome = IngestOutcome.DatabaseError; result.Error = ex.Message; result.Exception = ex; }
        catch (IOException ex) when (result.CaptureId == null)
        {
            result.Outcome = IngestOutcome.InputError; result.Error = $"{path}: {PcapDhtDatabase.FirstLine(ex.Message)}"; result.Exception = ex;
        }
        catch (Exception ex)
        {
            var se = PcapDhtDatabase.Translate(ex, $"ingesting {path} failed");
            result.Outcome = IngestOutcome.DatabaseError; result.Error = se.Message; result.Exception = ex;
        }
        result.Elapsed = sw.Elapsed;
        Interlocked.Increment(ref Progress._filesDone);
        _options.FileDone?.Report(result);
        return result;
    }

    private void IngestHashed(IngestFileResult result, string path, string sha, CancellationToken ct)
    {
        var existing = _db.FindBySha256(sha);
        if (existing != null && !_options.Force)
        {
            result.Outcome = IngestOutcome.Skipped;
            result.ExistingCaptureId = existing.CaptureId;
            result.Bytes = new FileInfo(path).Length;
            Interlocked.Add(ref Progress._bytesRead, result.Bytes);
            return;
        }
        result.ExistingCaptureId = existing?.CaptureId;
        using var reader = CaptureReader.Open(path);
        result.Bytes = reader.Length ?? 0;
        Run(result, reader, new CaptureSource(Path.GetFullPath(path), CaptureKind.File, sha, reader.Length), existing?.CaptureId, ct);
    }

    private void IngestHashingWhileReading(IngestFileResult result, string path, CancellationToken ct)
    {
        // Unbuffered: the reader's own 1 MiB buffer is the only copy between page cache and parser.
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        var hashing = new HashingStream(file);
        long length = file.Length;
        CaptureReader reader;
        try
        {
            reader = CaptureReader.Open(hashing, path, length);
        }
        catch
        {
            hashing.Dispose();
            throw;
        }
        using (reader)
        {
            result.Bytes = length;
            Run(result, reader, new CaptureSource(Path.GetFullPath(path), CaptureKind.File, null, length), null, ct, hashing);
        }
    }

    private bool HasStoredCaptureOfSize(long size)
    {
        using var connection = _db.OpenConnection();
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT 1 FROM pcapdht_store.capture WHERE file_size = $size AND status IN ('complete', 'partial') LIMIT 1";
        cmd.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("size", size));
        return cmd.ExecuteScalar() != null;
    }

    private void IngestStdin(IngestFileResult result, CancellationToken ct)
    {
        // Polls while the pipe is idle, so Ctrl-C ends `tcpdump -w - | pcapdht ingest -` on a quiet link too.
        using var hashing = new HashingStream(new StandardInputStream(ct));
        using var reader = CaptureReader.Open(hashing, "-");
        // The hash is known only at the end: Run checks for a duplicate before committing.
        Run(result, reader, new CaptureSource("-", CaptureKind.File), null, ct, hashing);
    }

    private void Run(IngestFileResult result, CaptureReader reader, CaptureSource source, int? replaces, CancellationToken ct,
        HashingStream? hashAtEnd = null)
    {
        var writerOptions = _options.Writer ?? new CaptureWriterOptions();
        writerOptions = new CaptureWriterOptions
        {
            BackgroundWriter = writerOptions.BackgroundWriter,
            ChunksPerTable = writerOptions.ChunksPerTable,
            ReplacesCaptureId = replaces,
        };
        // The reader checks too: a stream of blocks that are not packets yields no frame to count.
        reader.Cancellation = ct;
        using var writer = CaptureWriter.Begin(_db, source, writerOptions);
        result.CaptureId = writer.CaptureId;
        var decoder = new PacketDecoder();
        var stats = writer.Stats;
        long lastBytes = 0, lastFrames = 0, lastMessages = 0;
        int untilProgress = ProgressEvery;
        while (reader.TryRead(out var frame))
        {
            FrameStep.Process(decoder, writer, frame, out _);
            if (--untilProgress == 0)
            {
                untilProgress = ProgressEvery;
                ct.ThrowIfCancellationRequested();
                long b = reader.BytesRead, f = reader.FramesRead, m = stats.KrpcMessages;
                Interlocked.Add(ref Progress._bytesRead, b - lastBytes);
                Interlocked.Add(ref Progress._frames, f - lastFrames);
                Interlocked.Add(ref Progress._messages, m - lastMessages);
                lastBytes = b; lastFrames = f; lastMessages = m;
            }
        }
        decoder.Finish();
        ct.ThrowIfCancellationRequested();
        Interlocked.Add(ref Progress._bytesRead, reader.BytesRead - lastBytes);
        Interlocked.Add(ref Progress._frames, reader.FramesRead - lastFrames);
        Interlocked.Add(ref Progress._messages, stats.KrpcMessages - lastMessages);

        stats.Frames = decoder.Counters.Frames;
        stats.UdpDatagrams = decoder.Counters.UdpDatagrams;
        result.Net = decoder.Counters;
        result.Stats = stats;
        if (hashAtEnd != null)
        {
            // Damage stops the reader early; the stored hash is still that of the whole input.
            hashAtEnd.ReadToEnd();
            result.Sha256 = hashAtEnd.HexDigest();
            var existing = _db.FindBySha256(result.Sha256);
            if (existing != null && !_options.Force)
            {
                writer.Fail("duplicate of capture " + existing.CaptureId);
                _db.DeleteCapture(writer.CaptureId);
                result.Outcome = IngestOutcome.Skipped;
                result.ExistingCaptureId = existing.CaptureId;
                result.CaptureId = null;
                return;
            }
            writer.SetSha256(result.Sha256, replaces: existing?.CaptureId);
        }
        var damage = reader.Damage;
        if (damage != null)
        {
            result.Damage = damage;
            result.Error = $"{source.Source}: damaged at frame {damage.FrameNumber}, byte offset {damage.ByteOffset}: {damage.Reason} (the {stats.Frames} frames before it were stored)";
            writer.Complete(damage.ToString(), damage.FrameNumber, damage.ByteOffset);
            result.Outcome = IngestOutcome.Partial;
        }
        else
        {
            writer.Complete();
            result.Outcome = IngestOutcome.Ingested;
        }
        result.Stats = stats.Clone();
    }

    private static string Sha256Of(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(f));
    }
}

/// <summary>An input problem (missing file, directory, ...) with a one-line message.</summary>
public sealed class InputException(string message) : Exception(message);

/// <summary>Hashes what is read through it (stdin cannot be read twice).</summary>
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
