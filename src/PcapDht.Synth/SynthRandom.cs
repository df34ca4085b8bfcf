using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace PcapDht.Synth;

/// <summary>
/// xoshiro256** seeded through SplitMix64. Own implementation rather than System.Random so that a
/// seed produces the same capture on every .NET version (the generator's output is compared byte
/// for byte).
/// </summary>
internal sealed class SynthRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public SynthRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextU64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, n) by multiply-shift (bias below 2^-32 for the sizes used here).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(int n) => (int)(((UInt128)NextU64() * (ulong)n) >> 64);

    public long NextLong(long n) => (long)(((UInt128)NextU64() * (ulong)n) >> 64);

    /// <summary>Uniform in [lo, hi] inclusive.</summary>
    public int Between(int lo, int hi) => lo + Next(hi - lo + 1);

    public UInt128 NextU128(UInt128 n)
    {
        if (n <= ulong.MaxValue) return (ulong)(((UInt128)NextU64() * (ulong)n) >> 64);
        var r = ((UInt128)NextU64() << 64) | NextU64();
        return r % n;
    }

    public double NextDouble() => (NextU64() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double p) => NextDouble() < p;

    public void Fill(Span<byte> destination)
    {
        while (destination.Length >= 8)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(destination, NextU64());
            destination = destination[8..];
        }
        if (destination.Length > 0)
        {
            ulong v = NextU64();
            for (int i = 0; i < destination.Length; i++) destination[i] = (byte)(v >> (8 * i));
        }
    }
}
