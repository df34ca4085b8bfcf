using System.Buffers.Binary;

namespace PcapDht.Tests.Capture;

/// <summary>Writes pcap and pcapng files byte by byte, in either byte order, for crafted tests.</summary>
public sealed class CaptureBuilder
{
    private readonly MemoryStream _out = new();
    private bool _bigEndian;

    public byte[] ToArray() => _out.ToArray();
    public long Length => _out.Length;

    /// <summary>Classic pcap file header. magic: 0xa1b2c3d4 (µs), 0xa1b23c4d (ns), 0xa1b2cd34 (modified).</summary>
    public static CaptureBuilder Pcap(int linkType, bool bigEndian = false, uint magic = 0xA1B2C3D4, uint snapLength = 262144)
    {
        var b = new CaptureBuilder { _bigEndian = bigEndian };
        b.U32(magic).U16(2).U16(4).U32(0).U32(0).U32(snapLength).U32((uint)linkType);
        return b;
    }

    public CaptureBuilder PcapRecord(uint seconds, uint fraction, ReadOnlySpan<byte> data, int? originalLength = null, bool modified = false)
    {
        U32(seconds).U32(fraction).U32((uint)data.Length).U32((uint)(originalLength ?? data.Length));
        if (modified) U32(7).U16(0x0800).U8(0).U8(0);
        _out.Write(data);
        return this;
    }

    public static CaptureBuilder PcapNg() => new();

    /// <summary>Section header; every block after it uses this byte order.</summary>
    public CaptureBuilder Section(bool bigEndian)
    {
        _bigEndian = bigEndian;
        var body = new CaptureBuilder { _bigEndian = bigEndian };
        body.U32(0x1A2B3C4D).U16(1).U16(0).U64(ulong.MaxValue);
        return Block(0x0A0D0D0A, body.ToArray());
    }

    /// <summary>Interface description; tsresol null = default microseconds.</summary>
    public CaptureBuilder Interface(int linkType, byte? tsresol = null, long? tsoffsetSeconds = null, uint snapLength = 0)
    {
        var body = Child().U16((ushort)linkType).U16(0).U32(snapLength);
        if (tsresol is { } r) body.U16(9).U16(1).U8(r).U8(0).U8(0).U8(0);
        if (tsoffsetSeconds is { } o) body.U16(14).U16(8).U64((ulong)o);
        if (tsresol != null || tsoffsetSeconds != null) body.U16(0).U16(0);
        return Block(1, body.ToArray());
    }

    public CaptureBuilder Enhanced(int interfaceId, ulong ticks, ReadOnlySpan<byte> data, int? originalLength = null)
    {
        var body = Child().U32((uint)interfaceId).U32((uint)(ticks >> 32)).U32((uint)ticks).U32((uint)data.Length)
            .U32((uint)(originalLength ?? data.Length)).Bytes(data).Pad();
        // an opt_comment, which readers must skip
        body.U16(1).U16(5).Bytes("hello"u8).Pad().U16(0).U16(0);
        return Block(6, body.ToArray());
    }

    public CaptureBuilder Simple(ReadOnlySpan<byte> data, int? originalLength = null) =>
        Block(3, Child().U32((uint)(originalLength ?? data.Length)).Bytes(data).Pad().ToArray());

    public CaptureBuilder Obsolete(int interfaceId, ulong ticks, ReadOnlySpan<byte> data) =>
        Block(2, Child().U16((ushort)interfaceId).U16(0).U32((uint)(ticks >> 32)).U32((uint)ticks).U32((uint)data.Length)
            .U32((uint)data.Length).Bytes(data).Pad().ToArray());

    /// <summary>Any block, e.g. unknown types that readers must skip.</summary>
    public CaptureBuilder Block(uint type, ReadOnlySpan<byte> body)
    {
        uint length = (uint)(12 + ((body.Length + 3) & ~3));
        U32(type).U32(length).Bytes(body).Pad().U32(length);
        return this;
    }

    public CaptureBuilder Bytes(ReadOnlySpan<byte> b)
    {
        _out.Write(b);
        return this;
    }

    private CaptureBuilder Child() => new() { _bigEndian = _bigEndian };

    private CaptureBuilder Pad()
    {
        while ((_out.Length & 3) != 0) _out.WriteByte(0);
        return this;
    }

    private CaptureBuilder U8(byte v)
    {
        _out.WriteByte(v);
        return this;
    }

    private CaptureBuilder U16(ushort v)
    {
        Span<byte> b = stackalloc byte[2];
        if (_bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b, v); else BinaryPrimitives.WriteUInt16LittleEndian(b, v);
        _out.Write(b);
        return this;
    }

    private CaptureBuilder U32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        if (_bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b, v); else BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _out.Write(b);
        return this;
    }

    private CaptureBuilder U64(ulong v)
    {
        Span<byte> b = stackalloc byte[8];
        if (_bigEndian) BinaryPrimitives.WriteUInt64BigEndian(b, v); else BinaryPrimitives.WriteUInt64LittleEndian(b, v);
        _out.Write(b);
        return this;
    }
}
