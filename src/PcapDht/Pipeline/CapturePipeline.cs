using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Pipeline;

/// <summary>
/// The per-frame path, shared by <c>ingest</c> (files) and <c>sniff</c> (libpcap), so both store exactly
/// the same rows for the same frames:
/// frame → UDP datagram (<see cref="PacketDecoder"/>, with reassembly) → KRPC (<see cref="KrpcDecoder"/>)
/// → transaction matching (<see cref="TransactionMatcher"/>) → column chunks (<see cref="RowEncoder"/>),
/// which go to an <see cref="IChunkSink"/> (the store session). One instance serves capture after capture
/// (every file of an ingest run), reusing its matcher table and chunk pools. Use from one thread.
/// </summary>
internal sealed class CapturePipeline : IDisposable
{
    private readonly TransactionMatcher _matcher = new();
    private readonly RowEncoder _encoder;
    private readonly List<int> _linkTypes = [];
    private PacketDecoder _decoder = new();
    private CaptureStats _stats = new();
    private int _lastLinkType = -1;

    public CapturePipeline(IChunkSink sink, int chunksPerTable = int.MaxValue) => _encoder = new RowEncoder(sink, chunksPerTable);

    public RowEncoder Encoder => _encoder;

    /// <summary>The network counters of the current capture (every frame lands in one of them).</summary>
    public NetCounters Net => _decoder.Counters;

    /// <summary>The row counters of the current capture.</summary>
    public CaptureStats Stats => _stats;

    /// <summary>Starts a capture: fresh decoder (reassembly, counters), empty matcher, rows tagged <paramref name="captureId"/>.</summary>
    public void StartCapture(int captureId)
    {
        _decoder = new PacketDecoder();
        _matcher.Reset();
        _stats = new CaptureStats();
        _linkTypes.Clear();
        _lastLinkType = -1;
        _encoder.StartCapture(captureId, _stats);
    }

    /// <summary>Processes one frame; true when it completed a valid KRPC message.</summary>
    /// <param name="senderIdHigh">The first 16 bytes of that message's sender id (0 when it has none).</param>
    // Fully optimized from the first call: called per frame from a reader loop, it spent 0.4 CPU-s of a 2M-packet
    // ingest in its quick-JIT and instrumented tiers on the loaded 2-core machine (perf), while the background JIT
    // waited for a core.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public bool Process(in Frame frame, out UInt128 senderIdHigh)
    {
        senderIdHigh = 0;
        if (frame.LinkType != _lastLinkType) NoteLinkType(frame.LinkType);
        if (!_decoder.TryDecode(frame, out var datagram)) return false;
        scoped KrpcMessage message = default;
        switch (KrpcDecoder.DecodeInto(datagram.Payload, ref message, out var error))
        {
            case KrpcDecodeResult.Message:
                Message(datagram, message);
                if (message.NodeId.Length == 20) senderIdHigh = BinaryPrimitives.ReadUInt128BigEndian(message.NodeId);
                return true;
            case KrpcDecodeResult.Malformed:
                _encoder.AddMalformed(datagram, error.Description, error.Offset);
                return false;
            default:
                _stats.NotKrpc++;
                return false;
        }
    }

    /// <summary>The stages after decoding, for one message (tests feed hand-made messages here).</summary>
    internal void Add(in UdpDatagram d, in KrpcMessage m) => Message(d, m);

    /// <summary>A datagram that looked like KRPC but did not decode.</summary>
    internal void AddMalformed(in UdpDatagram d, string reason, int byteOffset) => _encoder.AddMalformed(d, reason, byteOffset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Message(in UdpDatagram d, in KrpcMessage m)
    {
        // Matching is split around the encoding: the probe hashes the key and prefetches the matcher's bucket
        // (the 10 MB table misses the caches), the columns are filled meanwhile, the lookup comes last.
        ulong tx = RowEncoder.TransactionKey(m.TransactionId, out byte txLen);
        bool isQuery = m.Kind == KrpcKind.Query;
        var probe = isQuery ? _matcher.ProbeQuery(tx, txLen, d) : _matcher.ProbeResponse(tx, txLen, d);
        _encoder.BeginMessage(d, m, tx);
        bool hasInfoHash = m.InfoHash.Length == 20;
        var match = _matcher.Resolve(probe, isQuery, d.TimestampNs, m.Method,
            isQuery && m.Method == KrpcMethod.Other ? System.Text.Encoding.UTF8.GetString(m.MethodName) : null,
            hasInfoHash, hasInfoHash ? BinaryPrimitives.ReadUInt128BigEndian(m.InfoHash) : default,
            hasInfoHash ? RowEncoder.Lo4(m.InfoHash) : 0);
        _encoder.EndMessage(d, m, match);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void NoteLinkType(int linkType)
    {
        _lastLinkType = linkType;
        if (!_linkTypes.Contains(linkType)) _linkTypes.Add(linkType);
    }

    /// <summary>The capture's input ended: datagrams still waiting for fragments are counted as incomplete.</summary>
    public void EndOfInput() => _decoder.Finish();

    /// <summary>What the capture row records now: row counters, network counters, link types.</summary>
    public CaptureTotals Totals()
    {
        var stats = _stats.Clone();
        var net = _decoder.Counters;
        stats.Frames = net.Frames;
        stats.UdpDatagrams = net.UdpDatagrams;
        stats.MatchedResponses = _matcher.Matched;
        return new CaptureTotals(stats, NetCounterColumns.Snapshot(net), NetCounterColumns.Unsupported(net),
            LinkTypeNames.Format(_linkTypes), net.UnknownLinkTypeFrames, LinkTypeNames.Format(net.UnknownLinkTypes.Keys));
    }

    public void Dispose() => _encoder.Dispose();
}

/// <summary>A capture's counters at one moment, as its <c>captures</c> row stores them.</summary>
/// <param name="Net">The values of <see cref="NetCounterColumns.All"/>.</param>
/// <param name="LinkTypes">Every link type seen: "1:EN10MB,113:LINUX_SLL".</param>
/// <param name="UnknownLinkTypeFrames">Frames of link types pcapdht does not decode, and those types (<paramref name="UnknownLinkTypes"/>).</param>
public sealed record CaptureTotals(CaptureStats Stats, long[] Net, long UnsupportedFrames, string LinkTypes,
    long UnknownLinkTypeFrames, string UnknownLinkTypes)
{
    public static CaptureTotals Empty => new(new CaptureStats(), new long[NetCounterColumns.All.Count], 0, "", 0, "");
}
