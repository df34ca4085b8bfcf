using System.Buffers.Binary;

namespace PcapDht.Synth;

public enum SynthFormat
{
    Pcap,
    PcapNg,
}

/// <summary>
/// Writes Ethernet frames as classic pcap (microsecond, little-endian) or pcapng (one section, one
/// interface with the default microsecond resolution, Enhanced Packet Blocks). No clock, host name
/// or other run-dependent option is written, so equal input gives equal bytes.
/// </summary>
internal sealed class SynthCaptureWriter : IDisposable
{
    private const int LinkTypeEthernet = 1;
    private const int SnapLen = 262144;
    private readonly Stream _out;
    private readonly SynthFormat _format;
    private readonly byte[] _header = new byte[32];

    public SynthCaptureWriter(Stream output, SynthFormat format)
    {
        _out = output;
        _format = format;
        if (format == SynthFormat.Pcap) WritePcapHeader();
        else WritePcapNgHeader();
    }

    public long Frames { get; private set; }

    public long BytesWritten { get; private set; }

    private void WritePcapHeader()
    {
        Span<byte> h = _header.AsSpan(0, 24);
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 4);
        BinaryPrimitives.WriteInt32LittleEndian(h[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(h[16..], SnapLen);
        BinaryPrimitives.WriteInt32LittleEndian(h[20..], LinkTypeEthernet);
        Put(h);
    }

    private void WritePcapNgHeader()
    {
        // Section Header Block without options (28 bytes), then an Interface Description Block
        // without options (20 bytes): if_tsresol defaults to microseconds.
        Span<byte> b = stackalloc byte[48];
        BinaryPrimitives.WriteUInt32LittleEndian(b, 0x0A0D0D0A);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], 28);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(b[12..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(b[14..], 0);
        BinaryPrimitives.WriteInt64LittleEndian(b[16..], -1);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], 28);
        BinaryPrimitives.WriteUInt32LittleEndian(b[28..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(b[32..], 20);
        BinaryPrimitives.WriteUInt16LittleEndian(b[36..], LinkTypeEthernet);
        BinaryPrimitives.WriteUInt16LittleEndian(b[38..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b[40..], SnapLen);
        BinaryPrimitives.WriteUInt32LittleEndian(b[44..], 20);
        Put(b);
    }

    public void WriteFrame(long timestampUs, ReadOnlySpan<byte> frame)
    {
        Frames++;
        if (_format == SynthFormat.Pcap)
        {
            Span<byte> h = _header.AsSpan(0, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(h, (uint)(timestampUs / 1_000_000));
            BinaryPrimitives.WriteUInt32LittleEndian(h[4..], (uint)(timestampUs % 1_000_000));
            BinaryPrimitives.WriteInt32LittleEndian(h[8..], frame.Length);
            BinaryPrimitives.WriteInt32LittleEndian(h[12..], frame.Length);
            Put(h);
            Put(frame);
            return;
        }
        int padded = (frame.Length + 3) & ~3;
        int total = 32 + padded;
        Span<byte> e = _header.AsSpan(0, 28);
        BinaryPrimitives.WriteUInt32LittleEndian(e, 6);
        BinaryPrimitives.WriteInt32LittleEndian(e[4..], total);
        BinaryPrimitives.WriteUInt32LittleEndian(e[8..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(e[12..], (uint)((ulong)timestampUs >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)timestampUs);
        BinaryPrimitives.WriteInt32LittleEndian(e[20..], frame.Length);
        BinaryPrimitives.WriteInt32LittleEndian(e[24..], frame.Length);
        Put(e);
        Put(frame);
        Span<byte> tail = stackalloc byte[8];
        tail.Clear();
        BinaryPrimitives.WriteInt32LittleEndian(tail[4..], total);
        Put(tail.Slice(4 - (padded - frame.Length)));
    }

    private void Put(ReadOnlySpan<byte> bytes)
    {
        _out.Write(bytes);
        BytesWritten += bytes.Length;
    }

    public void Dispose() => _out.Flush();
}
