using System.Runtime.InteropServices;

namespace PcapDht.Capture;

/// <summary>poll(2) on one descriptor: how standard input and the live capture socket wait without blocking for good.</summary>
internal static class PosixPoll
{
    private const short PollIn = 0x001;

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int Poll(ref PollFd fds, nuint count, int timeoutMs);

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for <paramref name="fd"/> to become readable (or closed, or in
    /// error: a read then answers). &gt; 0 ready, 0 timed out, &lt; 0 failed (errno in Marshal.GetLastPInvokeError).
    /// </summary>
    /// <exception cref="DllNotFoundException">No libc to call (not a POSIX system).</exception>
    public static int WaitReadable(int fd, int timeoutMs)
    {
        var p = new PollFd { Fd = fd, Events = PollIn };
        return Poll(ref p, 1, timeoutMs);
    }
}
