using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using PcapDht.Net;

namespace PcapDht.Anonymize;

/// <summary>
/// Maps addresses with one key, the same way everywhere (captures, exports, the address command):
/// IPv4 with 32-bit Crypto-PAn, IPv6 with 128-bit Crypto-PAn, and an IPv4-mapped IPv6 address
/// (::ffff:a.b.c.d, how <see cref="IpAddr"/> and the store hold IPv4) as its IPv4 address, so an
/// address seen as 4 bytes in one place and as 16 in another still maps to one value.
/// </summary>
/// <remarks>
/// Call it per row or per packet: results are cached (a DHT capture names the same nodes over and
/// over), so a repeated address costs one dictionary look-up instead of 32 or 128 AES blocks. Not
/// thread-safe: give each thread its own instance made from the same <see cref="AnonymizationKey"/>.
/// </remarks>
public sealed class AddressAnonymizer : IDisposable
{
    /// <summary>Cached mappings kept before the cache is emptied (each entry is about 48 bytes).</summary>
    public const int DefaultCacheEntries = 1 << 20;

    private readonly CryptoPan _cryptoPan;
    private readonly Dictionary<UInt128, UInt128> _cache = new();
    private readonly int _cacheEntries;

    public AddressAnonymizer(AnonymizationKey key, int cacheEntries = DefaultCacheEntries)
    {
        _cryptoPan = key.CreateCryptoPan();
        _cacheEntries = cacheEntries;
    }

    /// <summary>Addresses mapped by AES (cache misses).</summary>
    public long Computed { get; private set; }

    public IpAddr Map(IpAddr address) => new(Map(address.Value));

    /// <summary>The same mapping on <see cref="IpAddr.Value"/> (the store's UHUGEINT form).</summary>
    public UInt128 Map(UInt128 value)
    {
        if (_cache.TryGetValue(value, out var mapped)) return mapped;
        var ip = new IpAddr(value);
        mapped = ip.IsV4 ? IpAddr.FromV4(_cryptoPan.AnonymizeV4(ip.V4)).Value : _cryptoPan.AnonymizeV6(value);
        Computed++;
        if (_cache.Count >= _cacheEntries) _cache.Clear();
        _cache[value] = mapped;
        return mapped;
    }

    /// <summary>Maps a host-order IPv4 address.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public uint MapV4(uint address) => (uint)Map(IpAddr.FromV4(address).Value);

    /// <summary>Rewrites 4 network-order bytes in place.</summary>
    public void MapV4InPlace(Span<byte> fourBytes) =>
        BinaryPrimitives.WriteUInt32BigEndian(fourBytes, MapV4(BinaryPrimitives.ReadUInt32BigEndian(fourBytes)));

    /// <summary>Rewrites 16 network-order bytes in place (an IPv4-mapped address keeps its ::ffff:0:0/96 prefix).</summary>
    public void MapV6InPlace(Span<byte> sixteenBytes) =>
        BinaryPrimitives.WriteUInt128BigEndian(sixteenBytes, Map(BinaryPrimitives.ReadUInt128BigEndian(sixteenBytes)));

    public void Dispose() => _cryptoPan.Dispose();
}
