using PcapDht.Capture;

namespace PcapDht.Synth;

public enum SynthFormat
{
    Pcap,
    PcapNg,
}

/// <summary>
/// Writes Ethernet frames as classic pcap (microsecond, little-endian) or pcapng (one section, one
/// Ethernet interface, default microsecond resolution), through the library's <see cref="CaptureFileWriter"/>:
/// no clock, host name or other run-dependent option is written, so equal input gives equal bytes.
/// </summary>
internal sealed class SynthCaptureWriter : IDisposable
{
    private const int LinkTypeEthernet = 1;
    private readonly Stream _out;
    private readonly CaptureFileWriter _writer;

    public SynthCaptureWriter(Stream output, SynthFormat format)
    {
        _out = output;
        _writer = format == SynthFormat.Pcap
            ? CaptureFileWriter.Pcap(output, LinkTypeEthernet, nanosecond: false)
            : CaptureFileWriter.PcapNg(output, nanosecond: false);
    }

    public long Frames => _writer.FramesWritten;

    public long BytesWritten => _writer.BytesWritten;

    public void WriteFrame(long timestampUs, ReadOnlySpan<byte> frame) =>
        _writer.Write(timestampUs * 1000, LinkTypeEthernet, frame.Length, frame);

    public void Dispose() => _out.Flush();
}
