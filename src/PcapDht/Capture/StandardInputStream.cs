using System.Runtime.InteropServices;

namespace PcapDht.Capture;

/// <summary>
/// Standard input that a cancellation can interrupt while it waits. A plain read(2) on an idle pipe
/// (`tcpdump -w - | pcapdht ingest -` on a quiet link) blocks until data arrives, and neither Ctrl-C nor
/// SIGTERM could end the ingest; here each read first polls the descriptor for at most
/// <see cref="PollMilliseconds"/> and checks the token between polls. Where poll(2) is not available
/// (Windows) it reads directly.
/// </summary>
internal sealed class StandardInputStream : ForwardReadStream
{
    /// <summary>Longest wait between two looks at the token: well under the one second Ctrl-C may take.</summary>
    public const int PollMilliseconds = 100;

    private const int EIntr = 4;

    private readonly Stream _inner;
    private readonly int _fd;
    private readonly CancellationToken _cancellation;
    private bool _pollable = !OperatingSystem.IsWindows();

    public StandardInputStream(CancellationToken cancellation = default) : this(Console.OpenStandardInput(), 0, cancellation) { }

    private StandardInputStream(Stream inner, int fd, CancellationToken cancellation)
    {
        _inner = inner;
        _fd = fd;
        _cancellation = cancellation;
    }

    /// <summary>
    /// A named pipe (or another file that is a stream: a character device, a socket), read the same way. The
    /// open itself waits for the pipe's writer, as open(2) does.
    /// </summary>
    public static StandardInputStream OpenStream(string path, CancellationToken cancellation = default)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
        return new StandardInputStream(file, (int)file.SafeFileHandle.DangerousGetHandle(), cancellation);
    }

    /// <summary>
    /// Whether <paramref name="path"/> is read as a stream: standard input (<c>-</c>), a named pipe, a character
    /// device or a socket. Such input has no size and can last for days: ingest commits it periodically.
    /// </summary>
    public static bool IsStream(string path)
    {
        if (path == "-") return true;
        if (OperatingSystem.IsWindows()) return false;
        try
        {
            return PosixPoll.FileType(path) is PosixPoll.Fifo or PosixPoll.CharacterDevice or PosixPoll.Socket;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty) return 0;
        while (_pollable)
        {
            _cancellation.ThrowIfCancellationRequested();
            int ready;
            try
            {
                ready = PosixPoll.WaitReadable(_fd, PollMilliseconds);
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

    protected override void Dispose(bool disposing)
    {
        if (disposing) _inner.Dispose();
        base.Dispose(disposing);
    }
}
