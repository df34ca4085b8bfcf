using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace PcapDht.Bencode.Simd;

/// <summary>
/// 16 bytes per compare: a length prefix and its ':' are found with one load and a trailing-zero
/// count, then valued with <see cref="Swar"/>. Near the end of the buffer the last 16 bytes are
/// loaded and the mask shifted, so short tails (the "1:y1:re" every message ends with) stay
/// vectorized.
/// </summary>
internal sealed class Vector128DigitScanner : IDigitScanner
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
    /// 2 of them. Other sizes (IPv6 "18:" + 18) and the tail go through the byte loop.
    /// </summary>
    public static int CountFixedStrings(ReadOnlySpan<byte> data, int start, int length)
    {
        if (length != 6)
            return ScalarDigitScanner.CountFixedStrings(data, start, length);
        ref byte origin = ref MemoryMarshal.GetReference(data);
        var mask = Vector128.Create(0x0000_0000_0000_FFFFUL).AsByte();
        var pattern = Vector128.Create((ulong)('6' | (':' << 8))).AsByte();
        int p = start;
        int count = 0;
        while (p <= data.Length - Vector128<byte>.Count)
        {
            if (!Vector128.EqualsAll(Vector128.LoadUnsafe(ref origin, (nuint)p) & mask, pattern))
                break;
            p += Vector128<byte>.Count;
            count += 2;
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
        if (length < Vector128<byte>.Count)
            return ScalarDigitScanner.ScanDigits(data, start, max, out _);
        ref byte origin = ref MemoryMarshal.GetReference(data);
        int loadAt = Math.Min(start, length - Vector128<byte>.Count);
        uint mask = NonDigitMask(Vector128.LoadUnsafe(ref origin, (nuint)loadAt)) >> (start - loadAt);
        if (mask != 0)
            return Math.Min(BitOperations.TrailingZeroCount(mask), max);
        int run = Math.Min(available, Vector128<byte>.Count - (start - loadAt));
        if (run >= max || run == available)
            return Math.Min(run, max);
        return run + ScalarDigitScanner.ScanDigits(data, start + run, max - run, out _);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint NonDigitMask(Vector128<byte> v) =>
        Vector128.GreaterThanOrEqual(v - Vector128.Create((byte)'0'), Vector128.Create((byte)10)).ExtractMostSignificantBits();
}
