using PcapDht.Bencode.Simd;

namespace PcapDht.Bencode;

/// <summary>Reader settings; <c>default</c> means: depth limit <see cref="DefaultMaxDepth"/>, the start-up SIMD variant.</summary>
public readonly record struct BencodeReaderOptions(int MaxDepth = 0, SimdVariant Simd = SimdVariant.Auto)
{
    /// <summary>
    /// KRPC nests at most 3 deep (message, a/r, values/e list); BEP 44 `v` values are arbitrary but small.
    /// The reader keeps no recursion, so the limit only guards callers that walk values recursively.
    /// </summary>
    public const int DefaultMaxDepth = 64;

    /// <summary>Hard upper bound: the reader keeps one bit per level in a fixed 256-bit stack.</summary>
    public const int MaxSupportedDepth = 256;

    internal int EffectiveMaxDepth => MaxDepth <= 0 ? DefaultMaxDepth : Math.Min(MaxDepth, MaxSupportedDepth);
}
