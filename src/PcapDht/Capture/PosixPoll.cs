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

    public const int Fifo = 0x1000, CharacterDevice = 0x2000, Socket = 0xC000;
    private const int AtFdCwd = -100, StatxType = 1, StatxModeOffset = 28;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static extern unsafe int Statx(int dirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte* buffer);

    /// <summary>
    /// The file type bits (S_IFMT) of <paramref name="path"/>, following symbolic links; 0 when it cannot be
    /// told. statx(2) rather than stat(2): its struct is laid out the same on every architecture.
    /// </summary>
    public static unsafe int FileType(string path)
    {
        byte* buffer = stackalloc byte[256];
        if (Statx(AtFdCwd, path, 0, StatxType, buffer) != 0) return 0;
        return *(ushort*)(buffer + StatxModeOffset) & 0xF000;
    }

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
