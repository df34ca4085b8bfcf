using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PcapDht.Bencode.Simd;

/// <summary>
/// Branch-free value of 1..8 known digits with one 64-bit load and three multiplies (the
/// "eight digits in a register" method). The vector scanners use it after their count, so neither
/// the count nor the value has a branch that depends on how many digits there are: with lengths of
/// 1, 2 and 3 digits mixed in every message, those branches are what the byte loop mispredicts.
/// </summary>
internal static class Swar
{
    /// <summary>Needs 1     /// <summary>False when fewer than 8 bytes around the digits can be loaded; the caller loops then.</summary>lt;= count     /// <summary>False when fewer than 8 bytes around the digits can be loaded; the caller loops then.</summary>lt;= 8. False when fewer than 8 bytes around the digits can be loaded; the caller loops then.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryParseUpTo8(ReadOnlySpan<byte> data, int start, int count, out ulong value)
    {
        ref byte origin = ref MemoryMarshal.GetReference(data);
        int end = start + count;
        ulong word;
        if (end >= 8)
        {
            // Digits end the word (last digit in the top byte); clear the bytes before them.
            word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref origin, end - 8));
            if (!BitConverter.IsLittleEndian)
                word = BinaryPrimitives.ReverseEndianness(word);
            word &= ulong.MaxValue << ((8 - count) * 8);
        }
        else if (data.Length - start >= 8)
        {
            // Digits start the word: shift them to the top, zeros (leading '0's after masking) below.
            word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref origin, start));
            if (!BitConverter.IsLittleEndian)
                word = BinaryPrimitives.ReverseEndianness(word);
            word <<= (8 - count) * 8;
        }
        else
        {
            value = 0;
            return false;
        }
        word &= 0x0F0F0F0F0F0F0F0F;
        word = (word * 2561) >> 8;
        word = ((word & 0x00FF00FF00FF00FF) * 6553601) >> 16;
        value = ((word & 0x0000FFFF0000FFFF) * 42949672960001) >> 32;
        return true;
    }
}
