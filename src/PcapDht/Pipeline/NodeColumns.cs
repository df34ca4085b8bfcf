using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using PcapDht.Bencode.Simd;

namespace PcapDht.Pipeline;

/// <summary>
/// Transposes compact node lists (BEP 5 <c>nodes</c>, 26-byte records; BEP 32 <c>nodes6</c>, 38 bytes) into
/// the node tables' column vectors: big-endian ids split a (8 bytes) / b (8) / lo (4), the IPv4 endpoint as
/// ip &lt;&lt; 16 | port (which is the record's last 6 bytes read big-endian), IPv6 hi/lo and port. The
/// vector variants byte-swap with one shuffle per 16 bytes and transpose several records per step with
/// unpacks, where the scalar one reads each value with a byte-swapping load. The scalar variant is the
/// reference; every variant writes the same values (tests/PcapDht.Tests/Pipeline/NodeColumnsTests.cs).
/// <c>PCAPDHT_SIMD=scalar|v128|v256</c> forces one; a vector variant the CPU lacks (v256 without AVX2,
/// v128 without SSSE3) runs the next narrower one.
/// </summary>
internal static unsafe class NodeColumns
{
    public const int NodeLength = 26, Node6Length = 38;

    /// <summary>The variant the row encoder uses in this process.</summary>
    public static readonly SimdVariant Default = Choose(Environment.GetEnvironmentVariable(SimdSelection.EnvironmentVariable));

    internal static SimdVariant Choose(string? environmentValue)
    {
        var forced = SimdSelection.Parse(environmentValue);
        if (forced != SimdVariant.Auto)
            return forced;
        // Measured (docs/benchmarks.md, "Issue 17"): the 4-record AVX2 transpose beats the byte-swapping loads.
        if (Avx2.IsSupported) return SimdVariant.Vector256;
        if (Ssse3.IsSupported) return SimdVariant.Vector128;
        return SimdVariant.Scalar;
    }

    /// <summary>
    /// Writes the <paramref name="count"/> whole records at the start of <paramref name="nodes"/> (26 bytes
    /// each; the span holds at least that many) to <paramref name="ep"/>, <paramref name="idA"/>,
    /// <paramref name="idB"/> and <paramref name="idLo"/>, one element per record.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Nodes(SimdVariant variant, ReadOnlySpan<byte> nodes, int count, ulong* ep, ulong* idA, ulong* idB, uint* idLo)
    {
        if ((uint)count > (uint)(nodes.Length / NodeLength)) ThrowCount();
        ref byte src = ref MemoryMarshal.GetReference(nodes);
        int done = 0;
        if (variant == SimdVariant.Vector256 && Avx2.IsSupported)
            done = NodesV256(ref src, count, ep, idA, idB, idLo);
        else if (variant is SimdVariant.Vector128 or SimdVariant.Vector256 && Ssse3.IsSupported)
            done = NodesV128(ref src, count, ep, idA, idB, idLo);
        NodesScalar(ref src, done, count, ep, idA, idB, idLo);
    }

