namespace PcapDht.Bencode.Simd;

/// <summary>The reference: one byte at a time.</summary>
internal sealed class ScalarDigitScanner : IDigitScanner
{
    public static int CountDigits(ReadOnlySpan<byte> data, int start, int max)
    {
        int end = Math.Min(data.Length, start + max);
        int i = start;
        while (i < end && (uint)(data[i] - '0') <= 9)
            i++;
        return i - start;
    }
}
