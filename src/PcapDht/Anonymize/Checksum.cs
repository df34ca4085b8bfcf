using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace PcapDht.Anonymize;

/// <summary>
/// The Internet checksum (RFC 1071), updated incrementally (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
/// An update moves a checksum by exactly what the rewrite changed, so a checksum that was right stays
/// right and one that was wrong in the capture (checksum offload on the capturing host) stays wrong
/// by the same amount: the rewrite never invents or hides a checksum error. It also works on a
/// datagram whose bytes are not all in view (fragments, frames cut by the snap length).
/// </summary>
internal static class Checksum
{
    /// <summary>The one's-complement sum of <paramref name="data"/> as 16-bit big-endian words (folded, not complemented).</summary>
    public static ushort Sum(ReadOnlySpan<byte> data)
    {
        // Sum native 32-bit words into 64 bits and fold at the end: the one's-complement sum does not
        // depend on byte order except for a final swap (RFC 1071 §2(B)).
        ulong sum = 0;
        var words = MemoryMarshal.Cast<byte, uint>(data);
        foreach (uint w in words) sum += w;
        int tail = words.Length * 4;
        if (data.Length - tail >= 2)
        {
            sum += MemoryMarshal.Read<ushort>(data[tail..]);
            tail += 2;
        }
        if (tail < data.Length)
            sum += BitConverter.IsLittleEndian ? data[tail] : (ulong)data[tail] << 8;
        while (sum >> 16 != 0) sum = (sum & 0xFFFF) + (sum >> 16);
        ushort folded = (ushort)sum;
        return BitConverter.IsLittleEndian ? BinaryPrimitives.ReverseEndianness(folded) : folded;
    }

    /// <summary>Adds two folded sums in one's-complement arithmetic.</summary>
    public static ushort Add(ushort a, ushort b)
    {
        uint s = (uint)a + b;
        return (ushort)((s & 0xFFFF) + (s >> 16));
    }

    /// <summary>
    /// Updates the checksum at <paramref name="field"/> (2 bytes, big-endian) for data whose sum
    /// went from <paramref name="oldSum"/> to <paramref name="newSum"/>. With
    /// <paramref name="zeroMeansNone"/> (UDP over IPv4) a zero checksum stays zero, and a computed
    /// zero is sent as 0xFFFF (RFC 768).
    /// </summary>
    public static void Update(Span<byte> field, ushort oldSum, ushort newSum, bool zeroMeansNone)
    {
        if (oldSum == newSum) return;
        ushort checksum = BinaryPrimitives.ReadUInt16BigEndian(field);
        if (zeroMeansNone && checksum == 0) return;
        ushort updated = (ushort)~Add(Add((ushort)~checksum, (ushort)~oldSum), newSum);
        if (zeroMeansNone && updated == 0) updated = 0xFFFF;
        BinaryPrimitives.WriteUInt16BigEndian(field, updated);
    }
}
