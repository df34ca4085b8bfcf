using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Pipeline;

namespace PcapDht.Store;

/// <summary>What a capture is read from: a file (with its sha256) or a live interface.</summary>
public sealed record CaptureSource(string Source, CaptureKind Kind, string? Sha256 = null, long? FileSize = null)
{
    public static CaptureSource Live(string iface) => new("live:" + iface, CaptureKind.Live);
}

/// <summary>
/// File: a capture file, committed with its final status. Live: <c>sniff</c>. Stream: standard input or a named
/// pipe, committed at a flush interval like live capture (a crash or Ctrl-C keeps what was committed: <c>interrupted</c>).
/// </summary>
public enum CaptureKind { File, Live, Stream }

public sealed class StoreSessionOptions
{
    /// <summary>
    /// Append chunks on the session's own threads (bounded by the encoder's chunk pools) so decoding and
    /// DuckDB's append/compression run on two cores. Off: the encoding thread appends (tests; low rates).
    /// </summary>
    public bool BackgroundWriter { get; init; } = true;

    /// <summary>
    /// With <see cref="BackgroundWriter"/>: node, node6 and peer rows go through a second connection and
    /// thread (one DuckDB connection appends on one thread at a time, and its thread was the bottleneck).
    /// Each commit is then two transactions, sightings first; see <see cref="StoreSession"/> for what a
    /// crash between the two leaves.
    /// </summary>
    public bool ParallelTables { get; init; } = true;

    /// <summary>Chunks (2048 rows each) per table the encoder may have queued for the store: bounds memory.</summary>
    public int ChunksPerTable { get; init; } = 32;
}

/// <summary>
/// Writes encoded rows into one PcapDht database: owns the writer connections (one per lane), their
/// appenders, threads and transactions, and the capture rows' lifecycle. One session serves every
/// capture of a run (all files of an <c>ingest</c> worker, or one <c>sniff</c>), so connections,
/// appenders, threads and the encoder's pools are made once, not per file.
/// <para>
/// Transactions: captures are first registered as <c>running</c> (committed, visible to readers, many in one
/// commit). Their rows and final status then go into the session's transaction, which
/// <see cref="Commit"/> ends: a capture's rows become visible together with its final status, and
/// several captures may share one commit. Each lane is a transaction of its own, the sightings lane
/// committed first: a crash between the two leaves those captures <c>running</c>, and the next open deletes
/// a running file capture's rows and marks it failed (a live capture keeps them: <c>interrupted</c>).
/// </para>
/// <para>
/// Attached (ingest): the database stays open and chunks are appended as they come. Detached (sniff): the
/// file is opened only by <see cref="FlushSpool"/>: chunks wait in a spool, and a flush opens the file,
/// appends them, commits with the capture row (still <c>running</c>, or final) and closes it, so readers use
/// the file in between.
/// </para>
/// </summary>
internal sealed class StoreSession : IChunkSink, IDisposable
{
    private readonly PcapDhtDatabase? _db;
    private readonly string _path;
    private readonly Lane _a, _b; // msg + malformed + endpoint_dim + capture rows; node + node6 + peer + node_dim (the same lane without ParallelTables)
    private readonly HashSet<int> _inTransaction = [];
    private readonly Dictionary<int, CaptureKind> _kinds = [];
    private bool _txOpen;
    private List<NativeChunk> _spool = [];
    private List<NativeChunk> _pending = [];
    private PcapDhtDatabase? _flushDb; // detached: the database while a flush has it open
    // Daily rollups: per capture with rows in the open transaction, the largest frame_no appended; per capture that
    // goes on after a commit (a stream, a live capture), the largest frame_no committed (and so rolled up).
    private readonly Dictionary<int, long> _appendedTo = [];
    private readonly Dictionary<int, long> _rolledUpTo = [];
    private readonly HashSet<int> _ending = []; // captures whose final row is in the open transaction

