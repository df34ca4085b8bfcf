namespace PcapDht.Capture;

/// <summary>
/// Read-only pass-through that counts the bytes taken from the underlying (possibly compressed)
/// input, for progress, and can hand back bytes that were peeked to detect the format.
/// </summary>
internal sealed class CountingStream : ForwardReadStream
{
    private readonly Stream _inner;
    private byte[] _prefix = [];
    private int _prefixPos;

    public CountingStream(Stream inner) => _inner = inner;

    public long BytesRead { get; private set; }

    /// <summary>Checked before every read of the input: a stream with nothing in it but skipped blocks still stops.</summary>
    public CancellationToken Cancellation { get; set; }

    /// <summary>The last up-to-8 bytes read from the input (a gzip member's CRC32 and ISIZE trailer at its end).</summary>
    public ReadOnlySpan<byte> Tail => _tail.AsSpan(8 - _tailLength);

    private readonly byte[] _tail = new byte[8];
    private int _tailLength;

    /// <summary>Bytes already counted that the next reads return again first.</summary>
    public void Unread(ReadOnlySpan<byte> bytes)
    {
        _prefix = bytes.ToArray();
        _prefixPos = 0;
    }


    public override int Read(Span<byte> buffer)
    {
        if (_prefixPos < _prefix.Length)
        {
            int n = Math.Min(buffer.Length, _prefix.Length - _prefixPos);
            _prefix.AsSpan(_prefixPos, n).CopyTo(buffer);
            _prefixPos += n;
            return n;
        }
        Cancellation.ThrowIfCancellationRequested();
        int r = _inner.Read(buffer);
        if (r > 0)
        {
            BytesRead += r;
            KeepTail(buffer[..r]);
        }
        return r;
    }

    private void KeepTail(ReadOnlySpan<byte> read)
    {
        if (read.Length >= 8)
        {
            read[^8..].CopyTo(_tail);
            _tailLength = 8;
            return;
        }
        _tail.AsSpan(read.Length).CopyTo(_tail);
        read.CopyTo(_tail.AsSpan(8 - read.Length));
        _tailLength = Math.Min(8, _tailLength + read.Length);
    }

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
