using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;

namespace PcapDht.Pipeline;

/// <summary>
/// Transposes a <c>values</c> list (BEP 5 compact peers, the raw bencoded list <c>l6:&lt;ip4&gt;&lt;port&gt;6:...e</c>;
/// BEP 32 IPv6 entries of 18 bytes) into the peer table's address and port columns: IPv4 as the mapped
/// <c>::ffff:a.b.c.d</c> (hi 0, lo <c>0xFFFF_aabbccdd</c>), the port byte-swapped. A reply's values are nearly all
/// 6-byte entries, i.e. 8-byte records with their <c>6:</c> prefix: the vector variants check the prefix of 2
/// (SSSE3) or 4 (AVX2) entries with one compare and shuffle their addresses and ports into place. Every other
/// entry (18 bytes, odd sizes, leading zeros, the list's end) goes through the scalar reader, which is the
/// reference and yields exactly what <see cref="CompactLists.Values"/> yields (tests/PcapDht.Tests/Pipeline/PeerColumnsTests.cs).
/// The variant is the node lists' (<see cref="NodeColumns.Default"/>, <c>PCAPDHT_SIMD</c>).
/// </summary>
internal static unsafe class PeerColumns
{
    private const ulong V4Mapped = 0xFFFF_0000_0000UL;
    private const ulong SixColon = 0x3A36; // "6:" read little-endian

    /// <summary>Where the first entry of a raw list starts (the list's length when it is not a list: no peers).</summary>
    public static int Start(ReadOnlySpan<byte> list) => CompactLists.FirstEntry(list);

    /// <summary>
    /// Writes the peers of <paramref name="list"/> from <paramref name="offset"/> (an entry's start, from <see cref="Start"/>
    /// or an earlier call) into at most <paramref name="capacity"/> rows of <paramref name="ipHi"/>, <paramref name="ipLo"/> and
    /// <paramref name="port"/>, and moves <paramref name="offset"/> past the entries read. Returns the rows written; fewer than
    /// <paramref name="capacity"/> only when the list has no more peers, which <paramref name="done"/> then says.
    /// </summary>
    public static int Values(SimdVariant variant, ReadOnlySpan<byte> list, ref int offset, int capacity, ulong* ipHi, ulong* ipLo, ushort* port, out bool done)
    {
        bool v256 = variant == SimdVariant.Vector256 && Avx2.IsSupported;
        bool v128 = !v256 && variant is SimdVariant.Vector128 or SimdVariant.Vector256 && Ssse3.IsSupported;
        ref byte src = ref MemoryMarshal.GetReference(list);
        int written = 0;
        while (written < capacity)
        {
            if (v256) written += RunV256(ref src, list.Length, ref offset, capacity - written, ipHi + written, ipLo + written, port + written);
            else if (v128) written += RunV128(ref src, list.Length, ref offset, capacity - written, ipHi + written, ipLo + written, port + written);
            if (written == capacity) break;
            if (!NextEntry(list, ref offset, out ulong hi, out ulong lo, out ushort p, out bool peer))
            {
                done = true;
                return written;
            }
            if (!peer) continue;
            ipHi[written] = hi;
            ipLo[written] = lo;
            port[written] = p;
            written++;
        }
        done = false;
        return written;
    }

    /// <summary>
    /// The scalar reader: one entry (<see cref="CompactLists.TryReadEntry"/>, as the enumerator walks them). False at the end
    /// or at anything that is not a string entry; <paramref name="peer"/> says whether the entry was a 6- or 18-byte peer
    /// (others are skipped).
    /// </summary>
    private static bool NextEntry(ReadOnlySpan<byte> list, ref int offset, out ulong hi, out ulong lo, out ushort port, out bool peer)
    {
        hi = lo = 0;
        port = 0;
        peer = false;
        if (!CompactLists.TryReadEntry(list, ref offset, out var entry)) return false;
        if (entry.Length == CompactLists.PeerLength)
        {
            lo = V4Mapped | BinaryPrimitives.ReadUInt32BigEndian(entry);
            port = BinaryPrimitives.ReadUInt16BigEndian(entry[4..]);
            peer = true;
        }
        else if (entry.Length == CompactLists.Peer6Length)
        {
            hi = BinaryPrimitives.ReadUInt64BigEndian(entry);
            lo = BinaryPrimitives.ReadUInt64BigEndian(entry[8..]);
            port = BinaryPrimitives.ReadUInt16BigEndian(entry[16..]);
            peer = true;
        }
        return true;
    }

    // Per 16 bytes (two 8-byte records "6:" a b c d p0 p1): qword k = the address big-endian (d c b a), zero-extended.
    private static Vector128<byte> AddressMask => Vector128.Create((byte)5, 4, 3, 2, 0x80, 0x80, 0x80, 0x80, 13, 12, 11, 10, 0x80, 0x80, 0x80, 0x80);

    // Per 16 bytes: dword 0 = both ports byte-swapped (record 0's in bytes 0-1, record 1's in 2-3).
    private static Vector128<byte> PortMask => Vector128.Create((byte)7, 6, 15, 14, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80);

    // ---- Vector128 (SSSE3): two 6-byte entries per step ----

    private static int RunV128(ref byte src, int length, ref int offset, int room, ulong* ipHi, ulong* ipLo, ushort* port)
    {
        var low16 = Vector128.Create(0xFFFFUL);
        var prefix = Vector128.Create(SixColon);
        var mapped = Vector128.Create(V4Mapped);
        var address = AddressMask;
        var ports = PortMask;
        int n = 0, at = offset;
        for (; n + 2 <= room && at <= length - 16; n += 2, at += 16)
        {
            var v = Vector128.LoadUnsafe(ref src, (nuint)at);
            if (!Vector128.EqualsAll(v.AsUInt64() & low16, prefix)) break;
            (Ssse3.Shuffle(v, address).AsUInt64() | mapped).Store(ipLo + n);
            Vector128<ulong>.Zero.Store(ipHi + n);
            *(uint*)(port + n) = Ssse3.Shuffle(v, ports).AsUInt32().ToScalar();
        }
        offset = at;
        return n;
    }

    // ---- Vector256 (AVX2): four 6-byte entries per step ----

    private static int RunV256(ref byte src, int length, ref int offset, int room, ulong* ipHi, ulong* ipLo, ushort* port)
    {
        var low16 = Vector256.Create(0xFFFFUL);
        var prefix = Vector256.Create(SixColon);
        var mapped = Vector256.Create(V4Mapped);
        var address = Vector256.Create(AddressMask, AddressMask);
        var ports = Vector256.Create(PortMask, PortMask);
        var lanePorts = Vector256.Create(0u, 4, 0, 0, 0, 0, 0, 0); // dword 0 of each 128-bit lane next to each other
        int n = 0, at = offset;
        for (; n + 4 <= room && at <= length - 32; n += 4, at += 32)
        {
            var v = Vector256.LoadUnsafe(ref src, (nuint)at);
            if (!Vector256.EqualsAll(v.AsUInt64() & low16, prefix)) break;
            (Avx2.Shuffle(v, address).AsUInt64() | mapped).Store(ipLo + n);
            Vector256<ulong>.Zero.Store(ipHi + n);
            *(ulong*)(port + n) = Avx2.PermuteVar8x32(Avx2.Shuffle(v, ports).AsUInt32(), lanePorts).AsUInt64().ToScalar();
        }
        offset = at;
        return n;
    }
}
