using System.Runtime.CompilerServices;

namespace PcapDht.Net;

/// <summary>
/// IPv4 and IPv6 fragment reassembly with bounded memory. Policy on overlaps (one rule for both
/// families): a fragment with the same offset, length and bytes as one already held is an exact
/// duplicate and ignored; any other overlap, or a second "last fragment" with a different end,
/// drops the whole datagram and every later fragment of it (as RFC 5722 requires for IPv6).
/// Timeouts run on capture time (the largest timestamp seen), so replaying an old file behaves
/// like the live network did. Every fragment given to <see cref="Add"/> that does not complete a
/// datagram ends in exactly one frame-outcome counter of <see cref="NetCounters"/>: held, duplicate,
/// malformed, overlapping or over the limit.
/// </summary>
public sealed class Reassembler
{
    private const int MaxIpPayload = 65535;
    private const int MaxParts = 64;
    private const int KeepFree = 16;

    private readonly ReassemblyLimits _limits;
    private readonly NetCounters _counters;
    private readonly Dictionary<Key, Entry> _entries = [];
    private readonly Stack<Entry> _free = new();
    private readonly List<Entry> _handedOut = [];
    // Entries in arrival order, for the oldest-first eviction and timeout without scanning every entry.
    // Stale items (completed or dropped entries) are skipped when they reach the front.
    private readonly Queue<(Key Key, Entry Entry, int Generation)> _order = new();
    private long _bytes;
    private long _now = long.MinValue;

    public Reassembler(ReassemblyLimits limits, NetCounters counters)
    {
        _limits = limits;
        _counters = counters;
    }

    /// <summary>Datagrams currently waiting for fragments.</summary>
    public int Pending => _entries.Count;

    /// <summary>Bytes of buffers held by pending datagrams.</summary>
    public long PendingBytes => _bytes;

    /// <summary>
    /// Adds one fragment. True when it completed a datagram: <paramref name="datagram"/> is the whole
    /// IP payload (IPv4) or fragmentable part (IPv6), valid until <see cref="ReleaseCompleted"/>, and
    /// <paramref name="protocol"/> is the protocol / next header of the first fragment.
    /// </summary>
    public bool Add(IpAddr source, IpAddr destination, uint id, byte protocolKey, bool v6, int offset, bool more,
        ReadOnlySpan<byte> data, byte protocol, long timestampNs, out ReadOnlySpan<byte> datagram, out byte completedProtocol)
    {
        datagram = default;
        completedProtocol = 0;
        if (timestampNs > _now) _now = timestampNs;
        if (_order.Count != 0) Expire();

        int end = offset + data.Length;
        if (end > MaxIpPayload || (more && (data.Length == 0 || (data.Length & 7) != 0)))
        {
            _counters.MalformedFragments++;
            return false;
        }

        var key = new Key(source, destination, id, protocolKey, v6);
        if (!_entries.TryGetValue(key, out var e))
        {
            if (_entries.Count >= _limits.MaxDatagrams) DropOldest();
            e = _free.Count > 0 ? _free.Pop() : new Entry();
            // A recycled buffer counts against the byte limit like a new one: when it does not fit, Grow makes room.
            if (_bytes + e.Buffer.Length > _limits.MaxBytes) e.Buffer = [];
            e.Reset(timestampNs);
            _entries.Add(key, e);
            _bytes += e.Buffer.Length;
            if (_order.Count > 4 * _limits.MaxDatagrams + 64) CompactOrder();
            _order.Enqueue((key, e, e.Generation));
        }
        if (e.Dropped)
        {
            _counters.OverlappingFragments++;
            return false;
        }

        for (int i = 0; i < e.PartCount; i++)
        {
            var (pOff, pLen) = e.Parts[i];
            if (offset >= pOff + pLen || end <= pOff) continue;
            if (pOff == offset && pLen == data.Length && data.SequenceEqual(e.Buffer.AsSpan(offset, data.Length)))
            {
                _counters.DuplicateFragments++;
                return false;
            }
            DropOverlap(e);
            _counters.OverlappingFragments++;
            return false;
        }
        if ((!more && e.TotalLength >= 0 && e.TotalLength != end) || (e.TotalLength >= 0 && end > e.TotalLength) || e.PartCount == MaxParts)
        {
            DropOverlap(e);
            _counters.OverlappingFragments++;
            return false;
        }
        if (!more)
        {
            // Fragments already held beyond this "last" end are inconsistent with it.
            for (int i = 0; i < e.PartCount; i++)
            {
                if (e.Parts[i].Offset + e.Parts[i].Length > end)
                {
                    DropOverlap(e);
                    _counters.OverlappingFragments++;
                    return false;
                }
            }
            e.TotalLength = end;
        }

        if (e.Buffer.Length < end && !Grow(key, e, end))
        {
            _counters.FragmentsOverLimit++;
            return false;
        }
        data.CopyTo(e.Buffer.AsSpan(offset));
        e.Parts[e.PartCount++] = (offset, data.Length);
        e.Received += data.Length;
        if (offset == 0)
        {
            e.Protocol = protocol;
        }
        if (e.TotalLength < 0 || e.Received != e.TotalLength)
        {
            _counters.FragmentsHeld++;
            return false;
        }

        _entries.Remove(key);
        _bytes -= e.Buffer.Length;
        _handedOut.Add(e);
        _counters.Reassembled++;
        datagram = new ReadOnlySpan<byte>(e.Buffer, 0, e.TotalLength);
        completedProtocol = e.Protocol;
        return true;
    }

