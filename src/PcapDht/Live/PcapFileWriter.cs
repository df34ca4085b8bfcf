using System.Globalization;
using PcapDht.Capture;

namespace PcapDht.Live;

/// <summary>
/// Writes the raw frames of a live capture as classic pcap with nanosecond timestamps
/// (magic 0xa1b23c4d), rotating to a new file by size or by time. Our own writer rather than
/// SharpPcap's CaptureFileWriterDevice so it runs on the decode thread from pooled buffers with no
/// per-packet allocation, and so a rotation never touches the capture handle. The file format itself
/// is <see cref="CaptureFileWriter"/>'s (shared with `pcapdht anonymize`).
/// </summary>
public sealed class RotatingPcapWriter : IDisposable
{
    private const int FileHeaderLength = 24;
    private const int RecordHeaderLength = 16;

    private readonly string _directory;
    private readonly string _prefix;
    private readonly int _linkType;
    private readonly int _snaplen;
    private readonly long _rotateBytes;
    private readonly long _rotateNs;
    private FileStream? _file;
    private CaptureFileWriter? _writer;
    private long _fileBytes;
    private long _fileStartNs;
    private int _sequence;
    private readonly List<string> _files = [];

    /// <param name="rotateBytes">Start a new file once the current one reaches this size (0 = never).</param>
    /// <param name="rotateInterval">Start a new file when a frame is this much later than the file's first (zero = never).</param>
    public RotatingPcapWriter(string directory, string prefix, int linkType, int snaplen, long rotateBytes, TimeSpan rotateInterval)
    {
        _directory = directory;
        _prefix = prefix;
        _linkType = linkType;
        _snaplen = snaplen;
        _rotateBytes = rotateBytes;
        _rotateNs = rotateInterval.Ticks * 100;
        Directory.CreateDirectory(directory);
    }

    /// <summary>Every file written so far, oldest first.</summary>
    public IReadOnlyList<string> Files => _files;

    public long FramesWritten { get; private set; }

    public void Write(long timestampNs, int originalLength, ReadOnlySpan<byte> data)
    {
        if (_file == null
            || (_rotateBytes > 0 && _fileBytes + RecordHeaderLength + data.Length > _rotateBytes && _fileBytes > FileHeaderLength)
            || (_rotateNs > 0 && timestampNs - _fileStartNs >= _rotateNs))
        {
            Rotate(timestampNs);
        }
        _writer!.Write(timestampNs, _linkType, originalLength, data);
        _fileBytes += RecordHeaderLength + data.Length;
        FramesWritten++;
    }

    /// <summary>Pushes buffered frames to the file (called at every database flush, so the evidence is as durable as the rows).</summary>
    public void Flush() => _file?.Flush(flushToDisk: false);

    private void Rotate(long timestampNs)
    {
        _file?.Dispose();
        var stamp = DateTimeOffset.FromUnixTimeMilliseconds(timestampNs / 1_000_000).UtcDateTime
            .ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var path = Path.Combine(_directory, $"{_prefix}-{stamp}-{_sequence++:D4}.pcap");
        _file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 20);
        _writer = CaptureFileWriter.Pcap(_file, _linkType, nanosecond: true, _snaplen);
        _fileBytes = FileHeaderLength;
        _fileStartNs = timestampNs;
        _files.Add(path);
    }

    public void Dispose()
    {
        _file?.Dispose();
        _file = null;
        _writer = null;
    }
}