    private StoreSession(PcapDhtDatabase? db, string path, StoreSessionOptions options)
    {
        _db = db;
        _path = path;
        Options = options;
        bool two = options.ParallelTables && options.BackgroundWriter;
        _a = new Lane(two ? [StoreColumns.Msg, StoreColumns.Malformed, StoreColumns.EndpointDim] : StoreColumns.All, options.BackgroundWriter, "pcapdht-writer");
        _b = two ? new Lane([StoreColumns.Node, StoreColumns.Node6, StoreColumns.Peer, StoreColumns.NodeDim], true, "pcapdht-writer2") : _a;
    }

    public StoreSessionOptions Options { get; }

    /// <summary>A session on an open database (ingest): connections and appenders are made now and kept.</summary>
    public static StoreSession Attach(PcapDhtDatabase db, StoreSessionOptions? options = null)
    {
        var s = new StoreSession(db, db.Path, options ?? new StoreSessionOptions());
        try
        {
            s.Connect(db);
            db.StartWriteBehind();
            return s;
        }
        catch (Exception ex)
        {
            s.Dispose();
            throw PcapDhtDatabase.Translate(ex, $"cannot start writing to {db.Path}");
        }
    }

    /// <summary>A session that opens <paramref name="path"/> only to flush its spool (sniff).</summary>
    public static StoreSession Detached(string path, StoreSessionOptions? options = null) => new(null, path, options ?? new StoreSessionOptions());

    private void Connect(PcapDhtDatabase db)
    {
        _a.Connect(db);
        if (_b != _a) _b.Connect(db);
    }

    private void Disconnect()
    {
        _a.Disconnect();
        if (_b != _a) _b.Disconnect();
        _txOpen = false;
    }

    private Lane LaneOf(TableLayout table) => _a.Owns(table) ? _a : _b;

    /// <summary>Bytes of the chunks spooled for the next flush (detached).</summary>
    public long SpoolBytes { get; private set; }

    public void Submit(NativeChunk chunk)
    {
        if (_db == null)
        {
            _spool.Add(chunk);
            SpoolBytes += chunk.Pool.ChunkBytes;
            return;
        }
        var lane = LaneOf(chunk.Layout);
        if (lane.Error is { } error)
        {
            chunk.Release();
            throw Failed(error);
        }
        EnsureTransaction();
        NoteFrames(chunk);
        lane.Append(chunk);
    }

    /// <summary>
    /// Records which captures the chunk holds rows of and how far each got (before the chunk is appended: the lane
    /// releases it). A chunk holds captures one after the other (many small files share one), each in frame order.
    /// </summary>
    private void NoteFrames(NativeChunk chunk)
    {
        int n = chunk.Count;
        if (n == 0) return;
        int capture = chunk.Get<int>(Pipeline.StoreColumns.CaptureId, 0);
        for (int r = 1; r < n; r++)
        {
            int next = chunk.Get<int>(Pipeline.StoreColumns.CaptureId, r);
            if (next == capture) continue;
            NoteFrame(capture, chunk.Get<long>(Pipeline.StoreColumns.FrameNo, r - 1));
            capture = next;
        }
        NoteFrame(capture, chunk.Get<long>(Pipeline.StoreColumns.FrameNo, n - 1));
    }

    private void NoteFrame(int capture, long frame)
    {
        if (!_appendedTo.TryGetValue(capture, out long seen) || frame > seen) _appendedTo[capture] = frame;
    }

    private void EnsureTransaction()
    {
        if (_txOpen) return;
        _a.Begin();
        if (_b != _a) _b.Begin();
        _txOpen = true;
    }

    /// <summary>
    /// Records captures as <c>running</c> in one commit and returns their ids. Must come before the
    /// transaction that writes their rows (it would not see the rows otherwise): call it between commits.
    /// </summary>
    public int[] RegisterCaptures(IReadOnlyList<CaptureSource> sources)
    {
        if (_txOpen) throw new InvalidOperationException("register captures between two commits");
        var db = _db ?? throw new InvalidOperationException("a detached session registers its capture with RegisterLiveCapture");
        var ids = db.InsertRunningCaptures(sources);
        for (int i = 0; i < ids.Length; i++) _kinds[ids[i]] = sources[i].Kind;
        return ids;
    }

