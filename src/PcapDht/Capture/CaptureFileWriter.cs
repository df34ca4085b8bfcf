using System.Buffers.Binary;

namespace PcapDht.Capture;

/// <summary>
/// Writes frames as classic pcap (one link type) or pcapng (one section; an interface per link type;
/// Enhanced Packet Blocks), little-endian, with microsecond or nanosecond timestamps. No clock, host name or other option is written: equal frames give equal
/// bytes, and a rewritten capture carries no metadata of the machine that rewrote it. Nothing is
/// allocated per frame; the caller owns buffering and the stream.
/// </summary>
public sealed class CaptureFileWriter
{
    public const int DefaultSnapLength = 262144;

    private const uint PcapMagicMicro = 0xa1b2c3d4;
    private const uint PcapMagicNano = 0xa1b23c4d;
    private const int PcapRecordHeader = 16;
    private const int EpbHeader = 28;

    private readonly Stream _out;
    private readonly bool _pcapNg;
    private readonly bool _nanosecond;
    private readonly int _snapLength;
    private readonly byte[] _header = new byte[32];
    // pcapng: interface id per link type, in the order first seen.
    private readonly List<int> _interfaces = [];
    private int _pcapLinkType;

    private CaptureFileWriter(Stream output, bool pcapNg, bool nanosecond, int snapLength)
    {
        _out = output;
        _pcapNg = pcapNg;
        _nanosecond = nanosecond;
        _snapLength = snapLength;
    }

    /// <summary>Classic pcap for frames of one link type; the file header is written now.</summary>
    public static CaptureFileWriter Pcap(Stream output, int linkType, bool nanosecond, int snapLength = DefaultSnapLength)
    {
        var writer = new CaptureFileWriter(output, pcapNg: false, nanosecond, snapLength) { _pcapLinkType = linkType };
        Span<byte> h = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(h, nanosecond ? PcapMagicNano : PcapMagicMicro);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], 0);   // thiszone
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0); // sigfigs
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], (uint)snapLength);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], (uint)linkType);
        writer.Put(h);
        return writer;
    }

    /// <summary>
    /// pcapng: the section header is written now, an interface block before the first frame of each link
    /// type, with <c>if_tsresol</c> 9 for nanosecond times or no option (the default, microseconds).
    /// </summary>
    public static CaptureFileWriter PcapNg(Stream output, bool nanosecond = true, int snapLength = DefaultSnapLength)
    {
        var writer = new CaptureFileWriter(output, pcapNg: true, nanosecond, snapLength);
        Span<byte> b = stackalloc byte[28];
        BinaryPrimitives.WriteUInt32LittleEndian(b, 0x0A0D0D0A);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 28);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(b[16..], -1); // section length unknown
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], 28);
        writer.Put(b);
        return writer;
    }

    public long FramesWritten { get; private set; }

    public long BytesWritten { get; private set; }

    /// <param name="originalLength">The length on the wire; above <paramref name="data"/>'s length when the frame was cut.</param>
    public void Write(long timestampNs, int linkType, int originalLength, ReadOnlySpan<byte> data)
    {
        if (_pcapNg) WriteEnhancedPacket(timestampNs, Interface(linkType), originalLength, data);
        else WritePcapRecord(timestampNs, linkType, originalLength, data);
        FramesWritten++;
    }

    private void WritePcapRecord(long timestampNs, int linkType, int originalLength, ReadOnlySpan<byte> data)
    {
        if (linkType != _pcapLinkType)
            throw new InvalidOperationException($"a pcap file holds one link type ({_pcapLinkType}); this frame has {linkType}");
        var h = _header.AsSpan(0, PcapRecordHeader);
        long seconds = Math.DivRem(timestampNs, 1_000_000_000L, out long fraction);
        BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)seconds);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(_nanosecond ? fraction : fraction / 1000));
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], (uint)Math.Max(originalLength, data.Length));
        Put(h);
        Put(data);
    }

    private int Interface(int linkType)
    {
        int id = _interfaces.IndexOf(linkType);
        if (id >= 0) return id;
        // Interface Description Block: link type, snap length, then if_tsresol = 9 (nanoseconds) and the end of
        // options, or no options at all (microseconds).
        int length = _nanosecond ? 32 : 20;
        Span<byte> b = stackalloc byte[length];
        b.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(b, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], (uint)length);
        BinaryPrimitives.WriteUInt16LittleEndian(b[8..], (ushort)linkType);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], (uint)_snapLength);
        if (_nanosecond)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(b[16..], 9);
            BinaryPrimitives.WriteUInt16LittleEndian(b[18..], 1);
            b[20] = 9; // 10^-9; bytes 21-23 pad, 24-27 opt_endofopt
        }
        BinaryPrimitives.WriteUInt32LittleEndian(b[(length - 4)..], (uint)length);
        Put(b);
        _interfaces.Add(linkType);
        return _interfaces.Count - 1;
    }

    private void WriteEnhancedPacket(long timestampNs, int interfaceId, int originalLength, ReadOnlySpan<byte> data)
    {
        int padded = (data.Length + 3) & ~3;
        int total = EpbHeader + padded + 4;
        long ticks = _nanosecond ? timestampNs : timestampNs / 1000;
        var e = _header.AsSpan(0, EpbHeader);
        BinaryPrimitives.WriteUInt32LittleEndian(e, 6);
        BinaryPrimitives.WriteInt32LittleEndian(e[4..], total);
        BinaryPrimitives.WriteInt32LittleEndian(e[8..], interfaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(e[12..], (uint)((ulong)ticks >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)ticks);
        BinaryPrimitives.WriteInt32LittleEndian(e[20..], data.Length);
        BinaryPrimitives.WriteInt32LittleEndian(e[24..], Math.Max(originalLength, data.Length));
        Put(e);
        Put(data);
        Span<byte> tail = stackalloc byte[8];
        tail.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(tail[4..], total);
        Put(tail[(4 - (padded - data.Length))..]);
    }

    private void Put(ReadOnlySpan<byte> bytes)
    {
        _out.Write(bytes);
        BytesWritten += bytes.Length;
    }
}
