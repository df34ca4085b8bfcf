using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Pipeline;

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
internal sealed unsafe partial class TransactionMatcher
{
    private const int Ways = 4;
    private const ulong Empty = 0;

    // Hot: one bucket = Ways x 16 bytes = one cache line. Cold: the query records, read on a match.
    // Both live in one native block on 2 MB pages where the OS allows it (see the constructor).
    private readonly Slot* _slots;
    private readonly Query* _queries;
    private readonly int _slotCount;
    private string?[]? _otherNames;
    private bool _otherNamesUsed; // since the last Reset
    private readonly int _bucketMask;

    public TransactionMatcher(int buckets = 1 << 16)
    {
        if (!BitOperations.IsPow2(buckets)) throw new ArgumentOutOfRangeException(nameof(buckets));
        _slotCount = buckets * Ways;
        // Every lookup lands on a random bucket of a 10 MB table: on 4 KB pages that is a TLB miss as well
        // as a cache miss. The block is aligned to 2 MB and offered to transparent huge pages (Linux, THP
        // "madvise" or "always"); elsewhere it is an ordinary aligned allocation.
        nuint bytes = (nuint)_slotCount * (nuint)(sizeof(Slot) + sizeof(Query));
        const nuint HugePage = 2 << 20;
        bytes = (bytes + HugePage - 1) & ~(HugePage - 1);
        _block = NativeMemory.AlignedAlloc(bytes, HugePage);
        if (OperatingSystem.IsLinux()) _ = madvise(_block, bytes, MadvHugePage); // a refusal only costs the TLB misses
        NativeMemory.Clear(_block, bytes);
        _slots = (Slot*)_block;
        _queries = (Query*)(_slots + _slotCount);
        _bucketMask = buckets - 1;
    }

    private readonly void* _block;
    private const int MadvHugePage = 14;

    [LibraryImport("libc")]
    private static partial int madvise(void* addr, nuint length, int advice);

    ~TransactionMatcher() => NativeMemory.AlignedFree(_block);

    public long Evicted { get; private set; }

    /// <summary>Responses and errors that found their query.</summary>
    public long Matched { get; private set; }

    /// <summary>
    /// Forgets every pending query: a new capture starts, and its responses must not match another
    /// capture's queries. Clears only the fingerprints (4 MB; a query record is read only after its
    /// fingerprint matched), so a session reuses one table across many small files.
    /// </summary>
    public void Reset()
    {
        NativeMemory.Clear(_slots, (nuint)_slotCount * (nuint)sizeof(Slot));
        // Cleared, not dropped: the array (2 MB, a large-object allocation) was made again for every file that had
        // one such query, and each made the GC run a full collection (100-file benchmark: 100 gen2 collections).
        if (_otherNamesUsed) Array.Clear(_otherNames!);
        _otherNamesUsed = false;
        Evicted = 0;
        Matched = 0;
    }

    /// <summary>
    /// The matching stage for one message whose <paramref name="probe"/> was taken before its columns were
    /// encoded: a query is remembered, a response or error looks up (and forgets) its query and takes its
    /// method, round-trip time and, for <c>values</c> without an info_hash of their own, the query's.
    /// </summary>
    public MatchResult Resolve(in Probe probe, bool isQuery, long timestampNs, KrpcMethod method, string? otherName,
        bool hasInfoHash, UInt128 infoHashHi, uint infoHashLo)
    {
        if (isQuery)
        {
            AddQuery(probe, timestampNs, method, otherName, hasInfoHash, infoHashHi, infoHashLo);
            return new MatchResult(method, otherName, -1, hasInfoHash, infoHashHi, infoHashLo);
        }
        if (!TryMatch(probe, out var q)) return new MatchResult(KrpcMethod.None, null, -1, hasInfoHash, infoHashHi, infoHashLo);
        Matched++;
        long rtt = (timestampNs - q.QueryTimestampNs) / 1000;
        // The response's `values` belong to the info_hash of its get_peers query.
        return !hasInfoHash && q.HasInfoHash
            ? new MatchResult(q.Method, q.OtherName, rtt, true, q.InfoHashHi, q.InfoHashLo)
            : new MatchResult(q.Method, q.OtherName, rtt, hasInfoHash, infoHashHi, infoHashLo);
    }

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

