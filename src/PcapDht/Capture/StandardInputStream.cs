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
            int ready;
            try
            {
                ready = PosixPoll.WaitReadable(0, PollMilliseconds);
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