    /// <summary>Detached: records the live capture as <c>running</c> with the sniffing process (a short open of the file).</summary>
    public int RegisterLiveCapture(string iface, int pid, string host, TimeSpan lockWait)
    {
        using var db = PcapDhtDatabase.Open(_path, lockWait);
        StoreCheck.VerifyLength(db.Connection, _path); // never append to a file that was cut short
        int id = db.InsertRunningCaptures([CaptureSource.Live(iface)])[0];
        db.SetLiveProcess(id, pid, host);
        _kinds[id] = CaptureKind.Live;
        return id;
    }

    /// <summary>The capture's rows start coming (so a rollback knows to mark it failed).</summary>
    public void StartCapture(int captureId) => _inTransaction.Add(captureId);

    /// <summary>
    /// Deletes a stored capture (its rows of every table and its row) in this transaction: <c>ingest --force</c>.
    /// All of it on the messages lane, which commits last: a crash before that commit keeps the old capture
    /// whole (the new one is then a <c>running</c> capture the next open removes).
    /// </summary>
    public void ReplaceCapture(int oldCaptureId)
    {
        EnsureTransaction();
        string id = oldCaptureId.ToString(CultureInfo.InvariantCulture);
        _a.Run(c => Execute(c, PcapDhtDatabase.DeleteRowsSql(id) + $"DELETE FROM pcapdht_store.capture WHERE capture_id = {id};"));
    }

    /// <summary>
    /// Removes the rows of a capture already submitted in this transaction (the encoder dropped those it
    /// still held), then deletes its capture row (<paramref name="failure"/> null: a duplicate found after
    /// reading) or marks it failed with that one-line reason, in this transaction.
    /// </summary>
    public void DiscardCapture(int captureId, string? failure)
    {
        EnsureTransaction();
        string id = captureId.ToString(CultureInfo.InvariantCulture);
        _appendedTo.Remove(captureId);
        _rolledUpTo.Remove(captureId);
        if (_b != _a) _b.Run(c => { _b.FlushAppenders(); Execute(c, DeleteRowsSql(_b, id)); });
        _a.Run(c =>
        {
            _a.FlushAppenders();
            Execute(c, DeleteRowsSql(_a, id));
            if (failure == null) Execute(c, $"DELETE FROM pcapdht_store.capture WHERE capture_id = {id}");
            else UpdateCaptureRows(c, [new CaptureRow(captureId, CaptureTotals.Empty, "failed", failure, null, null)]);
        });
    }

    /// <summary>
    /// The capture's final row (<c>complete</c>, <c>partial</c>, ...), committed with its rows by the next
    /// <see cref="Commit"/>. The rows of one commit are written by one statement at the commit: an UPDATE per
    /// capture cost ~25 ms of the messages lane's thread each (100-file benchmark, loaded machine).
    /// </summary>
    public void CompleteCapture(int captureId, CaptureTotals totals, string status, string? error = null,
        (long? Frame, long? Offset)? damage = null, string? sha256 = null)
    {
        EnsureTransaction();
        _captureRows.Add(new CaptureRow(captureId, totals, status, error, damage, sha256));
        if (status != "running") _ending.Add(captureId);
    }

    private readonly record struct CaptureRow(int CaptureId, CaptureTotals Totals, string Status, string? Error,
        (long? Frame, long? Offset)? Damage, string? Sha256);

    private List<CaptureRow> _captureRows = [];

    /// <summary>Queues the capture rows completed since the last commit as one statement on the messages lane.</summary>
    private void WriteCaptureRows()
    {
        if (_captureRows.Count == 0) return;
        var rows = _captureRows;
        _captureRows = [];
        _a.Run(c => UpdateCaptureRows(c, rows));
    }

