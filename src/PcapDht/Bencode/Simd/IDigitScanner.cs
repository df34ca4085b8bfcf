namespace PcapDht.Bencode.Simd;

/// <summary>
/// Scans the run of ASCII digits that starts at <c>start</c>: the one scan every bencode string
/// length and integer needs. Implementations must return exactly min(run of digits, <c>max</c>) and,
/// when that count is at most 19, the digits' value.
/// </summary>
internal interface IDigitScanner
{
    static abstract int ScanDigits(ReadOnlySpan<byte> data, int start, int max, out ulong value);

    /// <summary>
    /// Counts consecutive strings of exactly <c>length</c> bytes (1..99, written without leading
    /// zero: "6:xxxxxx", "18:...") starting at <c>start</c> and lying wholly inside <c>data</c>:
    /// the compact peers of a BEP 5 `values` list.
    /// </summary>
    static abstract int CountFixedStrings(ReadOnlySpan<byte> data, int start, int length);
}
