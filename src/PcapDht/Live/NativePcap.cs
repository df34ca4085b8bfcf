using System.Runtime.InteropServices;

namespace PcapDht.Live;

/// <summary>
/// The two libpcap calls SharpPcap 6.3.1 gets wrong or hides. Its <c>pcap_stat_unix</c> declares the
/// three counters as pointer-sized, but libpcap's <c>struct pcap_stat</c> is three <c>u_int</c>s, so on
/// 64-bit Linux its DroppedPackets reads ps_ifdrop and InterfaceDroppedPackets is always 0. We call
/// <c>pcap_stats</c> ourselves with the right layout. Nothing here can transmit.
/// </summary>
internal static unsafe class NativePcap
{
    private static readonly string[] s_names = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so", "libpcap.dylib", "wpcap"];
    private static nint s_stats;
    private static nint s_selectableFd;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PcapStat
    {
        public uint Received;
        public uint Dropped;
        public uint InterfaceDropped;
        // Windows appends bs_capt; room for it keeps the call safe everywhere.
        public uint Reserved;
    }

    /// <summary>True when a libpcap shared library can be loaded at all.</summary>
    public static bool TryLoad(out nint library)
    {
        foreach (var name in s_names)
        {
            if (NativeLibrary.TryLoad(name, typeof(NativePcap).Assembly, null, out library)) return true;
        }
        library = 0;
        return false;
    }

    /// <summary>pcap_get_selectable_fd: the capture socket, for <see cref="WaitReadable"/>; -1 if unavailable.</summary>
    public static int GetSelectableFd(SafeHandle pcap)
    {
        if (s_selectableFd == 0)
        {
            if (!TryLoad(out var lib) || !NativeLibrary.TryGetExport(lib, "pcap_get_selectable_fd", out s_selectableFd)) return -1;
        }
        var fn = (delegate* unmanaged<nint, int>)s_selectableFd;
        return fn(pcap.DangerousGetHandle());
    }

    /// <summary>
    /// Waits up to <paramref name="timeoutMs"/> for the capture socket to become readable. We read in
    /// non-blocking mode and wait here: a blocking pcap_next_ex on a TPACKET_V3 ring does not return on
    /// its read timeout while the link is idle (measured: a stop request hung until the next packet).
    /// </summary>
    public static void WaitReadable(int fd, int timeoutMs)
    {
        if (fd < 0)
        {
            Thread.Sleep(Math.Min(timeoutMs, 10));
            return;
        }
        Capture.PosixPoll.WaitReadable(fd, timeoutMs);
    }

    /// <summary>pcap_stats on an open handle; false if libpcap reports an error.</summary>
    public static bool TryGetStats(SafeHandle pcap, out PcapStat stat)
    {
        stat = default;
        if (s_stats == 0)
        {
            if (!TryLoad(out var lib) || !NativeLibrary.TryGetExport(lib, "pcap_stats", out s_stats)) return false;
        }
        bool added = false;
        try
        {
            pcap.DangerousAddRef(ref added);
            var fn = (delegate* unmanaged<nint, PcapStat*, int>)s_stats;
            fixed (PcapStat* p = &stat)
            {
                return fn(pcap.DangerousGetHandle(), p) == 0;
            }
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        finally
        {
            if (added) pcap.DangerousRelease();
        }
    }
}
