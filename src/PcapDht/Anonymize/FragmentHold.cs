using System.Buffers;

namespace PcapDht.Anonymize;

/// <summary>
/// Puts fragmented datagrams together so their KRPC payload can be rewritten (a <c>get_peers</c>
/// reply with 150 <c>values</c> or a BEP 44 item spans several fragments), writes the rewritten
/// bytes back into each fragment's frame, and fixes the UDP checksum in the first one. The policy is
/// the decoder's (<see cref="Net.Reassembler"/>): exact duplicates are accepted, any other overlap
/// gives the datagram up; timeouts run on capture time. A datagram given up (incomplete at the end,
/// overlapping, timed out, or over the limits) has every fragment cut after its IP header (the first
/// keeps the UDP header): bytes that could not be read are not written.
/// </summary>
internal sealed class FragmentHold : IFragmentSink
{
    private readonly AnonymizeOptions _options;
    private readonly AnonymizeCounters _counters;
    private readonly Dictionary<FragmentKey, PendingDatagram> _pending = new();
    private readonly Queue<PendingDatagram> _arrival = new();
    private PacketRewriter? _rewriter;

    public FragmentHold(AnonymizeOptions options, AnonymizeCounters counters)
    {
        _options = options;
        _counters = counters;
    }

    public PacketRewriter Rewriter { set => _rewriter = value; }

    public int Pending => _pending.Count;

    public void Add(HeldFrame frame, in FragmentKey key, int payloadPosition, int length, int offset, bool more,
        byte protocol, PseudoSums pseudo, int depth)
    {
        if (!_pending.TryGetValue(key, out var datagram))
        {
            datagram = new PendingDatagram(key, frame.TimestampNs, pseudo, depth);
            _pending.Add(key, datagram);
            _arrival.Enqueue(datagram);
            if (_pending.Count > _options.MaxPendingDatagrams) GiveUpOldest();
        }
        datagram.Pieces.Add(new FragmentPiece(frame, payloadPosition, length, offset, more, protocol));
        frame.PendingFragments++;
        frame.Pending = datagram;
        TryComplete(datagram);
    }

    /// <summary>Gives up datagrams whose first fragment is older than the timeout, by capture time.</summary>
    public void Expire(long nowNs)
    {
        long timeoutNs = _options.FragmentTimeout.Ticks * 100;
        while (_arrival.TryPeek(out var oldest))
        {
            if (oldest.Done) { _arrival.Dequeue(); continue; }
            if (nowNs - oldest.FirstTimestampNs <= timeoutNs) break;
            GiveUp(oldest);
        }
    }

    /// <summary>Gives up the datagram a held frame waits for (the hold is over its byte limit).</summary>
    public void GiveUp(PendingDatagram datagram)
    {
        if (datagram.Done) return;
        foreach (var piece in datagram.Pieces)
        {
            // The first fragment keeps its transport header (ports); fragment data goes.
            int keep = piece.Offset == 0 && (datagram.Key.V6 ? piece.Protocol : datagram.Key.Protocol) == 17 ? Math.Min(8, piece.Length) : 0;
            piece.Frame.Keep = Math.Min(piece.Frame.Keep, piece.Position + keep);
            piece.Frame.PendingFragments--;
        }
        Finish(datagram);
        _counters.FragmentedDatagramsGivenUp++;
    }

    /// <summary>The capture ended: nothing else will arrive.</summary>
    public void GiveUpAll()
    {
        while (_arrival.TryDequeue(out var datagram)) GiveUp(datagram);
    }

    private void GiveUpOldest()
    {
        while (_arrival.TryDequeue(out var oldest))
        {
            if (oldest.Done) continue;
            GiveUp(oldest);
            return;
        }
    }

    private void Finish(PendingDatagram datagram)
    {
        datagram.Done = true;
        _pending.Remove(datagram.Key);
    }

    private void TryComplete(PendingDatagram datagram)
    {
        var pieces = datagram.Pieces;
        // Few fragments per datagram: an insertion sort by offset keeps arrival order among equals.
        for (int i = pieces.Count - 1; i > 0 && pieces[i].Offset < pieces[i - 1].Offset; i--)
            (pieces[i], pieces[i - 1]) = (pieces[i - 1], pieces[i]);

        int end = 0, total = -1;
        FragmentPiece previous = default;
        bool hasPrevious = false;
        foreach (var piece in pieces)
        {
            if (hasPrevious && piece.Offset == previous.Offset && piece.Length == previous.Length
                && Bytes(piece).SequenceEqual(Bytes(previous)))
            {
                continue; // an exact duplicate: written the same way as its twin
            }
            if (piece.Offset < end || (total >= 0 && piece.Offset >= total))
            {
                GiveUp(datagram); // overlap, as RFC 5722 requires for IPv6 and the decoder does for both
                return;
            }
            if (piece.Offset > end) return; // a hole: wait
            end = piece.Offset + piece.Length;
            if (!piece.More)
            {
                if (total >= 0 && total != end) { GiveUp(datagram); return; }
                total = end;
            }
            previous = piece;
            hasPrevious = true;
        }
        if (total < 0 || end != total) return;
        Complete(datagram, total);
    }

    private static ReadOnlySpan<byte> Bytes(in FragmentPiece piece) => piece.Frame.Data.AsSpan(piece.Position, piece.Length);

    private void Complete(PendingDatagram datagram, int total)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(total, 1));
        byte protocol = datagram.Key.Protocol;
        foreach (var piece in datagram.Pieces)
        {
            Bytes(piece).CopyTo(buffer.AsSpan(piece.Offset));
            if (piece.Offset == 0 && datagram.Key.V6) protocol = piece.Protocol;
        }
        int keep = _rewriter!.RewriteReassembled(buffer, total, protocol, datagram.Pseudo, datagram.Key.V6, datagram.Depth);
        foreach (var piece in datagram.Pieces)
        {
            buffer.AsSpan(piece.Offset, piece.Length).CopyTo(piece.Frame.Data.AsSpan(piece.Position));
            int kept = Math.Clamp(keep - piece.Offset, 0, piece.Length);
            if (kept < piece.Length) piece.Frame.Keep = Math.Min(piece.Frame.Keep, piece.Position + kept);
            piece.Frame.PendingFragments--;
        }
        ArrayPool<byte>.Shared.Return(buffer);
        Finish(datagram);
        _counters.FragmentedDatagramsRewritten++;
    }
}
