using System.Numerics;

namespace PcapDht.Synth.Population;

/// <summary>
/// A DHT of exactly <see cref="Count"/> nodes with uniformly random ids, and the Kademlia routing
/// table every node would hold in it, without storing any table. Ids are kept as their first 64 bits,
/// sorted, so "every node whose id starts with these b bits" is one index range found by binary
/// search (64 bits separate ids of any population this machine can hold: two of 5 million random
/// ids share their first 64 bits with probability ~7e-7). The other 12 bytes of an id, and a node's
/// address and port, are derived from its first 64 bits where needed.
/// </summary>
/// <remarks>
/// Routing table of a node X (Kademlia, Maymounkov and Mazières 2002; BEP 5): bucket q holds nodes
/// that share exactly q leading bits with X (they differ from X at bit q). When that region of the id
/// space holds at most <see cref="BucketSize"/> nodes X knows them all; otherwise X knows a fixed
/// random subset of <see cref="BucketSize"/> of them, the same for every query (seeded by X and q).
/// Asked for a target T, X answers with the <see cref="BucketSize"/> ids closest to T (XOR) that it
/// knows, never itself: the mechanism that makes an iterative lookup converge on T's neighbourhood.
/// </remarks>
public sealed class IdPopulation
{
    public const int BucketSize = 8;

    private readonly ulong[] _ids;
    private readonly ulong _seed;

    /// <summary>Draws <paramref name="count"/> distinct random ids (distinct in their first 64 bits).</summary>
    public IdPopulation(int count, ulong seed)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), "a population needs at least one node");
        _seed = seed;
        var rng = new SynthRandom(seed ^ 0x1D5EED);
        _ids = new ulong[count];
        for (int i = 0; i < count; i++) _ids[i] = rng.NextU64();
        Array.Sort(_ids);
        // Redraw the (vanishingly rare) duplicates so that the population holds exactly `count` ids.
        for (bool again = true; again;)
        {
            again = false;
            for (int i = 1; i < count; i++)
            {
                if (_ids[i] != _ids[i - 1]) continue;
                _ids[i] = rng.NextU64();
                again = true;
            }
            if (again) Array.Sort(_ids);
        }
    }

    public int Count => _ids.Length;

    /// <summary>The first 64 bits of node <paramref name="index"/>'s id (nodes are sorted by them).</summary>
    public ulong Prefix(int index) => _ids[index];

    /// <summary>The node's full 20-byte id: its first 64 bits, then 12 bytes derived from them.</summary>
    public void WriteId(int index, Span<byte> id20)
    {
        ulong p = _ids[index];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(id20, p);
        var r = new SynthRandom(p ^ _seed ^ 0x1D7A11);
        r.Fill(id20[8..20]);
    }

    /// <summary>A value derived from the node's id alone (its address, port, client), stable across runs.</summary>
    public ulong Derived(int index, ulong salt) => new SynthRandom(_ids[index] ^ _seed ^ salt).NextU64();

    /// <summary>Index range [lo, hi) of the nodes whose ids start with the first <paramref name="bits"/> bits of <paramref name="prefix"/>.</summary>
    public (int Lo, int Hi) Range(ulong prefix, int bits)
    {
        if (bits <= 0) return (0, _ids.Length);
        ulong mask = bits >= 64 ? ulong.MaxValue : ~(ulong.MaxValue >> bits);
        ulong first = prefix & mask;
        ulong last = first | ~mask;
        return (LowerBound(first), UpperBound(last));
    }

    private int LowerBound(ulong value)
    {
        int lo = 0, hi = _ids.Length;
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (_ids[mid] < value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private int UpperBound(ulong value)
    {
        int lo = 0, hi = _ids.Length;
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (_ids[mid] <= value) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>
    /// The <see cref="BucketSize"/> (or fewer) nodes closest to <paramref name="target"/> that a node with
    /// id prefix <paramref name="self"/> knows, closest first, into <paramref name="result"/>; returns how many.
    /// <paramref name="self"/> need not be in the population (the observer's own table works the same way).
    /// </summary>
    public int Answer(ulong self, ulong target, Span<int> result)
    {
        // Buckets of `self`, nearest to the target first: the target's side of the first differing bit p
        // (bucket p) is closer to it than anything in `self`'s own half; deeper buckets lie in that half
        // and are all closer than the shallower ones (q < p), which differ from the target at bit q.
        Span<int> known = stackalloc int[BucketSize * 66];
        int n = 0;
        int p = self == target ? 64 : BitOperations.LeadingZeroCount(self ^ target);
        if (p < 64)
        {
            n += Bucket(self, p, known[n..]);
            if (n < BucketSize)
                for (int q = p + 1; q < 64 && HasOthers(self, q); q++) n += Bucket(self, q, known[n..]);
        }
        else
        {
            for (int q = 0; q < 64 && HasOthers(self, q); q++) n += Bucket(self, q, known[n..]);
        }
        for (int q = Math.Min(p, 64) - 1; q >= 0 && n < BucketSize; q--) n += Bucket(self, q, known[n..]);
        return Closest(known[..n], target, result);
    }

    /// <summary>True when some node other than <paramref name="self"/> shares its first <paramref name="bits"/> bits.</summary>
    private bool HasOthers(ulong self, int bits)
    {
        var (lo, hi) = Range(self, bits);
        int count = hi - lo;
        if (count == 0) return false;
        return count > 1 || _ids[lo] != self;
    }

    /// <summary>The nodes a node knows in its bucket <paramref name="q"/>: all, or a fixed random subset of BucketSize.</summary>
    private int Bucket(ulong self, int q, Span<int> dest)
    {
        ulong flipped = self ^ (1UL << (63 - q));
        var (lo, hi) = Range(flipped, q + 1);
        int size = hi - lo;
        if (size <= BucketSize)
        {
            for (int i = 0; i < size; i++) dest[i] = lo + i;
            return size;
        }
        // A fixed subset per (node, bucket): the node's table does not change from one query to the next.
        var rng = new SynthRandom(self ^ _seed ^ ((ulong)(q + 1) * 0x9E3779B97F4A7C15UL));
        int taken = 0;
        while (taken < BucketSize)
        {
            int pick = lo + rng.Next(size);
            if (dest[..taken].Contains(pick)) continue;
            dest[taken++] = pick;
        }
        return taken;
    }

    /// <summary>Sorts candidate indices by XOR distance to the target and keeps the nearest BucketSize.</summary>
    private int Closest(Span<int> candidates, ulong target, Span<int> result)
    {
        int n = 0;
        Span<ulong> dist = stackalloc ulong[BucketSize];
        foreach (int c in candidates)
        {
            ulong d = _ids[c] ^ target;
            if (n == BucketSize && d >= dist[n - 1]) continue;
            int at = n < BucketSize ? n++ : n - 1;
            while (at > 0 && dist[at - 1] > d)
            {
                dist[at] = dist[at - 1];
                result[at] = result[at - 1];
                at--;
            }
            dist[at] = d;
            result[at] = c;
        }
        return n;
    }
}
