using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PcapDht.Store;

/// <summary>
/// Starts the kernel's writeback of the database file while an ingest runs. DuckDB fsyncs at commit; the
/// ~300 MB written for 2M packets were then still dirty in the page cache, and that one fsync took 0.6 s
/// after decoding had finished. <c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c> only queues the writeback
/// (no wait, no durability promise, the commit's fsync still provides that), so the disk works during the
/// ingest instead of after it. Linux only; elsewhere it does nothing.
/// </summary>
internal sealed partial class WriteBehind : IDisposable
{
    private const uint SyncFileRangeWrite = 2;
    private static readonly long IntervalTicks = Stopwatch.Frequency / 4;

    private readonly SafeFileHandle? _file;
    private long _last;

    private WriteBehind(SafeFileHandle? file) => _file = file;

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

    /// <summary>Queues writeback of the file's dirty pages, at most every 250 ms; safe from several threads.</summary>
    public void Kick()
    {
        if (_file == null) return;
        long now = Stopwatch.GetTimestamp(), last = Interlocked.Read(ref _last);
        if (now - last < IntervalTicks || Interlocked.CompareExchange(ref _last, now, last) != last) return;
        bool added = false;
        try
        {
            _file.DangerousAddRef(ref added);
            _ = sync_file_range((int)_file.DangerousGetHandle(), 0, 0, SyncFileRangeWrite); // a failure only loses the head start
        }
        finally
        {
            if (added) _file.DangerousRelease();
        }
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sync_file_range(int fd, long offset, long nbytes, uint flags);

    public void Dispose() => _file?.Dispose();
}