    /// <summary>
    /// Commits everything submitted so far (the encoder must have submitted its chunks) together with the
    /// capture rows updated since the last commit. Sightings lane first, then messages and capture rows.
    /// </summary>
    public void Commit()
    {
        if (!_txOpen)
        {
            _inTransaction.Clear();
            return;
        }
        bool sightingsCommitted = false;
        try
        {
            WriteCaptureRows();
            RollUp();
            _b.Fence();
            if (_b != _a) _a.Fence();
            if ((_a.Error ?? _b.Error) is { } error) throw Failed(error);
            _a.FlushAppenders();
            if (_b != _a)
            {
                _b.FlushAppenders();
                _b.Commit();
                sightingsCommitted = true;
            }
            _a.Commit();
            _txOpen = false;
            _inTransaction.Clear();
            RolledUp();
        }
        catch (Exception ex)
        {
            var se = ex as StoreException ?? PcapDhtDatabase.Translate(ex, $"writing to {_path} failed");
            Rollback(CaptureError(se), sightingsCommitted);
            throw se;
        }
    }

    /// <summary>
    /// Queues, on each lane after its appends, the daily rollups of the rows this transaction added (its own part:
    /// the messages lane aggregates msg and malformed, the sightings lane node, node6 and peer, in parallel), so they
    /// commit or roll back with those rows. A capture that went on from an earlier commit is aggregated from its
    /// first frame after that commit: its frame numbers only grow, and the predicate on frame_no lets DuckDB skip
    /// the row groups committed before (zone maps).
    /// </summary>
    private void RollUp()
    {
        if (_appendedTo.Count == 0) return;
        var fresh = new List<int>();
        var sql = new StringBuilder();
        foreach (int id in _appendedTo.Keys)
        {
            if (_rolledUpTo.TryGetValue(id, out long after))
                sql.Append(sql.Length == 0 ? "" : " OR ").Append('(').Append(RollupSchema.CaptureFrames(id, after)).Append(')');
            else fresh.Add(id);
        }
        if (fresh.Count > 0)
            sql.Append(sql.Length == 0 ? "" : " OR ").Append("capture_id IN (").AppendJoin(", ", fresh).Append(')');
        string where = sql.Length == 0 ? "false" : "(" + sql + ")";
        if (_b == _a)
        {
            _a.Run(c => { _a.FlushAppenders(); RollupSchema.InsertAllFromCommit(c, where); });
            return;
        }
        _a.Run(c => { _a.FlushAppenders(); RollupSchema.InsertMessagesFromCommit(c, where); });
        _b.Run(c => { _b.FlushAppenders(); RollupSchema.InsertSightingsFromCommit(c, where); });
    }

    /// <summary>After a commit: captures that go on are rolled up to the frames just committed; ended ones are forgotten.</summary>
    private void RolledUp()
    {
        foreach (var (id, frame) in _appendedTo)
            if (!_ending.Contains(id)) _rolledUpTo[id] = frame;
        foreach (int id in _ending) _rolledUpTo.Remove(id);
        _appendedTo.Clear();
        _ending.Clear();
    }

    /// <summary>
    /// Commits what is encoded so far while the capture stays <c>running</c> with up-to-date counters
    /// (a live flush, or a long stream's periodic commit): readers see its rows so far, and a crash keeps them
    /// for a live capture.
    /// </summary>
    public void Checkpoint(int captureId, CaptureTotals totals)
    {
        CompleteCapture(captureId, totals, "running");
        Commit();
    }

    /// <summary>The <c>error</c> a capture records for a failure of the store: says "disk full" when that is what it was.</summary>
    public static string CaptureError(StoreException error) =>
        error is DiskFullException ? "disk full: no space left on the device holding the database" : error.Message;

