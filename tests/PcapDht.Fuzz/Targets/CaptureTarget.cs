using System.IO.Compression;
using PcapDht.Capture;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Fuzz;

/// <summary>
/// The capture readers (pcap, pcapng, gzip and zstd framing) and everything a frame goes through after them.
/// The first input byte chooses how the rest reaches the reader, so mutations of the capture itself still get
/// through valid compression: bits 0–1 raw / gzip / zstd / two gzip members; bits 2–3 the read size the stream
/// hands out (whole, 1, 7 or 4093 bytes: a pipe that delivers little at a time). Raw mode also sees mutated
/// compressed bytes. Throws when an invariant breaks: frame numbers not consecutive, a timestamp outside
/// 1970–2262, a frame that ends in no outcome counter (or in two), damage that does not name the next frame,
/// a reader that yields frames after its end. Exceptions of the library are findings too; a refusal of the
/// input as "not a capture" (<see cref="CaptureFormatException"/>) is the expected answer to garbage.
/// </summary>
public static class CaptureTarget
{
    private static readonly ReassemblyLimits Limits = new(8, 64 << 10, 30_000_000_000L);

    /// <summary>The reader over <paramref name="data"/> framed as described above; null when it is not a capture.</summary>
    internal static CaptureReader? OpenFramed(byte[] data)
    {
        byte[] input = data.Length == 0 ? data : Wrap(data[0] & 3, data.AsSpan(1));
        int chunk = data.Length == 0 ? 0 : ((data[0] >> 2) & 3) switch { 1 => 1, 2 => 7, 3 => 4093, _ => 0 };
        Stream stream = chunk == 0 ? new MemoryStream(input, writable: false) : new TrickleStream(input, chunk);
        try
        {
            return CaptureReader.Open(stream, "fuzz", null, initialBuffer: 4096);
        }
        catch (CaptureFormatException)
        {
            return null; // the documented refusal of garbage
        }
    }

    public static void Check(byte[] data)
    {
        if (OpenFramed(data) is not { } reader) return;
        using (reader)
        {
            var decoder = new PacketDecoder(Limits);
            long frames = 0;
            long position = 0;
            while (reader.TryRead(out var frame))
            {
                frames++;
                Require(frame.Number == frames, $"frame number {frame.Number} after {frames - 1} frames");
                Require(frame.TimestampNs >= 0, $"frame {frame.Number}: timestamp {frame.TimestampNs} before 1970 (wrapped?)");
                Require(frame.Data.Length <= CaptureReader.MaxRecordBytes, "frame larger than the record limit");
                Require(reader.Position > position, $"position went from {position} to {reader.Position}");
                position = reader.Position;
                if (decoder.TryDecode(frame, out var datagram))
                {
                    Require(datagram.FrameNumber == frame.Number, "datagram of another frame");
                    Require(datagram.Payload.Length <= 65535 - 8, "datagram larger than UDP allows");
                    KrpcDecoder.Decode(datagram.Payload, out _, out _);
                }
                var c = decoder.Counters;
                Require(c.Frames == c.OutcomeTotal, $"frame {frame.Number} not in exactly one outcome: {c}");
            }
            decoder.Finish();
            Require(decoder.PendingReassembly == 0, "reassembly state left after Finish");
            if (reader.Damage is { } damage)
            {
                Require(damage.FrameNumber == frames + 1, $"damage names frame {damage.FrameNumber} after {frames} frames");
                Require(damage.ByteOffset >= 0 && damage.Reason.Length > 0 && !damage.Reason.Contains('\n'), $"damage {damage}");
            }
            Require(!reader.TryRead(out _), "a frame after the end");
        }
    }

    private static byte[] Wrap(int mode, ReadOnlySpan<byte> rest)
    {
        switch (mode)
        {
            case 1:
                return Gzip(rest);
            case 2:
                return Zstd.Wrap(rest);
            case 3:
                int half = rest.Length / 2;
                return [.. Gzip(rest[..half]), .. Gzip(rest[half..])];
            default:
                return rest.ToArray();
        }
    }

    private static byte[] Gzip(ReadOnlySpan<byte> data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static class Zstd
    {
        [ThreadStatic] private static ZstdSharp.Compressor? _compressor;

        public static byte[] Wrap(ReadOnlySpan<byte> data) => (_compressor ??= new ZstdSharp.Compressor(1)).Wrap(data).ToArray();
    }

    internal static void Require(bool condition, string message)
    {
        if (!condition) throw new FuzzInvariantException(message);
    }
}

/// <summary>An invariant of a fuzz target broke: a finding, like any exception the library throws.</summary>
public sealed class FuzzInvariantException(string message) : Exception(message);

/// <summary>A stream that hands out at most a few bytes per read, as a pipe may.</summary>
internal sealed class TrickleStream(byte[] data, int chunk) : Stream
{
    private int _pos;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int n = Math.Min(Math.Min(chunk, buffer.Length), data.Length - _pos);
        data.AsSpan(_pos, n).CopyTo(buffer);
        _pos += n;
        return n;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => _pos; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
