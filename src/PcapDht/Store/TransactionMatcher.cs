using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Store;

/// <summary>
/// Pairs responses and errors with their query (BEP 5: the responder echoes the transaction id `t`),
/// keyed by transaction id and both endpoints, so a response gets the query's method, its info_hash
/// (for `values` peers) and its round-trip time. Bounded: a fixed table of 4-way buckets; when a
/// bucket is full the oldest pending query is forgotten, so memory does not grow with the capture.
/// </summary>
/// <remarks>
/// The key (t up to 8 bytes + its length, both addresses and ports: 45 bytes) is kept as a 64-bit
/// fingerprint, and each bucket's fingerprints and timestamps fill exactly one 64-byte cache line,
/// so a lookup touches one line. The first version kept the whole key, the info_hash and a string
/// in a ~112-byte entry: a bucket spanned 7 lines of a 31 MB table and every insert paid a GC write
/// barrier (8% of ingest's decode thread, perf, 2M-message capture). Both layouts cost about one
/// cache/TLB miss per query on this table size, so the gain is mostly memory (31 MB to 10 MB) and no
/// write barriers; the time per query did not change measurably. The fingerprint and the
/// bucket index come from two independently mixed 64-bit hashes, so two different keys are confused
/// with probability about 2^-62 per lookup. The rare method name of an <see cref="KrpcMethod.Other"/>
/// query lives in a side array that the common methods never touch.
/// </remarks>
internal sealed class TransactionMatcher
{
    private const int Ways = 4;
    private const ulong Empty = 0;

    // Hot: one bucket = Ways x 16 bytes = one cache line (the array is pinned and aligned below).
    private readonly Slot[] _slots;
    private readonly int _base;
    // Cold: read on a match, written on a query.
    private readonly Query[] _queries;
    private string?[]? _otherNames;
    private readonly int _bucketMask;