    /// <summary>
    /// Rolls back the open transaction and marks every capture written in it <paramref name="status"/>
    /// (<c>failed</c>, or <c>interrupted</c> when the user stopped it) with <paramref name="error"/>, deleting rows a
    /// committed sightings lane left, for file captures.
    /// </summary>
    public void Rollback(string error, bool sightingsCommitted = false, string status = "failed")
    {
        _captureRows.Clear();
        // The rows were not stored: what was rolled up before stays the boundary (frame numbers only grow).
        _appendedTo.Clear();
        _ending.Clear();
        _a.Abort();
        if (_b != _a) _b.Abort();
        _txOpen = false;
        var db = _db ?? _flushDb;
        foreach (int id in _inTransaction)
        {
            var kind = _kinds.GetValueOrDefault(id);
            // A stream keeps what its earlier commits stored, as a live capture whose process died does.
            if (kind == CaptureKind.Stream) db?.MarkAborted(id, "interrupted", error);
            else db?.MarkAborted(id, status, error, deleteRows: sightingsCommitted && kind == CaptureKind.File);
        }
        _inTransaction.Clear();
    }

    /// <summary>Detached: moves the spool to the flush (call when no flush runs); the encoder must have submitted its chunks.</summary>
    public void CutSpool()
    {
        (_pending, _spool) = (_spool, _pending);
        SpoolBytes = 0;
    }

    /// <summary>
    /// Detached: opens the file (waiting up to <paramref name="lockWait"/> for other processes' locks), appends
    /// the chunks <see cref="CutSpool"/> set aside, writes the capture row (<paramref name="status"/>, totals and
    /// libpcap's counters), commits and closes the file again.
    /// </summary>
    /// <param name="afterCommit">Runs after the commit while the file is still open (<c>sniff --keep-detail</c> prunes there).</param>
    public void FlushSpool(int captureId, CaptureTotals totals, string status, string? error, (long Received, long Dropped, long IfDropped) pcap, TimeSpan lockWait,
        Action<PcapDhtDatabase>? afterCommit = null)
    {
        int appended = 0;
        try
        {
            using var db = PcapDhtDatabase.Open(_path, lockWait);
            _flushDb = db;
            try
            {
                Connect(db);
                EnsureTransaction();
                StartCapture(captureId);
                for (; appended < _pending.Count; appended++)
                {
                    NoteFrames(_pending[appended]);
                    LaneOf(_pending[appended].Layout).Append(_pending[appended]);
                }
                CompleteCapture(captureId, totals, status, error);
                _a.Run(c => Execute(c, "UPDATE pcapdht_store.capture SET pcap_received = $r, pcap_dropped = $d, if_dropped = $i WHERE capture_id = $id",
                    ("r", pcap.Received), ("d", pcap.Dropped), ("i", pcap.IfDropped), ("id", captureId)));
                Commit();
            }
            finally
            {
                Disconnect();
                _flushDb = null;
            }
            afterCommit?.Invoke(db);
        }
        catch (Exception ex) when (ex is not StoreException)
        {
            throw PcapDhtDatabase.Translate(ex, $"writing to {_path} failed");
        }
        finally
        {
            for (int i = appended; i < _pending.Count; i++) _pending[i].Release();
            _pending.Clear();
        }
    }

    /// <summary>The lane's detail rows of a capture and its part of the capture's rollups (two lanes never delete the same row).</summary>
    private string DeleteRowsSql(Lane lane, string id)
    {
        var sb = new StringBuilder();
        foreach (var t in lane.Tables) sb.Append($"DELETE FROM pcapdht_store.{t.Table} WHERE capture_id = {id}; ");
        return sb.Append(RollupSchema.DeleteSql(id, messages: lane == _a, sightings: lane == _b)).ToString();
    }

