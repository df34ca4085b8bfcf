using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PcapDht.Bencode.Simd;

/// <summary>
/// 32 bytes per compare (AVX2): covers a whole 19-digit integer plus its 'e' in one load. Buffers
/// shorter than 32 bytes use the 128-bit scanner.
/// </summary>
internal sealed class Vector256DigitScanner : IDigitScanner
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int CountDigits(ReadOnlySpan<byte> data, int start, int max)
    {
        int length = data.Length;
        int available = length - start;
        if (available <= 0)
            return 0;
        if (length < Vector256<byte>.Count)
            return Vector128DigitScanner.CountDigits(data, start, max);
        ref byte origin = ref MemoryMarshal.GetReference(data);
        int loadAt = Math.Min(start, length - Vector256<byte>.Count);
        uint mask = NonDigitMask(Vector256.LoadUnsafe(ref origin, (nuint)loadAt)) >> (start - loadAt);
        if (mask != 0)
            return Math.Min(BitOperations.TrailingZeroCount(mask), max);
        int run = Math.Min(available, Vector256<byte>.Count - (start - loadAt));
        if (run >= max || run == available)
            return Math.Min(run, max);
        return run + ScalarDigitScanner.CountDigits(data, start + run, max - run);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint NonDigitMask(Vector256<byte> v) =>
        Vector256.GreaterThanOrEqual(v - Vector256.Create((byte)'0'), Vector256.Create((byte)10)).ExtractMostSignificantBits();
}
