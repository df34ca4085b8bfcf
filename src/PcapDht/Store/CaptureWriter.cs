using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Unicode;
using DuckDB.NET.Data;
using DuckDB.NET.Native;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Store;

/// <summary>What a <see cref="CaptureWriter"/> writes for: a file (with its sha256) or a live interface.</summary>
public sealed record CaptureSource(string Source, CaptureKind Kind, string? Sha256 = null, long? FileSize = null)
{
    public static CaptureSource Live(string iface) => new("live:" + iface, CaptureKind.Live);
}

public enum CaptureKind { File, Live }

public sealed class CaptureWriterOptions
{
    /// <summary>
    /// Append chunks on a dedicated thread (bounded queue) so decoding and DuckDB's append/compression
    /// run on two cores. Off: the caller's thread appends (simplest for low rates, e.g. live capture).
    /// </summary>
    public bool BackgroundWriter { get; init; } = true;

    /// <summary>
    /// Chunks (2048 rows each) in flight per table; bounds memory (32 msg chunks are ~6 MB). Enough to keep
    /// decoding while the writer compresses a full row group (measured: 8 -> 32 took the 2M-packet ingest from 8.8 to 6.7 s).
    /// </summary>
    public int ChunksPerTable { get; init; } = 32;

    /// <summary>
    /// With <see cref="BackgroundWriter"/>: node, node6 and peer rows go through a second connection and
    /// writer thread (one DuckDB connection appends on one thread at a time, and its thread was the
    /// bottleneck). Each commit is then two transactions, sightings first. A file capture that crashes
    /// between the two is left <c>running</c>, and the next open deletes its rows; a live capture keeps
    /// that last interval's sightings (their messages are lost with the interval).
    /// </summary>
    public bool ParallelTables { get; init; } = true;

    /// <summary>Capture id whose rows are deleted in the same transaction (ingest --force).</summary>
    public int? ReplacesCaptureId { get; init; }
}

/// <summary>A live capture between two flushes: committed, <c>running</c>, its database closed.</summary>
public sealed class DetachedCapture
{
    internal DetachedCapture(int captureId, CaptureSource source, CaptureStats stats, TransactionMatcher matcher)
    {
        CaptureId = captureId;
        Source = source;
        Stats = stats;
        Matcher = matcher;
    }

    public int CaptureId { get; }
    public CaptureSource Source { get; }
    public CaptureStats Stats { get; }
    internal TransactionMatcher Matcher { get; }
}

/// <summary>Running totals of one capture; the pipeline adds the network-level counters.</summary>
public sealed class CaptureStats
{
    public long Frames;
    public long UdpDatagrams;
    public long NotKrpc;
    public long Queries, Responses, Errors;
    public long Malformed;
    public long NodeSightings, PeerSightings;
    public long MatchedResponses;
    public long FirstTimestampNs = long.MaxValue, LastTimestampNs = long.MinValue;
    public long KrpcMessages => Queries + Responses + Errors;

    public CaptureStats Clone() => (CaptureStats)MemberwiseClone();
}

/// <summary>
/// Writes one capture into the store: messages, node and peer sightings, malformed KRPC. Rows go into
/// native DuckDB data chunks (fixed-width numeric columns, see docs/schema.md) appended in bulk.
/// File ingest: one transaction for the whole capture, committed by <see cref="Complete"/> together with
/// the capture's final status, so a crash leaves no rows. Live capture: call <see cref="Commit"/>
/// every flush interval; rows committed so far survive a crash (the next open marks the capture interrupted).
/// Use from one thread; with <see cref="CaptureWriterOptions.BackgroundWriter"/> a second, internal
/// thread does the appending.
/// </summary>
public sealed class CaptureWriter : IDisposable
{
    // Leaf columns in table order (see StoreSchema.Tables: STRUCT children count as leaves).
    internal static readonly TableLayout MsgLayout = new("msg",
        (DuckDBType.Integer, false), (DuckDBType.BigInt, false), (DuckDBType.TimestampTz, false),
        (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), // src, dst
        (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, true), // ports, info, sizes, counts, tx
        (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, false), // id, key, lo
        (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, true), // version, token, ext
        (DuckDBType.BigInt, true), (DuckDBType.Varchar, true));

    internal static readonly TableLayout NodeLayout = new("node",
        (DuckDBType.Integer, false), (DuckDBType.BigInt, false), (DuckDBType.TimestampTz, false),
        (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedInteger, false));

    internal static readonly TableLayout Node6Layout = new("node6",
        (DuckDBType.Integer, false), (DuckDBType.BigInt, false), (DuckDBType.TimestampTz, false),
        (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedSmallInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedInteger, false));

