using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace PcapDht.Net;

/// <summary>An IPv6 fragment header (RFC 8200 §4.5), read by <see cref="Ipv6Extension.TryReadFragment"/>.</summary>
/// <param name="Next">The protocol of the fragmentable part.</param>
/// <param name="Offset">Where this fragment's data goes in the datagram, in bytes.</param>
/// <param name="More">The M flag: fragments follow.</param>
/// <param name="Id">The identification shared by the datagram's fragments.</param>
public readonly record struct Ipv6Fragment(byte Next, int Offset, bool More, uint Id)
{
    /// <summary>An atomic fragment (RFC 6946): offset 0 and no more, the whole packet, nothing to wait for.</summary>
    public bool IsAtomic => Offset == 0 && !More;
}

/// <summary>
/// The IPv6 extension headers' layouts, read once for the decoder (<see cref="PacketDecoder"/>) and the
/// anonymizer's rewriter, which walk the same chains.
/// </summary>
public static class Ipv6Extension
{
    public const byte Fragment = 44;
    public const byte AuthenticationHeader = 51;

    /// <summary>
    /// The length in bytes of the lengthed header at the start of <paramref name="rest"/> (hop-by-hop, routing, destination options, mobility, HIP, shim6, AH),
    /// or -1 when it does not fit. AH counts 4-byte units minus 2 (RFC 4302 §2.2), the others 8-byte units minus 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Length(byte next, ReadOnlySpan<byte> rest)
    {
        if (rest.Length < 8) return -1;
        int length = next == AuthenticationHeader ? (rest[1] + 2) * 4 : (rest[1] + 1) * 8;
        return rest.Length < length ? -1 : length;
    }

    /// <summary>Reads the 8-byte fragment header at the start of <paramref name="rest"/>; false when it does not fit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadFragment(ReadOnlySpan<byte> rest, out Ipv6Fragment fragment)
    {
        if (rest.Length < 8)
        {
            fragment = default;
            return false;
        }
        int field = BinaryPrimitives.ReadUInt16BigEndian(rest[2..]);
        fragment = new Ipv6Fragment(rest[0], field & 0xFFF8, (field & 1) != 0, BinaryPrimitives.ReadUInt32BigEndian(rest[4..]));
        return true;
    }
}
