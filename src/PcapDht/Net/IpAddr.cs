using System.Buffers.Binary;
using System.Net;
using System.Runtime.CompilerServices;

namespace PcapDht.Net;

/// <summary>
/// An IPv4 or IPv6 address as one 128-bit number. IPv4 is kept in its IPv4-mapped IPv6 form
/// (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) so that one UHUGEINT column and one sorted range table
/// serve both families in DuckDB, and an ordering by value groups each family together.
/// </summary>
public readonly record struct IpAddr(UInt128 Value) : IComparable<IpAddr>
{
    private static readonly UInt128 V4Prefix = (UInt128)0xffffUL << 32;
    private static readonly UInt128 V4Mask = ~(UInt128)uint.MaxValue;

    public bool IsV4 => (Value & V4Mask) == V4Prefix;

    /// <summary>The IPv4 address as a host-order 32-bit number (only meaningful when <see cref="IsV4"/>).</summary>
    public uint V4 => (uint)Value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IpAddr FromV4(uint hostOrder) => new(V4Prefix | hostOrder);

    /// <summary>Reads 4 network-order bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IpAddr FromV4Bytes(ReadOnlySpan<byte> fourBytes) => FromV4(BinaryPrimitives.ReadUInt32BigEndian(fourBytes));

    /// <summary>Reads 16 network-order bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static IpAddr FromV6Bytes(ReadOnlySpan<byte> sixteenBytes) => new(BinaryPrimitives.ReadUInt128BigEndian(sixteenBytes));

    public static IpAddr FromIPAddress(IPAddress address)
    {
        Span<byte> b = stackalloc byte[16];
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            address.TryWriteBytes(b, out _);
            return FromV4Bytes(b[..4]);
        }
        address.TryWriteBytes(b, out _);
        return FromV6Bytes(b);
    }

    public static IpAddr Parse(string text) => FromIPAddress(IPAddress.Parse(text));

    public IPAddress ToIPAddress()
    {
        if (IsV4)
        {
            Span<byte> b4 = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(b4, V4);
            return new IPAddress(b4);
        }
        Span<byte> b = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(b, Value);
        return new IPAddress(b);
    }

    /// <summary>IPv4 dotted quad, or RFC 5952 text for IPv6 (what DuckDB views show).</summary>
    public override string ToString() => ToIPAddress().ToString();

    public int CompareTo(IpAddr other) => Value.CompareTo(other.Value);
}