    /// <summary>Buffers of datagrams handed out by earlier calls become reusable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ReleaseCompleted()
    {
        if (_handedOut.Count != 0) ReleaseSlow();
    }

    /// <summary>The capture ended: datagrams still waiting are counted as incomplete and let go.</summary>
    public void Finish()
    {
        foreach (var e in _entries.Values)
        {
            if (!e.Dropped) _counters.ReassemblyIncompleteAtEnd++;
            Recycle(e);
        }
        _entries.Clear();
        _order.Clear();
        _bytes = 0;
    }

    private void ReleaseSlow()
    {
        foreach (var e in _handedOut) Recycle(e);
        _handedOut.Clear();
    }

    private void Recycle(Entry e)
    {
        if (_free.Count < KeepFree) _free.Push(e);
    }

    private bool Grow(Key key, Entry e, int needed)
    {
        int size = Math.Max(2048, e.Buffer.Length);
        while (size < needed) size *= 2;
        size = Math.Min(size, MaxIpPayload);
        long growth = size - e.Buffer.Length;
        while (_bytes + growth > _limits.MaxBytes && _entries.Count > 1) DropOldest(except: e);
        if (_bytes + growth > _limits.MaxBytes)
        {
            _counters.ReassemblyDroppedLimit++;
            Remove(key, e);
            return false;
        }
        var bigger = new byte[size];
        e.Buffer.AsSpan(0, Math.Min(e.Buffer.Length, size)).CopyTo(bigger);
        _bytes += growth;
        e.Buffer = bigger;
        return true;
    }

    private void DropOverlap(Entry e)
    {
        _counters.ReassemblyDroppedOverlap++;
        e.Dropped = true;
        e.PartCount = 0;
    }

    private bool IsLive((Key Key, Entry Entry, int Generation) item) =>
        _entries.TryGetValue(item.Key, out var e) && ReferenceEquals(e, item.Entry) && e.Generation == item.Generation;

    private void DropOldest(Entry? except = null)
    {
        while (_order.Count != 0)
        {
            var item = _order.Dequeue();
            if (!IsLive(item)) continue;
            if (ReferenceEquals(item.Entry, except))
            {
                // The datagram being filled right now stays; it moves to the back.
                _order.Enqueue(item);
                if (_order.Count == 1) return;
                continue;
            }
            if (!item.Entry.Dropped) _counters.ReassemblyDroppedLimit++;
            Remove(item.Key, item.Entry);
            return;
        }
    }

    private void Expire()
    {
        while (_order.Count != 0)
        {
            var item = _order.Peek();
            if (!IsLive(item))
            {
                _order.Dequeue();
                continue;
            }
            if (item.Entry.FirstSeenNs + _limits.TimeoutNs > _now) return;
            _order.Dequeue();
            if (!item.Entry.Dropped) _counters.ReassemblyDroppedTimeout++;
            Remove(item.Key, item.Entry);
        }
    }

    private void Remove(Key key, Entry e)
    {
        _entries.Remove(key);
        _bytes -= e.Buffer.Length;
        Recycle(e);
    }

    private void CompactOrder()
    {
        int n = _order.Count;
        for (int i = 0; i < n; i++)
        {
            var item = _order.Dequeue();
            if (IsLive(item)) _order.Enqueue(item);
        }
    }

    private readonly record struct Key(IpAddr Source, IpAddr Destination, uint Id, byte Protocol, bool V6);

    private sealed class Entry
    {
        public byte[] Buffer = [];
        public readonly (int Offset, int Length)[] Parts = new (int, int)[MaxParts];
        public int PartCount;
        public int Received;
        public int TotalLength;
        public long FirstSeenNs;
        public byte Protocol;
        public bool Dropped;
        public int Generation;

        public void Reset(long now)
        {
            Generation++;
            PartCount = 0;
            Received = 0;
            TotalLength = -1;
            FirstSeenNs = now;
            Protocol = 0;
            Dropped = false;
        }
    }
}
