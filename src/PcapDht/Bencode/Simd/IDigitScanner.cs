namespace PcapDht.Bencode.Simd;

/// <summary>
/// Counts the ASCII digits that start at <c>start</c>: the one scan every bencode string length and
/// integer needs. Implementations must return exactly min(run of digits, <c>max</c>).
/// </summary>
internal interface IDigitScanner
{
    static abstract int CountDigits(ReadOnlySpan<byte> data, int start, int max);
}