    /// <summary>A key's fingerprint and bucket, computed (and its memory prefetched) ahead of the lookup.</summary>
    public readonly struct Probe
    {
        internal readonly ulong Fingerprint;
        internal readonly int Bucket; // index of the bucket's first slot

        internal Probe(ulong fingerprint, int bucket)
        {
            Fingerprint = fingerprint;
            Bucket = bucket;
        }
    }

    /// <summary>
    /// The probe for a query sent from the datagram's source to its destination. Starts loading the
    /// bucket and its query records into the cache: the table (10 MB) is far larger than the caches, and
    /// the two misses per lookup were a tenth of ingest's decoding thread (perf, 2M messages), stalled on
    /// the first load of the bucket. The caller fills its columns meanwhile and looks up last.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Probe ProbeQuery(ulong tx, byte txLen, in UdpDatagram d) =>
        Prefetch(Hash(tx, txLen, d.Source.Value, d.SourcePort, d.Destination.Value, d.DestinationPort, out ulong bh), bh);

    /// <summary>The probe for a response or error: the responder is the datagram's source, the querier its destination.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Probe ProbeResponse(ulong tx, byte txLen, in UdpDatagram d) =>
        Prefetch(Hash(tx, txLen, d.Destination.Value, d.DestinationPort, d.Source.Value, d.SourcePort, out ulong bh), bh);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Probe Prefetch(ulong fingerprint, ulong bucketHash)
    {
        int b = (int)(bucketHash & (ulong)_bucketMask) * Ways;
        if (Sse.IsSupported)
        {
            Sse.Prefetch0(_slots + b);
            Sse.Prefetch0(_queries + b);
            Sse.Prefetch0((byte*)(_queries + b + Ways) - 1);
        }
        return new Probe(fingerprint, b);
    }

    /// <summary>Remembers a query sent from source to destination; a newer query with the same key replaces it.</summary>
    public void AddQuery(ulong tx, byte txLen, in UdpDatagram d, KrpcMethod method, string? otherName,
        bool hasInfoHash, UInt128 infoHashHi, uint infoHashLo) =>
        AddQuery(ProbeQuery(tx, txLen, d), d.TimestampNs, method, otherName, hasInfoHash, infoHashHi, infoHashLo);

    /// <summary>Remembers a query (see <see cref="ProbeQuery"/>); a newer query with the same key replaces it.</summary>
    public void AddQuery(in Probe probe, long timestampNs, KrpcMethod method, string? otherName,
        bool hasInfoHash, UInt128 infoHashHi, uint infoHashLo)
    {
        ulong fp = probe.Fingerprint;
        int b = probe.Bucket;
        ref Slot bucket = ref _slots[b];
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
        n.TimestampNs = timestampNs;

        int slot = b + way;
        ref Query qr = ref _queries[slot];
        if (qr.Method == KrpcMethod.Other || method == KrpcMethod.Other)
        {
            _otherNames ??= new string?[_slotCount];
            _otherNames[slot] = otherName;
            _otherNamesUsed = true;
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
    public bool TryMatch(ulong tx, byte txLen, in UdpDatagram d, out Match match) => TryMatch(ProbeResponse(tx, txLen, d), out match);

    /// <summary>Finds (and forgets) the query a response/error answers (see <see cref="ProbeResponse"/>).</summary>
    public bool TryMatch(in Probe probe, out Match match)
    {
        ulong fp = probe.Fingerprint;
        int b = probe.Bucket;
        ref Slot bucket = ref _slots[b];
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

/// <summary>What the matching stage adds to a message row: its method (a response's comes from its query), the
/// round-trip time in µs (-1 when unmatched or a query) and the info_hash its <c>values</c> peers belong to.</summary>
internal readonly record struct MatchResult(KrpcMethod Method, string? OtherName, long RttUs, bool HasInfoHash, UInt128 InfoHashHi, uint InfoHashLo);
