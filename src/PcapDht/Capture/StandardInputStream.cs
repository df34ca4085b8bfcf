using System.Runtime.InteropServices;

namespace PcapDht.Capture;

/// <summary>
/// Standard input that a cancellation can interrupt while it waits. A plain read(2) on an idle pipe
/// (`tcpdump -w - | pcapdht ingest -` on a quiet link) blocks until data arrives, and neither Ctrl-C nor
/// SIGTERM could end the ingest; here each read first polls the descriptor for at most
/// <see cref="PollMilliseconds"/> and checks the token between polls. Where poll(2) is not available
/// (Windows) it reads directly.
/// </summary>
public sealed class StandardInputStream : Stream
{
    /// <summary>Longest wait between two looks at the token: well under the one second Ctrl-C may take.</summary>
    public const int PollMilliseconds = 100;

    private const short PollIn = 0x001;
    private const int EIntr = 4;

    private readonly Stream _inner = Console.OpenStandardInput();
    private readonly CancellationToken _cancellation;
    private bool _pollable = !OperatingSystem.IsWindows();

    public StandardInputStream(CancellationToken cancellation = default) => _cancellation = cancellation;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        while (_pollable)
        {
            _cancellation.ThrowIfCancellationRequested();
            var fd = new PollFd { Fd = 0, Events = PollIn };
            int ready;
            try
            {
                ready = Poll(ref fd, 1, PollMilliseconds);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                _pollable = false;
                break;
            }
            if (ready > 0) break; // readable, closed or in error: read(2) answers
            if (ready < 0 && Marshal.GetLastPInvokeError() != EIntr) _pollable = false;
        }
        _cancellation.ThrowIfCancellationRequested();
        return _inner.Read(buffer);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll(ref PollFd fds, nuint count, int timeoutMs);
}
