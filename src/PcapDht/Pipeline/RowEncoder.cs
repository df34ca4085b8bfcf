using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;
using PcapDht.Net;
using static PcapDht.Pipeline.StoreColumns;

namespace PcapDht.Pipeline;

/// <summary>Where the <see cref="RowEncoder"/> hands full (or flushed) chunks: the store session.</summary>
internal interface IChunkSink
{
    /// <summary>Takes ownership of the chunk; it goes back to its pool (<see cref="NativeChunk.Release"/>) once stored or dropped.</summary>
    void Submit(NativeChunk chunk);
}

/// <summary>
/// Encodes decoded messages into the column chunks of the row tables (messages, node, node6 and
/// peer sightings, malformed KRPC, and the contacts of the node lists), in the layouts of <see cref="StoreColumns"/>. Needs no database: full
/// chunks go to an <see cref="IChunkSink"/>. A chunk may hold rows of several captures (each row carries
/// its capture_id), so many small files do not each append a nearly empty chunk per table.
/// Use from one thread.
/// </summary>
internal sealed class RowEncoder : IDisposable
{
    // d.info flag bits (docs/schema.md).
    private const int ReadOnlyBit = 48, KeyIsTargetBit = 49, KeyIsInfoHashBit = 50, HasPortBit = 51,
        HasImpliedPortBit = 52, ImpliedPortBit = 53, HasExtPortBit = 54;

    // Peer sighting sources, as stored (the view shows the names).
    internal const byte FromValues = 0, FromAnnouncePeer = 1;

    private const int MsgTable = 0, NodeTable = 1, Node6Table = 2, PeerTable = 3, MalformedTable = 4, NodeDimTable = 5, EndpointDimTable = 6;

    // The endpoint dictionary's port tag: bit 16 set when the endpoint has a 20-byte id (a sender), clear for an address
    // and port alone, so the two never share a key.
    private const uint WithId = 1u << 16;

    // An IPv4 address as the low 64 bits of its IPv4-mapped IPv6 form (::ffff:a.b.c.d): this | ip.
    private const ulong MappedPrefix = 0xFFFF_0000_0000UL;

    private readonly ChunkPool[] _pools;
    private readonly NativeChunk[] _chunks;
    private readonly NativeChunk?[] _captureChunk; // the chunk each table had when the capture started
    private readonly int[] _captureRow;             // and its row count then
    private readonly ExtraWriter _extra = new();
    private readonly IChunkSink _sink;
    private readonly SimdVariant _nodeVariant;
    private readonly NodeKeys _nodeKeys = new();
    private readonly NodeKeys _endpointKeys = new();
    // A node list's records transposed into columns (NodeColumns), before each contact is looked up in _nodeKeys.
    private readonly ulong[] _colA = new ulong[NativeChunk.VectorSize], _colB = new ulong[NativeChunk.VectorSize],
        _colIdA = new ulong[NativeChunk.VectorSize], _colIdB = new ulong[NativeChunk.VectorSize];
    private readonly uint[] _colIdLo = new uint[NativeChunk.VectorSize];
    private readonly ushort[] _colPort = new ushort[NativeChunk.VectorSize];
    private int _captureId;
    private bool _started;
    // Per capture this encoder wrote rows of before the current one: the next node and endpoint keys.
    private readonly Dictionary<int, (uint Node, uint Endpoint)> _nextKeys = [];

