using System.Runtime.InteropServices;

namespace PcapDht.Tests.Live;

/// <summary>
/// Runs a function on a fresh thread that first joins a network namespace (setns(2) is per thread).
/// A capture socket opened there stays bound to that namespace when other threads read it, so an
/// in-process LiveSession can capture a namespace's loopback without moving the test runner.
/// </summary>
internal static partial class NetnsThread
{
    private const int CloneNewNet = 0x40000000;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    public static T Run<T>(string netns, Func<T> action)
    {
        T? result = default;
        Exception? failure = null;
        var t = new Thread(() =>
        {
            try
            {
                using var f = File.OpenHandle(Path.Combine("/var/run/netns", netns));
                if (setns((int)f.DangerousGetHandle(), CloneNewNet) != 0)
                    throw new InvalidOperationException($"setns({netns}) failed: errno {Marshal.GetLastPInvokeError()}");
                result = action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        t.Start();
        t.Join();
        if (failure != null) throw new InvalidOperationException(failure.Message, failure);
        return result!;
    }
}
