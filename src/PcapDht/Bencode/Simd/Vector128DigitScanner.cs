using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PcapDht.Bencode.Simd;

/// <summary>
/// 16 bytes per compare: a length prefix and its ':' are found with one load and no data-dependent
/// branch. Near the end of the buffer the last 16 bytes are loaded and the mask shifted, so short
/// tails (the "1:y1:re" every message ends with) stay vectorized.
/// </summary>
internal sealed class Vector128DigitScanner : IDigitScanner
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountDigits(ReadOnlySpan<byte> data, int start, int max)
    {
        int length = data.Length;
        int available = length - start;
        if (available <= 0)
            return 0;
        if (length < Vector128<byte>.Count)
            return ScalarDigitScanner.CountDigits(data, start, max);
        ref byte origin = ref MemoryMarshal.GetReference(data);
        int loadAt = Math.Min(start, length - Vector128<byte>.Count);
        uint mask = NonDigitMask(Vector128.LoadUnsafe(ref origin, (nuint)loadAt)) >> (start - loadAt);
        if (mask != 0)
            return Math.Min(BitOperations.TrailingZeroCount(mask), max);
        int run = Math.Min(available, Vector128<byte>.Count - (start - loadAt));
        if (run >= max || run == available)
            return Math.Min(run, max);
        return run + ScalarDigitScanner.CountDigits(data, start + run, max - run);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint NonDigitMask(Vector128<byte> v) =>
        Vector128.GreaterThanOrEqual(v - Vector128.Create((byte)'0'), Vector128.Create((byte)10)).ExtractMostSignificantBits();
}
