using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PcapDht.Bencode.Simd;

/// <summary>
/// 32 bytes per compare (AVX2): covers a whole 19-digit integer plus its 'e' in one load, then
/// <see cref="Swar"/> for the value. Buffers shorter than 32 bytes use the 128-bit count.
/// </summary>
internal sealed class Vector256DigitScanner : IDigitScanner
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int ScanDigits(ReadOnlySpan<byte> data, int start, int max, out ulong value)
    {
        int count = CountDigits(data, start, max);
        // 1..8 digits (every length and nearly every integer in KRPC) take the branch-free path.
        if ((uint)(count - 1) >= 8 || !Swar.TryParseUpTo8(data, start, count, out value))
            value = ScalarDigitScanner.ParseKnownDigits(data, start, Math.Min(count, 19));
        return count;
    }

    /// <summary>
    /// IPv4 peers ("6:" + 6 bytes) are 8-byte records: one masked compare checks the prefixes of
    /// 4 of them. Other sizes (IPv6 "18:" + 18) and the tail go through the byte loop.
    /// </summary>
    public static int CountFixedStrings(ReadOnlySpan<byte> data, int start, int length)
    {
        if (length != 6)
            return ScalarDigitScanner.CountFixedStrings(data, start, length);
        ref byte origin = ref MemoryMarshal.GetReference(data);
        var mask = Vector256.Create(0x0000_0000_0000_FFFFUL).AsByte();
        var pattern = Vector256.Create((ulong)('6' | (':' << 8))).AsByte();
        int p = start;
        int count = 0;
        while (p <= data.Length - Vector256<byte>.Count)
        {
            if (!Vector256.EqualsAll(Vector256.LoadUnsafe(ref origin, (nuint)p) & mask, pattern))
                break;
            p += Vector256<byte>.Count;
            count += 4;
        }
        return count + ScalarDigitScanner.CountFixedStrings(data, p, length);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int CountDigits(ReadOnlySpan<byte> data, int start, int max)
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
        return run + ScalarDigitScanner.ScanDigits(data, start + run, max - run, out _);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint NonDigitMask(Vector256<byte> v) =>
        Vector256.GreaterThanOrEqual(v - Vector256.Create((byte)'0'), Vector256.Create((byte)10)).ExtractMostSignificantBits();
}