    /// <param name="chunksPerTable">
    /// With a limit, renting a chunk waits while that many are queued for the store (file ingest: bounds
    /// memory; 32 msg chunks are ~6 MB, and measured: 8 -> 32 took the 2M-packet ingest from 8.8 to 6.7 s).
    /// Without one (live capture) the store session bounds the spool.
    /// </param>
    /// <param name="nodeVariant">How node lists become columns (<see cref="NodeColumns"/>; tests and benchmarks force one).</param>
    public RowEncoder(IChunkSink sink, int chunksPerTable = int.MaxValue, SimdVariant nodeVariant = SimdVariant.Auto)
    {
        _sink = sink;
        _nodeVariant = nodeVariant == SimdVariant.Auto ? NodeColumns.Default : nodeVariant;
        _pools = new ChunkPool[All.Length];
        _chunks = new NativeChunk[All.Length];
        _captureChunk = new NativeChunk?[All.Length];
        _captureRow = new int[All.Length];
        for (int t = 0; t < All.Length; t++)
        {
            // Malformed rows are rare: two chunks in flight are plenty when the store appends as they come. Without a
            // limit (live capture) the chunks wait in the spool until the flush: a limit there would block the encoder
            // for good once two chunks of malformed rows are spooled.
            _pools[t] = new ChunkPool(All[t], t == MalformedTable && chunksPerTable != int.MaxValue ? Math.Min(2, chunksPerTable) : chunksPerTable);
            _chunks[t] = _pools[t].Rent();
        }
    }

    /// <summary>The counters of the capture being encoded (rows, kinds, time span).</summary>
    public CaptureStats Stats { get; private set; } = new();

    /// <summary>Starts the rows of a capture: they carry <paramref name="captureId"/> and count into <paramref name="stats"/>.
    /// A capture started again after another one's rows goes on numbering its contacts and endpoints where it stopped, so a
    /// key names one dimension row per capture (no ingest path does that today; capture ids come from a sequence).</summary>
    public void StartCapture(int captureId, CaptureStats stats)
    {
        if (!_started || captureId != _captureId)
        {
            if (_started) _nextKeys[_captureId] = (_nodeKeys.NextKey, _endpointKeys.NextKey);
            var (node, endpoint) = _nextKeys.GetValueOrDefault(captureId);
            _nodeKeys.Restart(node);
            _endpointKeys.Restart(endpoint);
            _started = true;
        }
        _captureId = captureId;
        Stats = stats;
        for (int t = 0; t < _chunks.Length; t++)
        {
            _captureChunk[t] = _chunks[t];
            _captureRow[t] = _chunks[t].Count;
        }
    }

    /// <summary>
    /// Drops the current capture's rows that are still in this encoder's chunks (those already submitted
    /// are the store's to delete). Rows of earlier captures in the same chunks stay.
    /// </summary>
    public void DropCaptureRows()
    {
        _nodeKeys.Forget();
        _endpointKeys.Forget();
        for (int t = 0; t < _chunks.Length; t++)
        {
            var c = _chunks[t];
            if (_captureChunk[t] == c) c.Truncate(_captureRow[t]);
            else c.Truncate(0);
            _captureChunk[t] = c;
            _captureRow[t] = c.Count;
        }
    }

    /// <summary>Drops every row this encoder still holds (the store rolled back the transaction they were for).</summary>
    public void DropAllRows()
    {
        // The dropped rows may hold the dimension rows of contacts the dictionaries know: they are written again.
        _nodeKeys.Forget();
        _endpointKeys.Forget();
        for (int t = 0; t < _chunks.Length; t++)
        {
            _chunks[t].Truncate(0);
            _captureChunk[t] = _chunks[t];
            _captureRow[t] = 0;
        }
    }

