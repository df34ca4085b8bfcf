using System.Buffers.Binary;
using System.Numerics;
using PcapDht.Net;

namespace PcapDht.Synth;

/// <summary>BEP 42 node ids: the first 21 bits are CRC32-C of the masked address, the last byte is the random r.</summary>
public static class Bep42
{
    private const uint V4Mask = 0x030f3fff;
    private const ulong V6Mask = 0x0103070f1f3f7fffUL;

    /// <summary>The 32-bit CRC32-C (Castagnoli) whose top 21 bits a conforming id must start with.</summary>
    public static uint Prefix(IpAddr ip, byte r)
    {
        Span<byte> b = stackalloc byte[8];
        int n;
        if (ip.IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(b, ip.V4 & V4Mask);
            n = 4;
        }
        else
        {
            BinaryPrimitives.WriteUInt64BigEndian(b, (ulong)(ip.Value >> 64) & V6Mask);
            n = 8;
        }
        b[0] |= (byte)((r & 7) << 5);
        uint crc = uint.MaxValue;
        for (int i = 0; i < n; i++) crc = BitOperations.Crc32C(crc, b[i]);
        return ~crc;
    }

    /// <summary>Overwrites the BEP 42 parts of <paramref name="id"/> (20 bytes, rest kept random).</summary>
    public static void Apply(IpAddr ip, byte r, Span<byte> id)
    {
        uint crc = Prefix(ip, r);
        id[0] = (byte)(crc >> 24);
        id[1] = (byte)(crc >> 16);
        id[2] = (byte)(((crc >> 8) & 0xf8) | (id[2] & 0x07u));
        id[19] = r;
    }

    public static bool Conforms(IpAddr ip, ReadOnlySpan<byte> id)
    {
        if (id.Length != 20) return false;
        uint crc = Prefix(ip, id[19]);
        return id[0] == (byte)(crc >> 24) && id[1] == (byte)(crc >> 16) && (id[2] & 0xf8) == ((crc >> 8) & 0xf8);
    }
}
