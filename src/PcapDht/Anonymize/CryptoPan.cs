using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PcapDht.Anonymize;

/// <summary>
/// Crypto-PAn (Xu, Fan, Ammar, Moon, ICNP 2002): a keyed, prefix-preserving permutation of IPv4 and
/// IPv6 addresses. Two addresses that share their first k bits share their first k bits after it, and
/// no more. Bit i of the output is bit i of the input XOR the first bit of AES_K(first i input bits,
/// then the last 128-i bits of the pad), the pad being AES_K of the key's second half. This is the
/// construction of the original implementation and its common ports (yacryptopan, Yawning/cryptopan,
/// CAIDA's and Tenzir's), so a mapping made here equals theirs for the same 32-byte key.
/// </summary>
/// <remarks>
/// One instance is not thread-safe (it reuses its block buffers); make one per thread from the key.
/// All the AES blocks of one address go to one <see cref="SymmetricAlgorithm.EncryptEcb(ReadOnlySpan{byte}, Span{byte}, PaddingMode)"/>
/// call (32 or 128 blocks): one native call per address instead of one per bit.
/// </remarks>
public sealed class CryptoPan : IDisposable
{
    /// <summary>16 bytes of AES-128 key, then 16 bytes of pad.</summary>
    public const int KeyLength = 32;

    private readonly Aes _aes;
    private readonly UInt128 _pad;
    private readonly byte[] _input = new byte[128 * 16];
    private readonly byte[] _output = new byte[128 * 16];

    public CryptoPan(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeyLength)
            throw new ArgumentException($"a Crypto-PAn key is {KeyLength} bytes (AES key, then pad), not {key.Length}", nameof(key));
        _aes = Aes.Create();
        _aes.Key = key[..16].ToArray();
        Span<byte> pad = stackalloc byte[16];
        _aes.EncryptEcb(key[16..], pad, PaddingMode.None);
        _pad = BinaryPrimitives.ReadUInt128BigEndian(pad);
    }

    /// <summary>Maps an IPv4 address given as a host-order 32-bit number.</summary>
    public uint AnonymizeV4(uint address) => address ^ (uint)(Flips((UInt128)address << 96, 32) >> 96);

    /// <summary>Maps a 128-bit IPv6 address (all 128 bits, whatever its kind).</summary>
    public UInt128 AnonymizeV6(UInt128 address) => address ^ Flips(address, 128);

    /// <summary>The flip bits for the first <paramref name="bits"/> bits of <paramref name="address"/>, left-aligned.</summary>
    private UInt128 Flips(UInt128 address, int bits)
    {
        var input = _input.AsSpan(0, bits * 16);
        for (int i = 0; i < bits; i++)
        {
            // The first i bits of the address, the rest from the pad (a shift by 128 would be a shift by 0).
            UInt128 mask = i == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - i);
            BinaryPrimitives.WriteUInt128BigEndian(input.Slice(i * 16, 16), (address & mask) | (_pad & ~mask));
        }
        var output = _output.AsSpan(0, bits * 16);
        _aes.EncryptEcb(input, output, PaddingMode.None);
        UInt128 flips = UInt128.Zero;
        for (int i = 0; i < bits; i++)
            flips |= (UInt128)(uint)(output[i * 16] >> 7) << (127 - i);
        return flips;
    }

    public void Dispose() => _aes.Dispose();
}