    internal static readonly TableLayout PeerLayout = new("peer",
        (DuckDBType.Integer, false), (DuckDBType.BigInt, false), (DuckDBType.TimestampTz, false),
        (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedBigInt, true), (DuckDBType.UnsignedInteger, true),
        (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedBigInt, false), (DuckDBType.UnsignedSmallInt, false), (DuckDBType.UnsignedTinyInt, false));

    // msg leaf columns.
    private const int MCapture = 0, MFrame = 1, MTs = 2, MSrc = 3, MDst = 5, MPorts = 7, MInfo = 8, MSizes = 9, MCounts = 10,
        MTx = 11, MId = 12, MKey = 14, MLo = 16, MVersion = 17, MToken = 18, MExtIp = 20, MRtt = 22, MExtra = 23;

    // d.info flag bits (docs/schema.md).
    private const int ReadOnlyBit = 48, KeyIsTargetBit = 49, KeyIsInfoHashBit = 50, HasPortBit = 51,
        HasImpliedPortBit = 52, ImpliedPortBit = 53, HasExtPortBit = 54;

    internal static readonly TableLayout MalformedLayout = new("malformed",
        (DuckDBType.Integer, false), (DuckDBType.BigInt, false), (DuckDBType.TimestampTz, false), (DuckDBType.UnsignedSmallInt, false),
        (DuckDBType.UnsignedHugeInt, false), (DuckDBType.UnsignedSmallInt, false), (DuckDBType.UnsignedHugeInt, false), (DuckDBType.UnsignedSmallInt, false),
        (DuckDBType.Varchar, false), (DuckDBType.Integer, false), (DuckDBType.Blob, false));

    // Peer sighting sources, as stored (the view shows the names).
    internal const byte FromValues = 0, FromAnnouncePeer = 1;

    private readonly PcapDhtDatabase _db;
    private readonly Lane _laneA, _laneB; // msg + malformed + the capture row; node + node6 + peer (may be the same lane)
    private DuckDBConnection _connection => _laneA.Connection;
    private readonly CaptureWriterOptions _options;
    private readonly TableAppender _msg, _node, _node6, _peer, _malformed;
    private NativeChunk _msgChunk, _nodeChunk, _node6Chunk, _peerChunk, _malformedChunk;
    private readonly TransactionMatcher _matcher;
    private bool _finished;
    private bool _sightingsCommitted;
    private readonly WriteBehind _writeBehind;
    private readonly int _captureId;

    private CaptureWriter(PcapDhtDatabase db, CaptureSource source, CaptureWriterOptions options, int captureId, DuckDBConnection connection,
        DuckDBConnection? sightingsConnection = null, CaptureStats? stats = null, TransactionMatcher? matcher = null)
    {
        _writeBehind = WriteBehind.Open(db.Path);
        _laneA = new Lane(connection, "pcapdht-writer");
        _laneB = sightingsConnection == null ? _laneA : new Lane(sightingsConnection, "pcapdht-writer2");
        _db = db;
        Stats = stats ?? new CaptureStats();
        _matcher = matcher ?? new TransactionMatcher();
        Source = source;
        _options = options;
        _captureId = captureId;
        _msg = new TableAppender(connection, MsgLayout, options.ChunksPerTable);
        _node = new TableAppender(_laneB.Connection, NodeLayout, options.ChunksPerTable);
        _node6 = new TableAppender(_laneB.Connection, Node6Layout, options.ChunksPerTable);
        _peer = new TableAppender(_laneB.Connection, PeerLayout, options.ChunksPerTable);
        _malformed = new TableAppender(connection, MalformedLayout, 2);
        _msgChunk = _msg.Rent();
        _nodeChunk = _node.Rent();
        _node6Chunk = _node6.Rent();
        _peerChunk = _peer.Rent();
        _malformedChunk = _malformed.Rent();
    }

    public CaptureSource Source { get; }
    public int CaptureId => _captureId;
    public CaptureStats Stats { get; }

    /// <summary>Records the capture as <c>running</c> (committed, visible to readers) and opens its data transaction.</summary>
    public static CaptureWriter Begin(PcapDhtDatabase db, CaptureSource source, CaptureWriterOptions? options = null)
    {
        options ??= new CaptureWriterOptions();
        int id = db.InsertRunningCapture(source.Source, source.Kind == CaptureKind.Live ? "live" : "file", source.Sha256, source.FileSize);
        DuckDBConnection? connection = null, sightings = null;
        CaptureWriter? writer = null;
        try
        {
            connection = db.OpenWriterConnection();
            if (options.ParallelTables && options.BackgroundWriter && options.ReplacesCaptureId == null)
                sightings = db.OpenWriterConnection();
            writer = new CaptureWriter(db, source, options, id, connection, sightings);
            writer.BeginTransaction();
            if (options.ReplacesCaptureId is int old)
                writer.DeleteCapture(old);
            writer.StartWriterThread();
            return writer;
        }
        catch (Exception ex)
        {
            string msg = PcapDhtDatabase.FirstLine(ex.Message);
            if (writer != null) writer.Dispose();
            else { connection?.Dispose(); sightings?.Dispose(); }
            db.MarkFailed(id, msg);
            throw PcapDhtDatabase.Translate(ex, $"cannot start writing {source.Source}");
        }
    }

