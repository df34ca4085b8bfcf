namespace PcapDht.Bencode.Simd;

/// <summary>Which digit-scanning implementation the bencode reader uses.</summary>
public enum SimdVariant : byte
{
    /// <summary>Use <see cref="SimdSelection.Default"/> (chosen once at start-up).</summary>
    Auto = 0,
    /// <summary>Byte loop; the reference every other variant must agree with.</summary>
    Scalar = 1,
    Vector128 = 2,
    Vector256 = 3,
}

/// <summary>
/// Chooses the variant once per process. <c>PCAPDHT_SIMD=scalar|v128|v256</c> forces one (a forced
/// variant runs on any machine: without hardware support .NET emulates the vector type), so CI runs the
/// decoder's test classes per variant (scripts/test.sh); an unknown value is ignored.
/// </summary>
public static class SimdSelection
{
    public const string EnvironmentVariable = "PCAPDHT_SIMD";

    /// <summary>The variant <see cref="SimdVariant.Auto"/> resolves to in this process.</summary>
    public static readonly SimdVariant Default = Choose(Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>The variants, scalar first; tests iterate over these.</summary>
    public static ReadOnlySpan<SimdVariant> All => [SimdVariant.Scalar, SimdVariant.Vector128, SimdVariant.Vector256];

    public static SimdVariant Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "scalar" => SimdVariant.Scalar,
        "v128" or "vector128" => SimdVariant.Vector128,
        "v256" or "vector256" => SimdVariant.Vector256,
        _ => SimdVariant.Auto,
    };

    internal static SimdVariant Choose(string? environmentValue)
    {
        var forced = Parse(environmentValue);
        if (forced != SimdVariant.Auto)
            return forced;
        // Measured (docs/benchmarks.md, "Decoder"): KRPC's lengths are 1-3 digits, where the byte
        // loop beats a vector compare plus SWAR (vector variants 0.7-0.9x of scalar on the sample
        // mix, also on large replies). The vector variants stay selectable and tested.
        return SimdVariant.Scalar;
    }

    internal static SimdVariant Resolve(SimdVariant variant) => variant == SimdVariant.Auto ? Default : variant;
}
