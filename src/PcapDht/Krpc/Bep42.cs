using System.Buffers.Binary;
using System.Numerics;
using PcapDht.Net;

namespace PcapDht.Krpc;

/// <summary>
/// BEP 42 (DHT security extension): a node id's first 21 bits must equal the CRC32C of the node's
/// masked address, with the id's last byte supplying 3 random bits.
/// </summary>
public static class Bep42
{
    private const uint V4Mask = 0x030f3fff;
    private const ulong V6Mask = 0x0103070f1f3f7fff;

    /// <summary>
    /// True when <paramref name="id"/> (20 bytes) is valid for <paramref name="address"/>. Addresses BEP 42
    /// exempts (loopback, private, link-local, unique-local) are always valid; ids of another length never are.
    /// </summary>
    public static bool IsValidNodeId(IpAddr address, ReadOnlySpan<byte> id)
    {
        if (id.Length != 20)
            return false;
        if (IsExempt(address))
            return true;
        uint crc = ExpectedPrefix(address, id[19]);
        return id[0] == (byte)(crc >> 24)
            && id[1] == (byte)(crc >> 16)
            && (id[2] & 0xf8) == ((crc >> 8) & 0xf8);
    }

    /// <summary>The CRC32C BEP 42 derives from the masked address and the random byte (its low 3 bits).</summary>
    public static uint ExpectedPrefix(IpAddr address, byte random)
    {
        uint r = (uint)(random & 0x7);
        uint crc = 0xffffffff;
        if (address.IsV4)
        {
            uint masked = (address.V4 & V4Mask) | (r << 29);
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, masked);
            foreach (byte b in bytes)
                crc = BitOperations.Crc32C(crc, b);
        }
        else
        {
            ulong high = (ulong)(address.Value >> 64);
            ulong masked = (high & V6Mask) | ((ulong)r << 61);
            Span<byte> bytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(bytes, masked);
            foreach (byte b in bytes)
                crc = BitOperations.Crc32C(crc, b);
        }
        return ~crc;
    }

    /// <summary>BEP 42: "local network" addresses are not subject to the restriction.</summary>
    public static bool IsExempt(IpAddr address)
    {
        if (address.IsV4)
        {
            uint a = address.V4;
            return (a >> 24) == 10             // 10/8
                || (a >> 24) == 127            // 127/8
                || (a >> 20) == 0xac1          // 172.16/12
                || (a >> 16) == 0xc0a8         // 192.168/16
                || (a >> 16) == 0xa9fe;        // 169.254/16
        }
        ulong top = (ulong)(address.Value >> 64);
        return address.Value == 1                  // ::1
            || (top >> 57) == (0xfc >> 1)          // fc00::/7
            || (top >> 54) == (0xfe80 >> 6);       // fe80::/10
    }
}
