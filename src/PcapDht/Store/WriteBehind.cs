using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PcapDht.Store;

/// <summary>
/// Makes the database file durable while an ingest runs, so the commit's fsync finds little left to do.
/// On this VM an fsync costs about 1.1 ms per MB written since the previous one, even when every page has
/// already been written back (the virtual disk flushes its own cache): the commit of a 2M-packet ingest
/// (~400 MB) waited 0.45–0.55 s in fsync after decoding had finished, although a thread had been calling
/// <c>sync_file_range</c> all along. A thread of its own now calls <c>fdatasync</c> every 100 ms, so the
/// flushing overlaps the decoding and the commit's fsync covers only the last round (0.14 s instead of
/// 0.52 s for the sightings commit, median of 8 alternating runs). Waiting costs no CPU, and durability
/// still comes from DuckDB's own fsync at commit. Linux only; elsewhere it does nothing.
/// Closing its descriptor drops DuckDB's fcntl lock on the file (POSIX record locks belong to the process and
/// go with the first close of any descriptor of the file): only <see cref="PcapDhtDatabase"/> owns one, and
/// closes it after the database itself (tests/PcapDht.Tests/Store/FileLockTests.cs).
/// </summary>
internal sealed partial class WriteBehind : IDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    private readonly SafeFileHandle? _file;
    private readonly Thread? _thread;
    private readonly ManualResetEventSlim _stop = new();

    private WriteBehind(SafeFileHandle? file)
    {
        _file = file;
        if (file == null) return;
        _thread = new Thread(Loop) { Name = "pcapdht-writeback", IsBackground = true };
        _thread.Start();
    }

    public static WriteBehind Open(string path)
    {
        if (!OperatingSystem.IsLinux() || path == ":memory:" || !File.Exists(path)) return new WriteBehind(null);
        try
        {
            return new WriteBehind(File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new WriteBehind(null);
        }
    }

    private void Loop()
    {
        // The handle stays open until Dispose has joined this thread.
        int fd = (int)_file!.DangerousGetHandle();
        while (!_stop.Wait(Interval))
        {
            // A failure only loses the head start: the commit's fsync does the work then.
            if (fdatasync(fd) != 0) return;
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    public void Dispose()
    {
        _stop.Set();
        _thread?.Join();
        _file?.Dispose();
        _stop.Dispose();
    }
}
