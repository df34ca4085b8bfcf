using System.Numerics;
using System.Runtime.CompilerServices;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Store;

/// <summary>
/// Pairs responses and errors with their query (BEP 5: the responder echoes the transaction id `t`),
/// keyed by transaction id and both endpoints, so a response gets the query's method, its info_hash
/// (for `values` peers) and its round-trip time. Bounded: a fixed table of 4-way buckets; when a
/// bucket is full the oldest pending query is forgotten, so memory does not grow with the capture.
/// </summary>
internal sealed class TransactionMatcher
{
    private const int Ways = 4;
    private readonly Entry[] _entries;
    private readonly int _bucketMask;

    public TransactionMatcher(int buckets = 1 << 16)
    {
        if (!BitOperations.IsPow2(buckets)) throw new ArgumentOutOfRangeException(nameof(buckets));
        _entries = new Entry[buckets * Ways];
        _bucketMask = buckets - 1;
    }

    public long Evicted { get; private set; }

    internal struct Entry
    {
        public ulong Tx;
        public UInt128 Querier, Responder;
        public ushort QuerierPort, ResponderPort;
        public byte TxLen;
        public bool Used;
        public KrpcMethod Method;
        public bool HasInfoHash;
        public long TimestampNs;
        public UInt128 InfoHashHi;
        public uint InfoHashLo;
        public string? OtherName;
    }

    public readonly struct Match
    {
        public readonly KrpcMethod Method;
        public readonly long QueryTimestampNs;
        public readonly bool HasInfoHash;
        public readonly UInt128 InfoHashHi;
        public readonly uint InfoHashLo;
        public readonly string? OtherName;

        internal Match(in Entry e)
        {
            Method = e.Method;
            QueryTimestampNs = e.TimestampNs;
            HasInfoHash = e.HasInfoHash;
            InfoHashHi = e.InfoHashHi;
            InfoHashLo = e.InfoHashLo;
            OtherName = e.OtherName;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Bucket(ulong tx, byte txLen, UInt128 q, ushort qp, UInt128 r, ushort rp)
    {
        ulong h = tx * 0x9E3779B97F4A7C15UL ^ txLen;
        h ^= (ulong)q * 0xC2B2AE3D27D4EB4FUL ^ (ulong)(q >> 64);
        h ^= (ulong)r * 0x165667B19E3779F9UL ^ (ulong)(r >> 64);
        h ^= ((ulong)qp << 16 | rp) * 0x27D4EB2F165667C5UL;
        h ^= h >> 29;
        return (int)(h & (ulong)_bucketMask) * Ways;
    }

    /// <summary>Remembers a query sent from source to destination; a newer query with the same key replaces it.</summary>
    public void AddQuery(ulong tx, byte txLen, in UdpDatagram d, KrpcMethod method, string? otherName,
        bool hasInfoHash, UInt128 infoHashHi, uint infoHashLo)
    {
        int b = Bucket(tx, txLen, d.Source.Value, d.SourcePort, d.Destination.Value, d.DestinationPort);
        int slot = -1;
        long oldest = long.MaxValue;
        int oldestSlot = b;
        for (int i = b; i < b + Ways; i++)
        {
            ref var e = ref _entries[i];
            if (!e.Used) { if (slot < 0) slot = i; continue; }
            if (e.Tx == tx && e.TxLen == txLen && e.Querier == d.Source.Value && e.QuerierPort == d.SourcePort
                && e.Responder == d.Destination.Value && e.ResponderPort == d.DestinationPort)
            {
                slot = i;
                break;
            }
            if (e.TimestampNs < oldest) { oldest = e.TimestampNs; oldestSlot = i; }
        }
        if (slot < 0) { slot = oldestSlot; Evicted++; }
        ref var n = ref _entries[slot];
        n.Tx = tx; n.TxLen = txLen;
        n.Querier = d.Source.Value; n.QuerierPort = d.SourcePort;
        n.Responder = d.Destination.Value; n.ResponderPort = d.DestinationPort;
        n.Used = true; n.Method = method; n.TimestampNs = d.TimestampNs;
        n.HasInfoHash = hasInfoHash; n.InfoHashHi = infoHashHi; n.InfoHashLo = infoHashLo;
        n.OtherName = otherName;
    }

    /// <summary>Finds (and forgets) the query a response/error from source to destination answers.</summary>
    public bool TryMatch(ulong tx, byte txLen, in UdpDatagram d, out Match match)
    {
        // The responder is the datagram's source; the querier its destination.
        int b = Bucket(tx, txLen, d.Destination.Value, d.DestinationPort, d.Source.Value, d.SourcePort);
        for (int i = b; i < b + Ways; i++)
        {
            ref var e = ref _entries[i];
            if (e.Used && e.Tx == tx && e.TxLen == txLen && e.Querier == d.Destination.Value && e.QuerierPort == d.DestinationPort
                && e.Responder == d.Source.Value && e.ResponderPort == d.SourcePort)
            {
                match = new Match(e);
                e.Used = false;
                e.OtherName = null;
                return true;
            }
        }
        match = default;
        return false;
    }
}