    private static void Execute(DuckDBConnection c, string sql, params (string Name, object Value)[] parameters)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters) cmd.Parameters.Add(new DuckDBParameter(name, value));
        cmd.ExecuteNonQuery();
    }

    /// <summary>The capture row's columns an update sets, in the order of the VALUES rows (capture_id first).</summary>
    private static readonly string[] UpdateColumns = BuildUpdateColumns();

    private static string[] BuildUpdateColumns()
    {
        var columns = new List<string> { "capture_id", "status", "frames", "udp_datagrams", "krpc_messages", "queries", "responses", "errors",
            "malformed_krpc", "not_krpc", "node_sightings", "peer_sightings", "first_ts_ns", "last_ts_ns", "error", "damage_frame",
            "damage_offset", "sha256", "unsupported_frames", "link_types" };
        foreach (var n in NetCounterColumns.All) columns.Add(n.Column);
        return [.. columns];
    }

    private static readonly string UpdateSet = BuildUpdateSet();

    private static string BuildUpdateSet()
    {
        var sb = new StringBuilder();
        foreach (var column in UpdateColumns.AsSpan(1))
        {
            sb.Append(sb.Length == 0 ? "" : ", ");
            sb.Append(column == "sha256" ? "sha256 = coalesce(v.sha256, c.sha256)" : $"{column} = v.{column}");
        }
        return sb.Append(", ingested_at = CASE WHEN v.status = 'running' THEN NULL ELSE now() END").ToString();
    }

    /// <summary>Writes the final (or checkpoint) values of several capture rows in one UPDATE ... FROM (VALUES ...).</summary>
    private static void UpdateCaptureRows(DuckDBConnection c, IReadOnlyList<CaptureRow> rows)
    {
        using var cmd = c.CreateCommand();
        var p = cmd.Parameters;
        var sql = new StringBuilder("UPDATE pcapdht_store.capture AS c SET ").Append(UpdateSet).Append(" FROM (VALUES ");
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var s = row.Totals.Stats;
            bool any = s.FirstTimestampNs != long.MaxValue;
            object?[] values =
            [
                row.CaptureId, row.Status, s.Frames, s.UdpDatagrams, s.KrpcMessages, s.Queries, s.Responses, s.Errors,
                s.Malformed, s.NotKrpc, s.NodeSightings, s.PeerSightings, any ? s.FirstTimestampNs : null, any ? s.LastTimestampNs : null,
                row.Error, row.Damage?.Frame, row.Damage?.Offset, row.Sha256, row.Totals.UnsupportedFrames, row.Totals.LinkTypes,
            ];
            sql.Append(i == 0 ? "(" : ", (");
            for (int k = 0; k < UpdateColumns.Length; k++)
            {
                object? value = k < values.Length ? values[k] : row.Totals.Net[k - values.Length];
                string name = string.Create(CultureInfo.InvariantCulture, $"p{i}_{k}");
                // Typed, so a column that is NULL in every row still has the column's type.
                sql.Append(k == 0 ? "$" : ", $").Append(name).Append(ParameterType(k));
                p.Add(new DuckDBParameter(name, value ?? DBNull.Value));
            }
            sql.Append(')');
        }
        sql.Append(") AS v(").AppendJoin(", ", UpdateColumns).Append(") WHERE c.capture_id = v.capture_id");
        cmd.CommandText = sql.ToString();
        cmd.ExecuteNonQuery();
    }

    private static string ParameterType(int column) => UpdateColumns[column] switch
    {
        "capture_id" => "::INTEGER",
        "status" or "error" or "sha256" or "link_types" => "::VARCHAR",
        _ => "::BIGINT",
    };

    private StoreException Failed(Exception error) => PcapDhtDatabase.Translate(error, $"writing to {_path} failed");

    public void Dispose()
    {
        if (_txOpen) Rollback("aborted before the capture was completed");
        _a.Dispose();
        if (_b != _a) _b.Dispose();
        foreach (var c in _spool) c.Release();
        foreach (var c in _pending) c.Release();
        _spool.Clear();
        _pending.Clear();
    }

    /// <summary>
    /// One writer connection, its appenders and transaction, and (with a background writer) the thread that
    /// appends to it. Work runs in submission order: chunks, statements (<see cref="Run"/>) and fences.
    /// </summary>
    private sealed class Lane : IDisposable
    {
        private readonly Dictionary<TableLayout, TableAppender> _appenders = [];
        private readonly BlockingCollection<object>? _queue;
        private readonly Thread? _thread;
        private DuckDBTransaction? _transaction;

        public Lane(TableLayout[] tables, bool threaded, string threadName)
        {
            Tables = tables;
            if (!threaded) return;
            _queue = [];
            _thread = new Thread(Loop) { Name = threadName, IsBackground = true };
            _thread.Start();
        }

        public TableLayout[] Tables { get; }
        public DuckDBConnection? Connection { get; private set; }
        public volatile Exception? Error;

        public bool Owns(TableLayout table) => Array.IndexOf(Tables, table) >= 0;

        public void Connect(PcapDhtDatabase db)
        {
            Connection = db.OpenWriterConnection();
            foreach (var t in Tables) _appenders[t] = new TableAppender(Connection, t);
        }

        public void Disconnect()
        {
            foreach (var a in _appenders.Values) a.Dispose();
            _appenders.Clear();
            _transaction?.Dispose();
            _transaction = null;
            Connection?.Dispose();
            Connection = null;
            Error = null;
        }

        public void Begin() => _transaction = Connection!.BeginTransaction();

        public void Commit()
        {
            _transaction!.Commit();
            _transaction.Dispose();
            _transaction = null;
        }

        /// <summary>Drops what is queued (chunks go back to their pools), waits, and rolls back.</summary>
        public void Abort()
        {
            Error ??= new OperationCanceledException();
            Fence();
            // Appended but unflushed rows would otherwise be flushed later into whatever transaction is current.
            foreach (var a in _appenders.Values) a.Clear();
            try { _transaction?.Rollback(); } catch (Exception) { /* the connection may be gone (disk full); the rollback happens anyway */ }
            _transaction?.Dispose();
            _transaction = null;
            Error = null;
        }

        public void Append(NativeChunk chunk)
        {
            if (_queue != null) _queue.Add(chunk);
            else
            {
                AppendNow(chunk);
                if (Error is { } e) throw PcapDhtDatabase.Translate(e, "writing failed");
            }
        }

        /// <summary>Runs a statement on this lane's connection after the work queued before it.</summary>
        public void Run(Action<DuckDBConnection> action)
        {
            if (_queue != null) _queue.Add(action);
            else
            {
                RunNow(action);
                if (Error is { } e) throw PcapDhtDatabase.Translate(e, "writing failed");
            }
        }

        /// <summary>Waits until everything queued before it is done.</summary>
        public void Fence()
        {
            if (_queue == null) return;
            using var done = new SemaphoreSlim(0);
            _queue.Add(done);
            done.Wait();
        }

        public void FlushAppenders()
        {
            foreach (var a in _appenders.Values) a.Flush();
        }

        private void AppendNow(NativeChunk chunk)
        {
            try
            {
                if (Error == null) _appenders[chunk.Layout].Append(chunk);
            }
            catch (Exception ex)
            {
                Error = ex;
            }
            finally
            {
                chunk.Release();
            }
        }

        private void RunNow(Action<DuckDBConnection> action)
        {
            if (Error != null) return;
            try
            {
                action(Connection!);
            }
            catch (Exception ex)
            {
                Error = ex;
            }
        }

        private void Loop()
        {
            foreach (var item in _queue!.GetConsumingEnumerable())
            {
                switch (item)
                {
                    case NativeChunk chunk: AppendNow(chunk); break;
                    case Action<DuckDBConnection> action: RunNow(action); break;
                    case SemaphoreSlim fence: fence.Release(); break;
                }
            }
        }

        public void Dispose()
        {
            if (_queue != null)
            {
                _queue.CompleteAdding();
                _thread!.Join();
                _queue.Dispose();
            }
            Disconnect();
        }
    }
}
