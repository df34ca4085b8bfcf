using System.Numerics;

namespace PcapDht.Live;

/// <summary>
/// Approximate count of distinct 128-bit keys (HyperLogLog, 2^14 one-byte registers: 16 KiB, about 0.8 %
/// standard error) for the progress line. A sensor runs for weeks and the DHT has millions of node ids;
/// an exact set would grow without bound. Exact counts come from SQL (count(DISTINCT node_id)).
/// </summary>
internal sealed class DistinctCounter
{
    private const int Bits = 14;
    private const int Registers = 1 << Bits;
    private readonly byte[] _m = new byte[Registers];

    public void Add(UInt128 key)
    {
        // Mix the key: node ids are attacker-chosen, so do not trust them to be uniform.
        ulong h = Mix((ulong)key ^ Mix((ulong)(key >> 64) + 0x9E3779B97F4A7C15UL));
        int j = (int)(h >> (64 - Bits));
        byte rank = (byte)(BitOperations.LeadingZeroCount((h << Bits) | (1UL << (Bits - 1))) + 1);
        if (rank > _m[j]) _m[j] = rank;
    }

    public long Estimate()
    {
        double sum = 0;
        int zeros = 0;
        foreach (byte r in _m)
        {
            sum += Math.ScaleB(1.0, -r);
            if (r == 0) zeros++;
        }
        double alpha = 0.7213 / (1 + 1.079 / Registers);
        double e = alpha * Registers * (double)Registers / sum;
        if (e <= 2.5 * Registers && zeros > 0) e = Registers * Math.Log((double)Registers / zeros);
        return (long)Math.Round(e);
    }

    private static ulong Mix(ulong x)
    {
        // splitmix64 finaliser
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }
}
