using System.Diagnostics.CodeAnalysis;

namespace PcapDht.Bencode;

/// <summary>The only throws of the decode path live here, out of the hot methods (they are API misuse, never bad input).</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowNotInteger(BencodeTokenType actual) =>
        throw new InvalidOperationException($"The current bencode token is {actual}, not an integer.");
}