    /// <summary>As <see cref="Nodes"/> for 38-byte <c>nodes6</c> records: IPv6 as hi/lo, port, id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Nodes6(SimdVariant variant, ReadOnlySpan<byte> nodes, int count, ulong* ipHi, ulong* ipLo, ushort* port, ulong* idA, ulong* idB, uint* idLo)
    {
        if ((uint)count > (uint)(nodes.Length / Node6Length)) ThrowCount();
        ref byte src = ref MemoryMarshal.GetReference(nodes);
        int done = 0;
        if (variant == SimdVariant.Vector256 && Avx2.IsSupported)
            done = Nodes6V256(ref src, count, ipHi, ipLo, idA, idB);
        else if (variant is SimdVariant.Vector128 or SimdVariant.Vector256 && Ssse3.IsSupported)
            done = Nodes6V128(ref src, count, ipHi, ipLo, idA, idB);
        Nodes6Scalar(ref src, done, count, ipHi, ipLo, port, idA, idB, idLo);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowCount() => throw new ArgumentOutOfRangeException("count", "more records than the list holds");

    // ---- scalar (the reference) ----

    private static void NodesScalar(ref byte src, int from, int count, ulong* ep, ulong* idA, ulong* idB, uint* idLo)
    {
        for (int i = from; i < count; i++)
        {
            ref byte rec = ref Unsafe.Add(ref src, i * NodeLength);
            idA[i] = ReadBig64(ref rec, 0);
            idB[i] = ReadBig64(ref rec, 8);
            idLo[i] = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref rec, 16)));
            // Bytes 18..25 big-endian: id bytes 18-19 on top, then ip and port; keep the low 48 bits.
            ep[i] = ReadBig64(ref rec, 18) & 0xFFFF_FFFF_FFFFUL;
        }
    }

    // Records from `from` on whole; before it (what a vector kernel transposed: ip and the id's a/b) the id's lo and
    // the port, which are too narrow to gain from a shuffle.
    private static void Nodes6Scalar(ref byte src, int from, int count, ulong* ipHi, ulong* ipLo, ushort* port, ulong* idA, ulong* idB, uint* idLo)
    {
        for (int i = 0; i < from; i++)
        {
            ref byte rec = ref Unsafe.Add(ref src, i * Node6Length);
            idLo[i] = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref rec, 16)));
            port[i] = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref rec, 36)));
        }
        for (int i = from; i < count; i++)
        {
            ref byte rec = ref Unsafe.Add(ref src, i * Node6Length);
            idA[i] = ReadBig64(ref rec, 0);
            idB[i] = ReadBig64(ref rec, 8);
            idLo[i] = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref rec, 16)));
            ipHi[i] = ReadBig64(ref rec, 20);
            ipLo[i] = ReadBig64(ref rec, 28);
            port[i] = BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref rec, 36)));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ReadBig64(ref byte rec, int offset) =>
        BinaryPrimitives.ReverseEndianness(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref rec, offset)));

    // ---- shuffle masks (0x80 = zero) ----

    // Both 8-byte halves of 16 bytes byte-swapped: (a, b) from the id's first 16 bytes, (hi, lo) from an IPv6 address.
    private static Vector128<byte> Swap64 => Vector128.Create((byte)7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);

    // From the 16 bytes at record offset 10 (bytes 10..25): qword 0 = bytes 20..25 big-endian (ip << 16 | port),
    // qword 1 = bytes 16..19 big-endian (the id's lo). Loading at 10 keeps every load inside the record.
    private static Vector128<byte> EpLo => Vector128.Create((byte)15, 14, 13, 12, 11, 10, 0x80, 0x80, 9, 8, 7, 6, 0x80, 0x80, 0x80, 0x80);

    // ---- Vector128 (SSSE3): two records per step ----

    private static int NodesV128(ref byte src, int count, ulong* ep, ulong* idA, ulong* idB, uint* idLo)
    {
        var swap = Swap64;
        var epLo = EpLo;
        int i = 0;
        for (; i + 2 <= count; i += 2)
        {
            ref byte r0 = ref Unsafe.Add(ref src, i * NodeLength);
            ref byte r1 = ref Unsafe.Add(ref r0, NodeLength);
            var ab0 = Ssse3.Shuffle(Vector128.LoadUnsafe(ref r0), swap).AsUInt64();
            var ab1 = Ssse3.Shuffle(Vector128.LoadUnsafe(ref r1), swap).AsUInt64();
            var el0 = Ssse3.Shuffle(Vector128.LoadUnsafe(ref r0, 10), epLo).AsUInt64();
            var el1 = Ssse3.Shuffle(Vector128.LoadUnsafe(ref r1, 10), epLo).AsUInt64();
            Sse2.UnpackLow(ab0, ab1).Store(idA + i);
            Sse2.UnpackHigh(ab0, ab1).Store(idB + i);
            Sse2.UnpackLow(el0, el1).Store(ep + i);
            // lo0 and lo1 sit in dwords 2 and 6 of (el0, el1): pair them up and store 8 bytes.
            var lo = Sse2.UnpackHigh(el0.AsUInt32(), el1.AsUInt32()); // (lo0, lo1, 0, 0)
            *(ulong*)(idLo + i) = lo.AsUInt64().ToScalar();
        }
        return i;
    }

    private static int Nodes6V128(ref byte src, int count, ulong* ipHi, ulong* ipLo, ulong* idA, ulong* idB)
    {
        var swap = Swap64;
        int i = 0;
        for (; i + 2 <= count; i += 2)
        {
            ref byte r0 = ref Unsafe.Add(ref src, i * Node6Length);
            ref byte r1 = ref Unsafe.Add(ref r0, Node6Length);
            var ab0 = Ssse3.Shuffle(Vector128.LoadUnsafe(ref r0), swap).AsUInt64();
            var ab1 = Ssse3.Shuffle(Vector128.LoadUnsafe(ref r1), swap).AsUInt64();
            var ip0 = Ssse3.Shuffle(Vector128.LoadUnsafe(ref r0, 20), swap).AsUInt64();
            var ip1 = Ssse3.Shuffle(Vector128.LoadUnsafe(ref r1, 20), swap).AsUInt64();
            Sse2.UnpackLow(ab0, ab1).Store(idA + i);
            Sse2.UnpackHigh(ab0, ab1).Store(idB + i);
            Sse2.UnpackLow(ip0, ip1).Store(ipHi + i);
            Sse2.UnpackHigh(ip0, ip1).Store(ipLo + i);
        }
        return i;
    }

    // ---- Vector256 (AVX2): four records per step, one 4x4 transpose of 64-bit values ----

    private static int NodesV256(ref byte src, int count, ulong* ep, ulong* idA, ulong* idB, uint* idLo)
    {
        // Lane 0 of each record's vector: id bytes 0..15; lane 1: bytes 10..25. One in-lane shuffle gives (a, b, ep, lo).
        var mask = Vector256.Create(Swap64, EpLo);
        var evenDwords = Vector256.Create(0u, 2, 4, 6, 1, 3, 5, 7);
        int i = 0;
        for (; i + 4 <= count; i += 4)
        {
            ref byte r0 = ref Unsafe.Add(ref src, i * NodeLength);
            var v0 = Avx2.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref r0), Vector128.LoadUnsafe(ref r0, 10)), mask).AsUInt64();
            var v1 = Avx2.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref r0, 26), Vector128.LoadUnsafe(ref r0, 36)), mask).AsUInt64();
            var v2 = Avx2.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref r0, 52), Vector128.LoadUnsafe(ref r0, 62)), mask).AsUInt64();
            var v3 = Avx2.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref r0, 78), Vector128.LoadUnsafe(ref r0, 88)), mask).AsUInt64();
            Transpose(v0, v1, v2, v3, out var a, out var b, out var e, out var lo);
            a.Store(idA + i);
            b.Store(idB + i);
            e.Store(ep + i);
            Avx2.PermuteVar8x32(lo.AsUInt32(), evenDwords).GetLower().Store(idLo + i);
        }
        return i;
    }

    private static int Nodes6V256(ref byte src, int count, ulong* ipHi, ulong* ipLo, ulong* idA, ulong* idB)
    {
        var mask = Vector256.Create(Swap64, Swap64);
        int i = 0;
        for (; i + 4 <= count; i += 4)
        {
            ref byte r0 = ref Unsafe.Add(ref src, i * Node6Length);
            var v0 = Avx2.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref r0), Vector128.LoadUnsafe(ref r0, 20)), mask).AsUInt64();
            var v1 = Avx2.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref r0, 38), Vector128.LoadUnsafe(ref r0, 58)), mask).AsUInt64();
            var v2 = Avx2.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref r0, 76), Vector128.LoadUnsafe(ref r0, 96)), mask).AsUInt64();
            var v3 = Avx2.Shuffle(Vector256.Create(Vector128.LoadUnsafe(ref r0, 114), Vector128.LoadUnsafe(ref r0, 134)), mask).AsUInt64();
            Transpose(v0, v1, v2, v3, out var a, out var b, out var hi, out var lo);
            a.Store(idA + i);
            b.Store(idB + i);
            hi.Store(ipHi + i);
            lo.Store(ipLo + i);
        }
        return i;
    }

    /// <summary>Rows (x, y, z, w) of four records into the columns x0..x3, y0..y3, z0..z3, w0..w3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(Vector256<ulong> v0, Vector256<ulong> v1, Vector256<ulong> v2, Vector256<ulong> v3,
        out Vector256<ulong> x, out Vector256<ulong> y, out Vector256<ulong> z, out Vector256<ulong> w)
    {
        var t0 = Avx2.UnpackLow(v0, v1);  // x0 x1 z0 z1
        var t1 = Avx2.UnpackHigh(v0, v1); // y0 y1 w0 w1
        var t2 = Avx2.UnpackLow(v2, v3);  // x2 x3 z2 z3
        var t3 = Avx2.UnpackHigh(v2, v3); // y2 y3 w2 w3
        x = Avx2.Permute2x128(t0, t2, 0x20);
        z = Avx2.Permute2x128(t0, t2, 0x31);
        y = Avx2.Permute2x128(t1, t3, 0x20);
        w = Avx2.Permute2x128(t1, t3, 0x31);
    }
}
