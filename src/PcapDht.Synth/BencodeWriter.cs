using System.Buffers.Text;
using System.Runtime.CompilerServices;

namespace PcapDht.Synth;

/// <summary>
/// Writes bencode (BEP 3) into a caller's buffer. Callers emit dictionary keys in sorted order
/// themselves, as libtorrent and the npm bencode package do; the tests check the order.
/// </summary>
internal ref struct BencodeWriter
{
    private readonly Span<byte> _buffer;
    private int _pos;

    public BencodeWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _pos = 0;
    }

    public readonly int Length => _pos;

    public readonly ReadOnlySpan<byte> Written => _buffer[.._pos];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Dict() => _buffer[_pos++] = (byte)'d';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void List() => _buffer[_pos++] = (byte)'l';

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void End() => _buffer[_pos++] = (byte)'e';

    public void Int(long value)
    {
        _buffer[_pos++] = (byte)'i';
        Utf8Formatter.TryFormat(value, _buffer[_pos..], out int n);
        _pos += n;
        _buffer[_pos++] = (byte)'e';
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        Utf8Formatter.TryFormat(value.Length, _buffer[_pos..], out int n);
        _pos += n;
        _buffer[_pos++] = (byte)':';
        value.CopyTo(_buffer[_pos..]);
        _pos += value.Length;
    }

    /// <summary>Writes the length prefix of a string and returns the span to fill in place.</summary>
    public Span<byte> BytesInPlace(int length)
    {
        Utf8Formatter.TryFormat(length, _buffer[_pos..], out int n);
        _pos += n;
        _buffer[_pos++] = (byte)':';
        var span = _buffer.Slice(_pos, length);
        _pos += length;
        return span;
    }

    /// <summary>Bytes already in bencoded form (a key-value run, a whole value).</summary>
    public void Raw(ReadOnlySpan<byte> bencoded)
    {
        bencoded.CopyTo(_buffer[_pos..]);
        _pos += bencoded.Length;
    }

    /// <summary>Cuts the output back (used to make truncated messages).</summary>
    public void Truncate(int length) => _pos = length;
}