    /// <summary>Submits every chunk that holds rows, so the store has everything encoded so far (a commit or checkpoint follows).</summary>
    public void SubmitAll()
    {
        for (int t = 0; t < _chunks.Length; t++)
        {
            if (_chunks[t].Count == 0) continue;
            bool current = _captureChunk[t] == _chunks[t];
            Submit(t);
            if (current)
            {
                _captureChunk[t] = _chunks[t];
                _captureRow[t] = 0;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Submit(int table)
    {
        // Rent first: if the sink throws (a store error), this encoder must not keep a chunk it handed over.
        var full = _chunks[table];
        // The capture's first chunk leaves: once stored it goes back to the pool and may come back as a current
        // chunk, which DropCaptureRows must then empty, not cut at the row where the capture began in its first life
        // (a duplicate found after reading left rows of no capture behind).
        if (_captureChunk[table] == full) _captureChunk[table] = null;
        _chunks[table] = _pools[table].Rent();
        _sink.Submit(full);
    }

    /// <summary>A row in the table's current chunk (submitting it first when full), with capture_id, frame_no and ts set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private NativeChunk NextRow(int table, long frame, long us, out int row)
    {
        if (_chunks[table].IsFull) Submit(table);
        var c = _chunks[table];
        row = c.Count++;
        c.Set(CaptureId, row, _captureId);
        c.Set(FrameNo, row, frame);
        c.Set(Ts, row, us);
        return c;
    }

    /// <summary>
    /// Up to <paramref name="wanted"/> rows (<paramref name="count"/> &gt;= 1, as many as the table's current chunk has
    /// room for, submitting it first when full) with capture_id, frame_no and ts set; the caller fills the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private unsafe NativeChunk NextRows(int table, long frame, long us, int wanted, out int row, out int count)
    {
        if (_chunks[table].IsFull) Submit(table);
        var c = _chunks[table];
        row = c.Count;
        count = Math.Min(wanted, c.Capacity - row);
        c.Count += count;
        new Span<int>(c.Column<int>(CaptureId, row), count).Fill(_captureId);
        new Span<long>(c.Column<long>(FrameNo, row), count).Fill(frame);
        new Span<long>(c.Column<long>(Ts, row), count).Fill(us);
        return c;
    }

    /// <summary>The transaction id as the matcher keys it: up to 8 bytes as a number (BEP 5 suggests 2; nearly all
    /// clients use 2-4), longer ones hashed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong TransactionKey(ReadOnlySpan<byte> t, out byte length)
    {
        length = (byte)Math.Min(t.Length, 255);
        return t.Length <= 8 ? ShortValue(t) : (ulong)Hash64(t);
    }

    // Between BeginMessage and EndMessage: the message row and what EndMessage completes.
    private NativeChunk? _row;
    private int _r;
    private long _us;
    private ushort _frac;
    private ulong _info;
    private uint _ports;
    private bool _extraOpen;

    /// <summary>
    /// Writes the columns of a message row that do not depend on the matching stage; the matcher's table
    /// is looked up between this and <see cref="EndMessage"/>, so its cache lines load while these are filled.
    /// </summary>
    public void BeginMessage(in UdpDatagram d, in KrpcMessage m, ulong tx)
    {
        (_us, _frac) = SplitTimestamp(d.TimestampNs);
        var c = _row = NextRow(MsgTable, d.FrameNumber, _us, out int r);
        _r = r;
        Track(d.TimestampNs);
        _extraOpen = false;

        var t = m.TransactionId;
        if (t.Length <= 8) c.Set(M.Tx, r, tx);
        else
        {
            c.SetNull(M.Tx, r);
            Extra().Hex("tx", t);
        }

        ulong info = (byte)m.Kind | (ulong)Math.Min(t.Length, 255) << 16 | (ulong)m.Want << 40;
        if (m.ReadOnly) info |= 1UL << ReadOnlyBit;

        // The endpoints: the sender with its id when that is 20 bytes (an other id goes to extra), the destination.
        var id = m.NodeId;
        var src = d.Source.Value;
        uint srcKey;
        if (id.Length == 20)
            srcKey = EndpointKey(d.FrameNumber, _us, (ulong)(src >> 64), (ulong)src, d.SourcePort | WithId,
                BinaryPrimitives.ReadUInt64BigEndian(id), BinaryPrimitives.ReadUInt64BigEndian(id.Slice(8, 8)), Lo4(id));
        else
        {
            srcKey = EndpointKey(d.FrameNumber, _us, (ulong)(src >> 64), (ulong)src, d.SourcePort, 0, 0, 0);
            if (!id.IsEmpty) Extra().Hex("id", id);
        }
        c.Set(M.SrcKey, r, srcKey);
        var dst = d.Destination.Value;
        c.Set(M.DstKey, r, EndpointKey(d.FrameNumber, _us, (ulong)(dst >> 64), (ulong)dst, d.DestinationPort, 0, 0, 0));

        // One 20-byte key: `target`, else `info_hash` (a message with both keeps info_hash in extra).
        uint lo = 0;
        var target = m.Target;
        if (target.Length == 20)
        {
            SetId(c, M.KeyA, r, target); lo = Lo4(target); info |= 1UL << KeyIsTargetBit;
            if (!m.InfoHash.IsEmpty) Extra().Hex("info_hash", m.InfoHash);
        }
        else
        {
            if (!target.IsEmpty) Extra().Hex("target", target);
            if (m.InfoHash.Length == 20) { SetId(c, M.KeyA, r, m.InfoHash); lo = Lo4(m.InfoHash); info |= 1UL << KeyIsInfoHashBit; }
            else
            {
                c.SetNull(M.KeyA, r); c.SetNull(M.KeyA + 1, r);
                if (!m.InfoHash.IsEmpty) Extra().Hex("info_hash", m.InfoHash);
            }
        }
        c.Set(M.KeyLo, r, lo);

        var v = m.Version;
        info |= (ulong)Math.Min(v.Length, 255) << 24;
        if (v.IsEmpty) c.SetNull(M.Version, r);
        else if (v.Length <= 8) c.Set(M.Version, r, ShortValue(v));
        else { c.SetNull(M.Version, r); Extra().Hex("version", v); }

        var tok = m.Token;
        info |= (ulong)Math.Min(tok.Length, 255) << 32;
        if (tok.IsEmpty) { c.SetNull(M.TokHi, r); c.SetNull(M.TokHi + 1, r); }
        else if (tok.Length <= 16)
        {
            UInt128 tv = 0;
            for (int i = 0; i < tok.Length; i++) tv = tv << 8 | tok[i];
            Set128(c, M.TokHi, r, tv);
        }
        else { c.SetNull(M.TokHi, r); c.SetNull(M.TokHi + 1, r); Extra().Hex("token", tok); }

        uint ports = 0; // the UDP ports are the endpoints'
        if (m.Port >= 0)
        {
            if (m.Port <= ushort.MaxValue) { ports |= (uint)m.Port; info |= 1UL << HasPortBit; }
            else Extra().Number("port", m.Port);
        }
        else if (m.RawPort != 0) Extra().Number("port", m.RawPort); // out of range as sent (PortOutOfRange)
        if (m.ImpliedPort >= 0) info |= 1UL << HasImpliedPortBit | (m.ImpliedPort != 0 ? 1UL << ImpliedPortBit : 0);
        if (m.Kind == KrpcKind.Error)
        {
            if (m.ErrorCode != -1) Extra().Number("error_code", m.ErrorCode);
            if (!m.ErrorMessage.IsEmpty) Extra().Text("error_msg", m.ErrorMessage);
        }

        var ext = m.ExternalIp;
        if (ext.Length == 6) { Set128(c, M.ExtHi, r, IpAddr.FromV4Bytes(ext).Value); ports |= (uint)BinaryPrimitives.ReadUInt16BigEndian(ext[4..]) << 16; info |= 1UL << HasExtPortBit; }
        else if (ext.Length == 18) { Set128(c, M.ExtHi, r, IpAddr.FromV6Bytes(ext).Value); ports |= (uint)BinaryPrimitives.ReadUInt16BigEndian(ext[16..]) << 16; info |= 1UL << HasExtPortBit; }
        else { c.SetNull(M.ExtHi, r); c.SetNull(M.ExtHi + 1, r); }

        c.Set(M.Sizes, r, (ulong)(uint)m.Flags << 32 | (ulong)(uint)Math.Min(d.Payload.Length, ushort.MaxValue) << 16 | _frac);
        c.Set(M.Counts, r, (ulong)(uint)Math.Min(m.Nodes.Length / 26, ushort.MaxValue) << 48
            | (ulong)(uint)Math.Min(m.Nodes6.Length / 38, ushort.MaxValue) << 32
            | (ulong)(uint)Math.Min(m.ValuesCount, ushort.MaxValue) << 16
            | (ulong)(uint)Math.Min(m.Samples.Length / 20, ushort.MaxValue));
        _info = info;
        _ports = ports;
    }

    /// <summary>Completes the row begun by <see cref="BeginMessage"/> with the matching stage's result, and writes the
    /// node and peer sightings the message carries.</summary>
    public void EndMessage(in UdpDatagram d, in KrpcMessage m, in MatchResult match)
    {
        var c = _row!;
        int r = _r;
        switch (m.Kind)
        {
            case KrpcKind.Query: Stats.Queries++; break;
            case KrpcKind.Response: Stats.Responses++; break;
            default: Stats.Errors++; break;
        }
        if (match.OtherName != null) Extra().String("method", match.OtherName);
        c.Set(M.Ports, r, _ports);
        c.Set(M.Info, r, _info | (ulong)(byte)match.Method << 8);
        if (match.RttUs >= 0) c.Set(M.Rtt, r, match.RttUs); else c.SetNull(M.Rtt, r);
        if (_extraOpen) c.SetBytes(M.Extra, r, _extra.Finish()); else c.SetNull(M.Extra, r);
        _row = null;

        long us = _us;
        if (m.Kind != KrpcKind.Query && !m.Values.IsEmpty) AddValues(d.FrameNumber, us, m.Values, m.ValuesCount, match);

        // Sightings. The sender (a query or response with a 20-byte id) is read from msg by the view.
        if (m.Kind != KrpcKind.Error && m.NodeId.Length == 20) Stats.NodeSightings++;
        if (!m.Nodes.IsEmpty) AddNodes(d.FrameNumber, us, m.Nodes);
        if (!m.Nodes6.IsEmpty) AddNodes6(d.FrameNumber, us, m.Nodes6);
        // announce_peer (BEP 5): the peer is the sender; implied_port=1 means "use the UDP source port".
        if (m.Kind == KrpcKind.Query && m.Method == KrpcMethod.AnnouncePeer && match.HasInfoHash && (m.Port >= 0 || m.ImpliedPort == 1))
        {
            ushort port = m.ImpliedPort == 1 ? d.SourcePort : (ushort)m.Port;
            AddPeer(d.FrameNumber, us, true, match.InfoHashHi, match.InfoHashLo, d.Source.Value, port, FromAnnouncePeer);
        }
    }

    private ExtraWriter Extra()
    {
        if (!_extraOpen)
        {
            _extraOpen = true;
            _extra.Start();
        }
        return _extra;
    }

    // BEP 5 compact node info: 20-byte id, 4-byte IPv4, 2-byte port. The records become columns several at a time
    // (NodeColumns: a SIMD transpose on the default path); each contact is then looked up in the capture's dictionary
    // and the node row keeps its key (a new contact also gets its node_dim row).
    private unsafe void AddNodes(long frame, long us, ReadOnlySpan<byte> nodes)
    {
        int total = nodes.Length / NodeColumns.NodeLength;
        fixed (ulong* ep = _colA, idA = _colIdA, idB = _colIdB)
        fixed (uint* idLo = _colIdLo)
        {
            for (int done = 0; done < total;)
            {
                var c = NextRows(NodeTable, frame, us, total - done, out int r, out int n);
                NodeColumns.Nodes(_nodeVariant, nodes[(done * NodeColumns.NodeLength)..], n, ep, idA, idB, idLo);
                uint* keys = c.Column<uint>(N.Key, r);
                for (int i = 0; i < n; i++)
                    keys[i] = ContactKey(frame, us, 0, MappedPrefix | (ep[i] >> 16), (ushort)ep[i], idA[i], idB[i], idLo[i]);
                done += n;
            }
        }
        Stats.NodeSightings += total;
    }

    // BEP 32: 20-byte id, 16-byte IPv6, 2-byte port.
    private unsafe void AddNodes6(long frame, long us, ReadOnlySpan<byte> nodes)
    {
        int total = nodes.Length / NodeColumns.Node6Length;
        fixed (ulong* ipHi = _colA, ipLo = _colB, idA = _colIdA, idB = _colIdB)
        fixed (uint* idLo = _colIdLo)
        fixed (ushort* port = _colPort)
        {
            for (int done = 0; done < total;)
            {
                var c = NextRows(Node6Table, frame, us, total - done, out int r, out int n);
                NodeColumns.Nodes6(_nodeVariant, nodes[(done * NodeColumns.Node6Length)..], n, ipHi, ipLo, port, idA, idB, idLo);
                uint* keys = c.Column<uint>(N.Key, r);
                for (int i = 0; i < n; i++)
                    keys[i] = ContactKey(frame, us, ipHi[i], ipLo[i], port[i], idA[i], idB[i], idLo[i]);
                done += n;
            }
        }
        Stats.NodeSightings += total;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint ContactKey(long frame, long us, ulong ipHi, ulong ipLo, ushort port, ulong idA, ulong idB, uint idLo)
    {
        uint key = _nodeKeys.GetOrAdd(ipHi, ipLo, port, idA, idB, idLo, out bool added);
        if (added) AddContact(frame, us, key, ipHi, ipLo, port, idA, idB, idLo);
        return key;
    }

    /// <summary>The key of a message endpoint in the capture's endpoint dictionary (a new one also gets its endpoint_dim row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private uint EndpointKey(long frame, long us, ulong ipHi, ulong ipLo, uint portTag, ulong idA, ulong idB, uint idLo)
    {
        uint key = _endpointKeys.GetOrAdd(ipHi, ipLo, portTag, idA, idB, idLo, out bool added);
        // The message row was taken from its chunk first: a full endpoint_dim chunk submitted here holds no row of it.
        if (added) AddDimensionRow(EndpointDimTable, E.Key, frame, us, key, ipHi, ipLo, (ushort)portTag, (portTag & WithId) != 0, idA, idB, idLo);
        return key;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddContact(long frame, long us, uint key, ulong ipHi, ulong ipLo, ushort port, ulong idA, ulong idB, uint idLo) =>
        AddDimensionRow(NodeDimTable, ND.Key, frame, us, key, ipHi, ipLo, port, true, idA, idB, idLo);

    /// <summary>A node_dim or endpoint_dim row: both tables' leaves follow the key as ip_hi, ip_lo, port, id_a, id_b, id_lo (StoreColumns).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void AddDimensionRow(int table, int k, long frame, long us, uint key, ulong ipHi, ulong ipLo, ushort port, bool hasId, ulong idA, ulong idB, uint idLo)
    {
        var c = NextRow(table, frame, us, out int r);
        c.Set(k, r, key);
        c.Set(k + 1, r, ipHi);
        c.Set(k + 2, r, ipLo);
        c.Set(k + 3, r, port);
        if (hasId)
        {
            c.Set(k + 4, r, idA);
            c.Set(k + 5, r, idB);
            c.Set(k + 6, r, idLo);
        }
        else { c.SetNull(k + 4, r); c.SetNull(k + 5, r); c.SetNull(k + 6, r); }
    }

    // BEP 5 `values`: compact peers into the columns several at a time (PeerColumns: a SIMD transpose of the 6-byte
    // entries on the default path). Rows are reserved for every string of the list; those that were not peers go back.
    private unsafe void AddValues(long frame, long us, ReadOnlySpan<byte> list, int strings, in MatchResult match)
    {
        int offset = PeerColumns.Start(list), total = 0;
        bool done = false;
        while (!done)
        {
            var c = NextRows(PeerTable, frame, us, Math.Max(1, strings - total), out int r, out int n);
            int k = PeerColumns.Values(_nodeVariant, list, ref offset, n, c.Column<ulong>(P.IpHi, r), c.Column<ulong>(P.IpHi + 1, r),
                c.Column<ushort>(P.Port, r), out done);
            c.Count -= n - k;
            if (match.HasInfoHash)
            {
                new Span<ulong>(c.Column<ulong>(P.IhA, r), k).Fill((ulong)(match.InfoHashHi >> 64));
                new Span<ulong>(c.Column<ulong>(P.IhA + 1, r), k).Fill((ulong)match.InfoHashHi);
                new Span<uint>(c.Column<uint>(P.IhLo, r), k).Fill(match.InfoHashLo);
            }
            else
                for (int i = r; i < r + k; i++) { c.SetNull(P.IhA, i); c.SetNull(P.IhA + 1, i); c.SetNull(P.IhLo, i); }
            new Span<byte>(c.Column<byte>(P.Source, r), k).Fill(FromValues);
            total += k;
        }
        Stats.PeerSightings += total;
    }

    private void AddPeer(long frame, long us, bool hasInfoHash, UInt128 hi, uint lo, UInt128 ip, ushort port, byte source)
    {
        var c = NextRow(PeerTable, frame, us, out int r);
        if (hasInfoHash) { Set128(c, P.IhA, r, hi); c.Set(P.IhLo, r, lo); }
        else { c.SetNull(P.IhA, r); c.SetNull(P.IhA + 1, r); c.SetNull(P.IhLo, r); }
        Set128(c, P.IpHi, r, ip);
        c.Set(P.Port, r, port);
        c.Set(P.Source, r, source);
        Stats.PeerSightings++;
    }

    /// <summary>Records a datagram that looked like KRPC but did not decode (reason and byte offset from the decoder).</summary>
    public void AddMalformed(in UdpDatagram d, string reason, int byteOffset)
    {
        var (us, frac) = SplitTimestamp(d.TimestampNs);
        var c = NextRow(MalformedTable, d.FrameNumber, us, out int r);
        Track(d.TimestampNs);
        c.Set(X.Frac, r, frac);
        c.Set(X.SrcIp, r, d.Source.Value);
        c.Set(X.SrcPort, r, d.SourcePort);
        c.Set(X.DstIp, r, d.Destination.Value);
        c.Set(X.DstPort, r, d.DestinationPort);
        c.SetBytes(X.Reason, r, Encoding.UTF8.GetBytes(reason));
        c.Set(X.Offset, r, byteOffset);
        c.SetBytes(X.Payload, r, d.Payload);
        Stats.Malformed++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Track(long ts)
    {
        if (ts < Stats.FirstTimestampNs) Stats.FirstTimestampNs = ts;
        if (ts > Stats.LastTimestampNs) Stats.LastTimestampNs = ts;
    }

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

    private static long Hash64(ReadOnlySpan<byte> b)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte x in b) h = (h ^ x) * 1099511628211UL;
        return (long)h;
    }

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
    internal static uint Lo4(ReadOnlySpan<byte> id20) => BinaryPrimitives.ReadUInt32BigEndian(id20.Slice(16, 4));

    /// <summary>
    /// The JSON object in <c>d.extra</c> for the rare fields that have no fixed-width column (long or odd-length
    /// byte strings as hex, error code and message, other method names, out-of-range ports). Reused per encoder.
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

    /// <summary>Disposes the pools; every chunk must be back (the store drained or dropped what it was given).</summary>
    public void Dispose()
    {
        foreach (var p in _pools) p.Dispose();
    }
}

/// <summary>Running totals of one capture's rows; the pipeline adds the network-level counters.</summary>
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