    /// <summary>
    /// Live capture: continues a capture that <see cref="Detach"/> left <c>running</c>, in a database opened
    /// again (sniff opens the file only while it flushes, so readers can use it in between).
    /// </summary>
    public static CaptureWriter Resume(PcapDhtDatabase db, DetachedCapture detached, CaptureWriterOptions? options = null)
    {
        options ??= new CaptureWriterOptions();
        DuckDBConnection? connection = null, sightings = null;
        try
        {
            connection = db.OpenWriterConnection();
            if (options.ParallelTables && options.BackgroundWriter) sightings = db.OpenWriterConnection();
            var writer = new CaptureWriter(db, detached.Source, options, detached.CaptureId, connection, sightings, detached.Stats, detached.Matcher);
            writer.BeginTransaction();
            writer.StartWriterThread();
            return writer;
        }
        catch (Exception ex)
        {
            connection?.Dispose();
            sightings?.Dispose();
            throw PcapDhtDatabase.Translate(ex, $"cannot resume writing {detached.Source.Source}");
        }
    }

    /// <summary>
    /// Live capture: commits everything written so far (the capture stays <c>running</c>) and releases the
    /// connection, keeping the counters and the query/response matcher for <see cref="Resume"/>.
    /// </summary>
    public DetachedCapture Detach()
    {
        Finish("running", null, null);
        return new DetachedCapture(_captureId, Source, Stats, _matcher);
    }

    private void BeginTransaction()
    {
        _laneA.Transaction = _laneA.Connection.BeginTransaction();
        if (_laneB != _laneA) _laneB.Transaction = _laneB.Connection.BeginTransaction();
    }

