namespace PcapDht.Bencode.Simd;

/// <summary>The reference: one byte at a time, value accumulated on the way.</summary>
internal sealed class ScalarDigitScanner : IDigitScanner
{
    public static int ScanDigits(ReadOnlySpan<byte> data, int start, int max, out ulong value)
    {
        int end = Math.Min(data.Length, start + max);
        ulong v = 0;
        int i = start;
        while (i < end)
        {
            uint digit = (uint)(data[i] - '0');
            if (digit > 9)
                break;
            v = v * 10 + digit; // wraps past 19 digits; callers reject those by count
            i++;
        }
        value = v;
        return i - start;
    }

    public static int CountFixedStrings(ReadOnlySpan<byte> data, int start, int length)
    {
        byte tens = (byte)('0' + length / 10), units = (byte)('0' + length % 10);
        int prefix = length >= 10 ? 3 : 2;
        int stride = prefix + length;
        int count = 0;
        int p = start;
        while (p <= data.Length - stride)
        {
            if (prefix == 2 ? data[p] != units || data[p + 1] != (byte)':'
                            : data[p] != tens || data[p + 1] != units || data[p + 2] != (byte)':')
                break;
            count++;
            p += stride;
        }
        return count;
    }

    /// <summary>Value of <paramref name="count"/> digits known to be ASCII digits.</summary>
    public static ulong ParseKnownDigits(ReadOnlySpan<byte> data, int start, int count)
    {
        ulong v = 0;
        foreach (byte d in data.Slice(start, count))
            v = v * 10 + (uint)(d - '0');
        return v;
    }
}