    public TransactionMatcher(int buckets = 1 << 16)
    {
        if (!BitOperations.IsPow2(buckets)) throw new ArgumentOutOfRangeException(nameof(buckets));
        int n = buckets * Ways;
        // Pinned so its address is stable; a few spare slots let a bucket start on a 64-byte boundary.
        _slots = GC.AllocateArray<Slot>(n + Ways, pinned: true);
        unsafe
        {
            nint addr = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_slots));
            _base = (int)((64 - (addr & 63)) & 63) / Unsafe.SizeOf<Slot>();
        }
        _queries = new Query[n];
        _bucketMask = buckets - 1;
    }

    public long Evicted { get; private set; }

    [StructLayout(LayoutKind.Sequential, Size = 16)]
    private struct Slot
    {
        public ulong Fingerprint; // Empty when free
        public long TimestampNs;
    }

    private struct Query
    {
        public ulong InfoHashHiHi, InfoHashHiLo;
        public uint InfoHashLo;
        public KrpcMethod Method;
        public bool HasInfoHash;
    }

    public readonly struct Match
    {
        public readonly KrpcMethod Method;
        public readonly long QueryTimestampNs;
        public readonly bool HasInfoHash;
        public readonly UInt128 InfoHashHi;
        public readonly uint InfoHashLo;
        public readonly string? OtherName;

        internal Match(KrpcMethod method, long queryTimestampNs, bool hasInfoHash, UInt128 infoHashHi, uint infoHashLo, string? otherName)
        {
            Method = method;
            QueryTimestampNs = queryTimestampNs;
            HasInfoHash = hasInfoHash;
            InfoHashHi = infoHashHi;
            InfoHashLo = infoHashLo;
            OtherName = otherName;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong a, ulong b)
    {
        // wyhash's multiply-fold: full 64x64->128 product, halves xored.
        ulong hi = Math.BigMul(a, b, out ulong lo);
        return hi ^ lo;
    }

    /// <summary>Two independent 64-bit hashes of the key: one picks the bucket, the other is stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Hash(ulong tx, byte txLen, UInt128 q, ushort qp, UInt128 r, ushort rp, out ulong bucketHash)
    {
        ulong ports = (ulong)qp << 32 | (ulong)rp << 16 | txLen;
        ulong h = Mix(tx ^ 0xa0761d6478bd642fUL, ports ^ 0xe7037ed1a0b428dbUL)
            ^ Mix((ulong)q ^ 0x8ebc6af09c88c6e3UL, (ulong)(q >> 64) ^ 0x589965cc75374cc3UL)
            ^ Mix((ulong)r ^ 0x1d8e4e27c47d124fUL, (ulong)(r >> 64) ^ 0x9E3779B97F4A7C15UL);
        bucketHash = Mix(h ^ 0xC2B2AE3D27D4EB4FUL, 0x165667B19E3779F9UL);
        ulong fp = Mix(h ^ 0x27D4EB2F165667C5UL, 0xa0761d6478bd642fUL);
        return fp == Empty ? 1 : fp;
    }

    /// <summary>Remembers a query sent from source to destination; a newer query with the same key replaces it.</summary>
    public void AddQuery(ulong tx, byte txLen, in UdpDatagram d, KrpcMethod method, string? otherName,
        bool hasInfoHash, UInt128 infoHashHi, uint infoHashLo)
    {
        ulong fp = Hash(tx, txLen, d.Source.Value, d.SourcePort, d.Destination.Value, d.DestinationPort, out ulong bh);
        int b = (int)(bh & (ulong)_bucketMask) * Ways;
        ref Slot bucket = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), _base + b);
        int way = -1;
        int oldestWay = 0;
        long oldest = long.MaxValue;
        for (int i = 0; i < Ways; i++)
        {
            ref Slot s = ref Unsafe.Add(ref bucket, i);
            if (s.Fingerprint == fp) { way = i; break; }
            if (s.Fingerprint == Empty) { if (way < 0) way = i; continue; }
            if (s.TimestampNs < oldest) { oldest = s.TimestampNs; oldestWay = i; }
        }
        if (way < 0) { way = oldestWay; Evicted++; }
        ref Slot n = ref Unsafe.Add(ref bucket, way);
        n.Fingerprint = fp;
        n.TimestampNs = d.TimestampNs;

        int slot = b + way;
        ref Query qr = ref _queries[slot];
        if (qr.Method == KrpcMethod.Other || method == KrpcMethod.Other)
        {
            _otherNames ??= new string?[_queries.Length];
            _otherNames[slot] = otherName;
        }
        qr.Method = method;
        qr.HasInfoHash = hasInfoHash;
        if (hasInfoHash)
        {
            qr.InfoHashHiHi = (ulong)(infoHashHi >> 64);
            qr.InfoHashHiLo = (ulong)infoHashHi;
            qr.InfoHashLo = infoHashLo;
        }
    }

    /// <summary>Finds (and forgets) the query a response/error from source to destination answers.</summary>
    public bool TryMatch(ulong tx, byte txLen, in UdpDatagram d, out Match match)
    {
        // The responder is the datagram's source; the querier its destination.
        ulong fp = Hash(tx, txLen, d.Destination.Value, d.DestinationPort, d.Source.Value, d.SourcePort, out ulong bh);
        int b = (int)(bh & (ulong)_bucketMask) * Ways;
        ref Slot bucket = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_slots), _base + b);
        for (int i = 0; i < Ways; i++)
        {
            ref Slot s = ref Unsafe.Add(ref bucket, i);
            if (s.Fingerprint != fp) continue;
            s.Fingerprint = Empty;
            ref Query qr = ref _queries[b + i];
            string? name = null;
            if (qr.Method == KrpcMethod.Other && _otherNames != null)
            {
                name = _otherNames[b + i];
                _otherNames[b + i] = null;
            }
            match = new Match(qr.Method, s.TimestampNs, qr.HasInfoHash,
                qr.HasInfoHash ? new UInt128(qr.InfoHashHiHi, qr.InfoHashHiLo) : default, qr.HasInfoHash ? qr.InfoHashLo : 0, name);
            return true;
        }
        match = default;
        return false;
    }
}