    private void DeleteCapture(int id)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = PcapDhtDatabase.DeleteRowsSql(id.ToString(System.Globalization.CultureInfo.InvariantCulture))
            + $"DELETE FROM pcapdht_store.capture WHERE capture_id = {id}";
        cmd.ExecuteNonQuery();
    }

    private void StartWriterThread()
    {
        if (!_options.BackgroundWriter) return;
        _laneA.Start(4 * _options.ChunksPerTable);
        if (_laneB != _laneA) _laneB.Start(4 * _options.ChunksPerTable);
    }

    private NativeChunk Submit(NativeChunk chunk)
    {
        var table = chunk.Table;
        var lane = table == _node || table == _node6 || table == _peer ? _laneB : _laneA;
        if (lane.Queue != null)
        {
            if (lane.Error != null) ThrowWriterFailed(lane.Error);
            lane.Queue.Add(chunk);
        }
        else
        {
            table.Append(chunk);
        }
        return table.Rent();
    }

    /// <summary>One DuckDB connection, its transaction, and (with a background writer) the thread that appends to it.</summary>
    private sealed class Lane(DuckDBConnection connection, string threadName)
    {
        public DuckDBConnection Connection { get; } = connection;
        public DuckDBTransaction? Transaction;
        public BlockingCollection<NativeChunk>? Queue;
        public volatile Exception? Error;
        private Thread? _thread;

        public void Start(int capacity)
        {
            Queue?.Dispose();
            Queue = new BlockingCollection<NativeChunk>(capacity);
            _thread = new Thread(Loop) { Name = threadName, IsBackground = true };
            _thread.Start();
        }

        private void Loop()
        {
            foreach (var chunk in Queue!.GetConsumingEnumerable())
            {
                if (Error != null)
                {
                    chunk.Reset();
                    chunk.Table.Return(chunk);
                    continue;
                }
                try
                {
                    chunk.Table.Append(chunk);
                }
                catch (Exception ex)
                {
                    Error = ex;
                }
            }
        }

        /// <summary>Waits until every queued chunk is appended.</summary>
        public void Drain()
        {
            if (Queue == null) return;
            Queue.CompleteAdding();
            _thread!.Join();
        }

        public void Stop()
        {
            if (Queue != null && !Queue.IsAddingCompleted)
            {
                Error ??= new OperationCanceledException();
                Queue.CompleteAdding();
                _thread?.Join();
            }
        }

        public void Dispose()
        {
            Transaction?.Dispose();
            Queue?.Dispose();
            Connection.Dispose();
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowWriterFailed(Exception error)
    {
        // The caller's using block disposes the writer next: that records this, not a bare "aborted".
        _failure = FailureText(error);
        throw PcapDhtDatabase.Translate(error, $"writing {Source.Source} failed");
    }

    private string? _failure;

    /// <summary>The capture's <c>error</c> for a failure of the store: says "disk full" when that is what it was.</summary>
    private static string FailureText(Exception error) =>
        PcapDhtDatabase.Translate(error, "writing") is DiskFullException
            ? "disk full: no space left on the device holding the database; nothing of this capture was kept"
            : PcapDhtDatabase.FirstLine(error.Message);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (long Micros, ushort Frac) SplitTimestamp(long ns)
    {
        long us = Math.DivRem(ns, 1000, out long rem);
        if (rem < 0) { us--; rem += 1000; }
        return (us, (ushort)rem);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ShortValue(ReadOnlySpan<byte> b)
    {
        ulong v = 0;
        for (int i = 0; i < b.Length; i++) v = v << 8 | b[i];
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static UInt128 Hi16(ReadOnlySpan<byte> id20) => BinaryPrimitives.ReadUInt128BigEndian(id20);

    /// <summary>A 128-bit value as two UBIGINT leaves (hi, lo): cheaper for DuckDB to append than one UHUGEINT.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Set128(NativeChunk c, int col, int r, UInt128 v)
    {
        c.Set(col, r, (ulong)(v >> 64));
        c.Set(col + 1, r, (ulong)v);
    }

    /// <summary>The first 16 bytes of a 20-byte id as two big-endian UBIGINT leaves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetId(NativeChunk c, int col, int r, ReadOnlySpan<byte> id20)
    {
        c.Set(col, r, BinaryPrimitives.ReadUInt64BigEndian(id20));
        c.Set(col + 1, r, BinaryPrimitives.ReadUInt64BigEndian(id20.Slice(8, 8)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Lo4(ReadOnlySpan<byte> id20) => BinaryPrimitives.ReadUInt32BigEndian(id20.Slice(16, 4));

    private void Track(long ts)
    {
        if (ts < Stats.FirstTimestampNs) Stats.FirstTimestampNs = ts;
        if (ts > Stats.LastTimestampNs) Stats.LastTimestampNs = ts;
    }

    /// <summary>Writes one decoded KRPC message and the node/peer sightings it carries.</summary>
    public void Add(in UdpDatagram d, in KrpcMessage m)
    {
        if (_msgChunk.IsFull) _msgChunk = Submit(_msgChunk);
        var c = _msgChunk;
        int r = c.Count++;
        var (us, frac) = SplitTimestamp(d.TimestampNs);
        Track(d.TimestampNs);
        ExtraWriter? extra = null;

        c.Set(MCapture, r, _captureId);
        c.Set(MFrame, r, d.FrameNumber);
        c.Set(MTs, r, us);
        Set128(c, MSrc, r, d.Source.Value);
        Set128(c, MDst, r, d.Destination.Value);

        // t: up to 8 bytes as a number (BEP 5 suggests 2; nearly all clients use 2-4).
        var t = m.TransactionId;
        ulong tx;
        byte txLen = (byte)Math.Min(t.Length, 255);
        if (t.Length <= 8)
        {
            tx = ShortValue(t);
            c.Set(MTx, r, tx);
        }
        else
        {
            tx = (ulong)Hash64(t);
            c.SetNull(MTx, r);
            (extra ??= Extra()).Hex("tx", t);
        }

        // The matcher's table is looked up last: its cache lines load while the columns below are filled.
        bool isQuery = m.Kind == KrpcKind.Query;
        var probe = isQuery ? _matcher.ProbeQuery(tx, txLen, d) : _matcher.ProbeResponse(tx, txLen, d);
        bool hasInfoHash = m.InfoHash.Length == 20;
        UInt128 ihHi = hasInfoHash ? Hi16(m.InfoHash) : default;
        uint ihLo = hasInfoHash ? Lo4(m.InfoHash) : 0;

        ulong info = (byte)m.Kind | (ulong)txLen << 16 | (ulong)m.Want << 40;
        if (m.ReadOnly) info |= 1UL << ReadOnlyBit;

        // id, and one 20-byte key: `target`, else `info_hash` (a message with both keeps info_hash in extra).
        ulong lo = 0;
        var id = m.NodeId;
        if (id.Length == 20) { SetId(c, MId, r, id); lo = (ulong)Lo4(id) << 32; }
        else
        {
            c.SetNull(MId, r); c.SetNull(MId + 1, r);
            if (!id.IsEmpty) (extra ??= Extra()).Hex("id", id);
        }
        var target = m.Target;
        if (target.Length == 20)
        {
            SetId(c, MKey, r, target); lo |= Lo4(target); info |= 1UL << KeyIsTargetBit;
            if (!m.InfoHash.IsEmpty) (extra ??= Extra()).Hex("info_hash", m.InfoHash);
        }
        else
        {
            if (!target.IsEmpty) (extra ??= Extra()).Hex("target", target);
            if (hasInfoHash) { Set128(c, MKey, r, ihHi); lo |= ihLo; info |= 1UL << KeyIsInfoHashBit; }
            else
            {
                c.SetNull(MKey, r); c.SetNull(MKey + 1, r);
                if (!m.InfoHash.IsEmpty) (extra ??= Extra()).Hex("info_hash", m.InfoHash);
            }
        }
        c.Set(MLo, r, lo);

        var v = m.Version;
        info |= (ulong)Math.Min(v.Length, 255) << 24;
        if (v.IsEmpty) c.SetNull(MVersion, r);
        else if (v.Length <= 8) c.Set(MVersion, r, ShortValue(v));
        else { c.SetNull(MVersion, r); (extra ??= Extra()).Hex("version", v); }

        var tok = m.Token;
        info |= (ulong)Math.Min(tok.Length, 255) << 32;
        if (tok.IsEmpty) { c.SetNull(MToken, r); c.SetNull(MToken + 1, r); }
        else if (tok.Length <= 16)
        {
            UInt128 tv = 0;
            for (int i = 0; i < tok.Length; i++) tv = tv << 8 | tok[i];
            Set128(c, MToken, r, tv);
        }
        else { c.SetNull(MToken, r); c.SetNull(MToken + 1, r); (extra ??= Extra()).Hex("token", tok); }

        ulong ports = (ulong)d.SourcePort << 48 | (ulong)d.DestinationPort << 32;
        if (m.Port >= 0)
        {
            if (m.Port <= ushort.MaxValue) { ports |= (uint)m.Port; info |= 1UL << HasPortBit; }
            else (extra ??= Extra()).Number("port", m.Port);
        }
        else if (m.RawPort != 0)
        {
            (extra ??= Extra()).Number("port", m.RawPort); // out of range as sent (PortOutOfRange)
        }
        if (m.ImpliedPort >= 0) info |= 1UL << HasImpliedPortBit | (m.ImpliedPort != 0 ? 1UL << ImpliedPortBit : 0);
        if (m.Kind == KrpcKind.Error)
        {
            if (m.ErrorCode != -1) (extra ??= Extra()).Number("error_code", m.ErrorCode);
            if (!m.ErrorMessage.IsEmpty) (extra ??= Extra()).Text("error_msg", m.ErrorMessage);
        }

        var ext = m.ExternalIp;
        if (ext.Length == 6) { Set128(c, MExtIp, r, IpAddr.FromV4Bytes(ext).Value); ports |= (ulong)BinaryPrimitives.ReadUInt16BigEndian(ext[4..]) << 16; info |= 1UL << HasExtPortBit; }
        else if (ext.Length == 18) { Set128(c, MExtIp, r, IpAddr.FromV6Bytes(ext).Value); ports |= (ulong)BinaryPrimitives.ReadUInt16BigEndian(ext[16..]) << 16; info |= 1UL << HasExtPortBit; }
        else { c.SetNull(MExtIp, r); c.SetNull(MExtIp + 1, r); }

        KrpcMethod method = m.Method;
        string? otherName = null;
        long rtt = -1;
        if (isQuery)
        {
            Stats.Queries++;
            if (method == KrpcMethod.Other) otherName = Utf8Text(m.MethodName);
            _matcher.AddQuery(probe, d.TimestampNs, method, otherName, hasInfoHash, ihHi, ihLo);
        }
        else
        {
            if (m.Kind == KrpcKind.Response) Stats.Responses++; else Stats.Errors++;
            if (_matcher.TryMatch(probe, out var q))
            {
                Stats.MatchedResponses++;
                method = q.Method;
                otherName = q.OtherName;
                rtt = (d.TimestampNs - q.QueryTimestampNs) / 1000;
                if (!hasInfoHash && q.HasInfoHash)
                    // The response's `values` belong to the info_hash of its get_peers query.
                    WriteValuePeers(d, m, true, q.InfoHashHi, q.InfoHashLo, us);
                else WriteValuePeers(d, m, hasInfoHash, ihHi, ihLo, us);
            }
            else
            {
                method = KrpcMethod.None;
                WriteValuePeers(d, m, hasInfoHash, ihHi, ihLo, us);
            }
        }
        if (otherName != null) (extra ??= Extra()).String("method", otherName);
        info |= (ulong)(byte)method << 8;

        c.Set(MPorts, r, ports);
        c.Set(MInfo, r, info);
        c.Set(MSizes, r, (ulong)(uint)m.Flags << 32 | (ulong)(uint)Math.Min(d.Payload.Length, ushort.MaxValue) << 16 | frac);
        c.Set(MCounts, r, (ulong)(uint)Math.Min(m.Nodes.Length / 26, ushort.MaxValue) << 48
            | (ulong)(uint)Math.Min(m.Nodes6.Length / 38, ushort.MaxValue) << 32
            | (ulong)(uint)Math.Min(m.ValuesCount, ushort.MaxValue) << 16
            | (ulong)(uint)Math.Min(m.Samples.Length / 20, ushort.MaxValue));
        if (rtt >= 0) c.Set(MRtt, r, rtt); else c.SetNull(MRtt, r);
        if (extra != null) c.SetBytes(MExtra, r, extra.Finish()); else c.SetNull(MExtra, r);

        // Sightings. The sender (a query or response with a 20-byte id) is read from msg by the view.
        if (m.Kind != KrpcKind.Error && id.Length == 20) Stats.NodeSightings++;
        if (!m.Nodes.IsEmpty) AddNodes(d.FrameNumber, us, m.Nodes);
        if (!m.Nodes6.IsEmpty) AddNodes6(d.FrameNumber, us, m.Nodes6);
        // announce_peer (BEP 5): the peer is the sender; implied_port=1 means "use the UDP source port".
        if (m.Kind == KrpcKind.Query && m.Method == KrpcMethod.AnnouncePeer && hasInfoHash && (m.Port >= 0 || m.ImpliedPort == 1))
        {
            ushort port = m.ImpliedPort == 1 ? d.SourcePort : (ushort)m.Port;
            AddPeer(d.FrameNumber, us, true, ihHi, ihLo, d.Source.Value, port, FromAnnouncePeer);
        }
    }

    private readonly ExtraWriter _extra = new();

    private ExtraWriter Extra()
    {
        _extra.Start();
        return _extra;
    }

    private void WriteValuePeers(in UdpDatagram d, in KrpcMessage m, bool hasInfoHash, UInt128 hi, uint lo, long us)
    {
        if (m.Values.IsEmpty) return;
        foreach (var peer in CompactLists.Values(m.Values))
            AddPeer(d.FrameNumber, us, hasInfoHash, hi, lo, peer.Address.Value, peer.Port, FromValues);
    }

    /// <summary>Starts a sighting row (node, node6, peer: capture_id, frame_no, ts first), submitting a full chunk.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int NextRow(ref NativeChunk chunk, long frame, long us)
    {
        if (chunk.IsFull) chunk = Submit(chunk);
        int r = chunk.Count++;
        chunk.Set(0, r, _captureId);
        chunk.Set(1, r, frame);
        chunk.Set(2, r, us);
        return r;
    }

    // BEP 5 compact node info: 20-byte id, 4-byte IPv4, 2-byte port; stored as ip << 16 | port.
    private void AddNodes(long frame, long us, ReadOnlySpan<byte> nodes)
    {
        for (int o = 0; o + 26 <= nodes.Length; o += 26)
        {
            int r = NextRow(ref _nodeChunk, frame, us);
            var c = _nodeChunk;
            var rec = nodes.Slice(o, 26);
            c.Set(3, r, (ulong)BinaryPrimitives.ReadUInt32BigEndian(rec.Slice(20, 4)) << 16 | BinaryPrimitives.ReadUInt16BigEndian(rec.Slice(24, 2)));
            SetId(c, 4, r, rec);
            c.Set(6, r, Lo4(rec));
        }
        Stats.NodeSightings += nodes.Length / 26;
    }

    // BEP 32: 20-byte id, 16-byte IPv6, 2-byte port.
    private void AddNodes6(long frame, long us, ReadOnlySpan<byte> nodes)
    {
        for (int o = 0; o + 38 <= nodes.Length; o += 38)
        {
            int r = NextRow(ref _node6Chunk, frame, us);
            var c = _node6Chunk;
            var rec = nodes.Slice(o, 38);
            Set128(c, 3, r, IpAddr.FromV6Bytes(rec.Slice(20, 16)).Value);
            c.Set(5, r, BinaryPrimitives.ReadUInt16BigEndian(rec.Slice(36, 2)));
            SetId(c, 6, r, rec);
            c.Set(8, r, Lo4(rec));
        }
        Stats.NodeSightings += nodes.Length / 38;
    }

    private void AddPeer(long frame, long us, bool hasInfoHash, UInt128 hi, uint lo, UInt128 ip, ushort port, byte source)
    {
        int r = NextRow(ref _peerChunk, frame, us);
        var c = _peerChunk;
        if (hasInfoHash) { Set128(c, 3, r, hi); c.Set(5, r, lo); } else { c.SetNull(3, r); c.SetNull(4, r); c.SetNull(5, r); }
        Set128(c, 6, r, ip);
        c.Set(8, r, port);
        c.Set(9, r, source);
        Stats.PeerSightings++;
    }

    /// <summary>Records a datagram that looked like KRPC but did not decode (reason and byte offset from the decoder).</summary>
    public void AddMalformed(in UdpDatagram d, string reason, int byteOffset)
    {
        if (_malformedChunk.IsFull) _malformedChunk = Submit(_malformedChunk);
        var c = _malformedChunk;
        int r = c.Count++;
        var (us, frac) = SplitTimestamp(d.TimestampNs);
        Track(d.TimestampNs);
        c.Set(0, r, _captureId);
        c.Set(1, r, d.FrameNumber);
        c.Set(2, r, us);
        c.Set(3, r, frac);
        c.Set(4, r, d.Source.Value);
        c.Set(5, r, d.SourcePort);
        c.Set(6, r, d.Destination.Value);
        c.Set(7, r, d.DestinationPort);
        c.SetBytes(8, r, Encoding.UTF8.GetBytes(reason));
        c.Set(9, r, byteOffset);
        c.SetBytes(10, r, d.Payload);
        Stats.Malformed++;
    }

    private static void SetText(NativeChunk c, int col, int r, ReadOnlySpan<byte> text)
    {
        // VARCHAR must be valid UTF-8; peers send arbitrary bytes in error messages.
        if (Utf8.IsValid(text)) c.SetBytes(col, r, text);
        else c.SetBytes(col, r, Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(text)));
    }

    private static string Utf8Text(ReadOnlySpan<byte> text) => Encoding.UTF8.GetString(text);

    /// <summary>
    /// The JSON object in <c>d.extra</c> for the rare fields that have no fixed-width column (long or odd-length
    /// byte strings as hex, error code and message, other method names, out-of-range ports). Reused per writer.
    /// </summary>
    private sealed class ExtraWriter
    {
        private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new(256);
        private readonly System.Text.Json.Utf8JsonWriter _json;

        public ExtraWriter() => _json = new System.Text.Json.Utf8JsonWriter(_buffer);

        public void Start()
        {
            _buffer.ResetWrittenCount();
            _json.Reset(_buffer);
            _json.WriteStartObject();
        }

        public void Hex(string name, ReadOnlySpan<byte> bytes) => _json.WriteString(name, Convert.ToHexStringLower(bytes));
        public void String(string name, string value) => _json.WriteString(name, value);
        public void Number(string name, long value) => _json.WriteString(name, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // Peers send arbitrary bytes in error messages; invalid UTF-8 becomes U+FFFD (as the VARCHAR column did).
        public void Text(string name, ReadOnlySpan<byte> text) => _json.WriteString(name, Encoding.UTF8.GetString(text));

        public ReadOnlySpan<byte> Finish()
        {
            _json.WriteEndObject();
            _json.Flush();
            return _buffer.WrittenSpan;
        }
    }

    private static long Hash64(ReadOnlySpan<byte> b)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte x in b) h = (h ^ x) * 1099511628211UL;
        return (long)h;
    }

    private void DrainAndFlush()
    {
        _msgChunk = Submit(_msgChunk);
        _nodeChunk = Submit(_nodeChunk);
        _node6Chunk = Submit(_node6Chunk);
        _peerChunk = Submit(_peerChunk);
        _malformedChunk = Submit(_malformedChunk);
        _laneA.Drain();
        if (_laneB != _laneA) _laneB.Drain();
        if ((_laneA.Error ?? _laneB.Error) is { } error) ThrowWriterFailed(error);
    }

    /// <summary>
    /// Live capture: makes everything written so far durable and visible (the capture stays
    /// <c>running</c> with up-to-date counters), then continues in a new transaction.
    /// </summary>
    public void Commit(long? frames = null)
    {
        EnsureOpen();
        try
        {
            DrainAndFlush();
            _msg.Flush(); _node.Flush(); _node6.Flush(); _peer.Flush(); _malformed.Flush();
            if (_laneB != _laneA)
            {
                _laneB.Transaction!.Commit();
                _laneB.Transaction.Dispose();
            }
            UpdateCaptureRow("running", null, null);
            _laneA.Transaction!.Commit();
            _laneA.Transaction.Dispose();
            BeginTransaction();
            StartWriterThread();
        }
        catch (Exception ex)
        {
            Fail(FailureText(ex));
            throw PcapDhtDatabase.Translate(ex, $"writing {Source.Source} failed");
        }
    }

    /// <summary>
    /// Ends the capture: <c>complete</c>, or <c>partial</c> with <paramref name="error"/> when the input was
    /// damaged after some frames (the rows read before the damage are kept). Commits.
    /// </summary>
    public void Complete(string? error = null, long? damageFrame = null, long? damageOffset = null)
        => Finish(error == null ? "complete" : "partial", error, (damageFrame, damageOffset));

    /// <summary>Stores what is left, commits (sightings first, then messages with the capture row) and releases the connections.</summary>
    private void Finish(string status, string? error, (long? Frame, long? Offset)? damage)
    {
        EnsureOpen();
        try
        {
            DrainAndFlush();
            _msg.Close(); _node.Close(); _node6.Close(); _peer.Close(); _malformed.Close();
            if (_laneB != _laneA)
            {
                // The capture row changes only with the second commit. A file capture that crashes in between
                // is deleted by the next open; a live one keeps that interval's sightings without their messages.
                _laneB.Transaction!.Commit();
                _sightingsCommitted = Source.Kind == CaptureKind.File;
            }
            UpdateCaptureRow(status, error, damage);
            _laneA.Transaction!.Commit();
            _finished = true;
        }
        catch (Exception ex)
        {
            Fail(FailureText(ex));
            throw PcapDhtDatabase.Translate(ex, $"writing {Source.Source} failed");
        }
        finally
        {
            ReleaseNative();
        }
    }

    /// <summary>Rolls back this capture's rows and records it as failed with the error.</summary>
    public void Fail(string error)
    {
        if (_finished) return;
        _finished = true;
        _laneA.Stop();
        _laneB.Stop();
        try { _laneA.Transaction?.Rollback(); } catch (Exception) { /* the connection may be gone (disk full); the rollback happens anyway */ }
        if (_laneB != _laneA && !_sightingsCommitted)
            try { _laneB.Transaction?.Rollback(); } catch (Exception) { /* as above */ }
        ReleaseNative();
        _db.MarkFailed(_captureId, error, deleteRows: _sightingsCommitted);
    }

    private void UpdateCaptureRow(string status, string? error, (long? Frame, long? Offset)? damage)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = """
            UPDATE pcapdht_store.capture SET status = $status, frames = $frames, udp_datagrams = $udp, krpc_messages = $krpc,
                queries = $q, responses = $r, errors = $e, malformed_krpc = $mal, not_krpc = $notkrpc,
                node_sightings = $nodes, peer_sightings = $peers, first_ts_ns = $first, last_ts_ns = $last,
                ingested_at = CASE WHEN $status = 'running' THEN NULL ELSE now() END, error = $error,
                damage_frame = $dframe, damage_offset = $doffset, sha256 = coalesce($sha, sha256)
            WHERE capture_id = $id
            """;
        var s = Stats;
        bool any = s.FirstTimestampNs != long.MaxValue;
        cmd.Parameters.Add(new DuckDBParameter("status", status));
        cmd.Parameters.Add(new DuckDBParameter("frames", s.Frames));
        cmd.Parameters.Add(new DuckDBParameter("udp", s.UdpDatagrams));
        cmd.Parameters.Add(new DuckDBParameter("krpc", s.KrpcMessages));
        cmd.Parameters.Add(new DuckDBParameter("q", s.Queries));
        cmd.Parameters.Add(new DuckDBParameter("r", s.Responses));
        cmd.Parameters.Add(new DuckDBParameter("e", s.Errors));
        cmd.Parameters.Add(new DuckDBParameter("mal", s.Malformed));
        cmd.Parameters.Add(new DuckDBParameter("notkrpc", s.NotKrpc));
        cmd.Parameters.Add(new DuckDBParameter("nodes", s.NodeSightings));
        cmd.Parameters.Add(new DuckDBParameter("peers", s.PeerSightings));
        cmd.Parameters.Add(new DuckDBParameter("first", any ? s.FirstTimestampNs : DBNull.Value));
        cmd.Parameters.Add(new DuckDBParameter("last", any ? s.LastTimestampNs : DBNull.Value));
        cmd.Parameters.Add(new DuckDBParameter("error", (object?)error ?? DBNull.Value));
        cmd.Parameters.Add(new DuckDBParameter("dframe", (object?)damage?.Frame ?? DBNull.Value));
        cmd.Parameters.Add(new DuckDBParameter("doffset", (object?)damage?.Offset ?? DBNull.Value));
        cmd.Parameters.Add(new DuckDBParameter("sha", (object?)_sha256 ?? DBNull.Value));
        cmd.Parameters.Add(new DuckDBParameter("id", _captureId));
        cmd.ExecuteNonQuery();
    }

    private string? _sha256;

    /// <summary>Standard input is hashed while read: sets the hash, and deletes the capture it replaces (--force), in this transaction.</summary>
    internal void SetSha256(string sha256, int? replaces)
    {
        EnsureOpen();
        _sha256 = sha256;
        if (replaces is int old) DeleteCapture(old);
    }

    private void EnsureOpen()
    {
        if (_finished) throw new InvalidOperationException("the capture writer is already completed or failed");
    }

    private bool _released;

    private void ReleaseNative()
    {
        if (_released) return;
        _released = true;
        _msg.Dispose(); _node.Dispose(); _node6.Dispose(); _peer.Dispose(); _malformed.Dispose();
        _laneA.Dispose();
        if (_laneB != _laneA) _laneB.Dispose();
        _writeBehind.Dispose();
    }

    /// <summary>Without <see cref="Complete"/>, disposing rolls the capture back and marks it failed.</summary>
    public void Dispose()
    {
        if (!_finished) Fail(_failure ?? "aborted before the capture was completed");
        ReleaseNative();
    }
}
