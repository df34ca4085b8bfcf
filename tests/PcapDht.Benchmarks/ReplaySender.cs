using System.Diagnostics;
using System.Runtime.InteropServices;
using PcapDht.Capture;

namespace PcapDht.Benchmarks;

/// <summary>
/// <c>replay IFACE FILE PPS|max LIMIT</c>: sends a capture's frames out of an interface at a fixed
/// packet rate, looping until LIMIT frames, for the sniff benchmark. tcpreplay makes one sendto() per
/// packet and needed a whole core for ~200 000 packets/s here, on the 2 cores it shares with the
/// sniffer; this sender preloads the frames and hands the kernel 64 per sendmmsg() call on a bound
/// AF_PACKET socket. It prints tcpreplay's "Successful packets" and "Rated" lines so the benchmark
/// script parses either. Linux only; needs CAP_NET_RAW. Test-network use only (a veth pair in a
/// private namespace): it sends whatever the file holds.
/// </summary>
internal static unsafe partial class ReplaySender
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "replay";

    private const int AfPacket = 17, SockRaw = 3, Batch = 64;
    private const ushort EthPAllNetworkOrder = 0x0300;

    public static int Run(string[] args)
    {
        if (args.Length != 5)
        {
            Console.Error.WriteLine("usage: replay IFACE FILE PPS|max LIMIT");
            return 2;
        }
        string iface = args[1], file = args[2];
        double pps = args[3] == "max" ? 0 : double.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
        long limit = long.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture);

        // Preload: one buffer, frame offsets and lengths.
        var frames = new List<(int Offset, int Length)>();
        var buffer = new MemoryStream();
        using (var reader = CaptureReader.Open(file))
            while (reader.TryRead(out var f))
            {
                frames.Add(((int)buffer.Length, f.Data.Length));
                buffer.Write(f.Data);
            }
        if (frames.Count == 0) { Console.Error.WriteLine($"replay: {file} has no frames"); return 1; }
        byte[] data = buffer.ToArray();

        int index = if_nametoindex(iface);
        if (index == 0) { Console.Error.WriteLine($"replay: no interface {iface}"); return 1; }
        int fd = socket(AfPacket, SockRaw, EthPAllNetworkOrder);
        if (fd < 0) { Console.Error.WriteLine($"replay: socket failed (errno {Marshal.GetLastPInvokeError()}); needs CAP_NET_RAW"); return 1; }
        var sll = stackalloc byte[20];
        new Span<byte>(sll, 20).Clear();
        *(ushort*)sll = AfPacket;
        *(ushort*)(sll + 2) = EthPAllNetworkOrder;
        *(int*)(sll + 4) = index;
        if (bind(fd, sll, 20) != 0) { Console.Error.WriteLine($"replay: bind to {iface} failed (errno {Marshal.GetLastPInvokeError()})"); return 1; }

        var iov = stackalloc IoVec[Batch];
        var msgs = stackalloc MMsgHdr[Batch];
        new Span<byte>(msgs, sizeof(MMsgHdr) * Batch).Clear();
        long sent = 0, bytes = 0;
        int next = 0;
        var sw = Stopwatch.StartNew();
        fixed (byte* basePtr = data)
        {
            while (sent < limit)
            {
                int n = (int)Math.Min(Batch, limit - sent);
                for (int i = 0; i < n; i++)
                {
                    var (off, len) = frames[next];
                    next = next + 1 == frames.Count ? 0 : next + 1;
                    iov[i].Base = basePtr + off;
                    iov[i].Length = (nuint)len;
                    msgs[i].Iov = &iov[i];
                    msgs[i].IovLen = 1;
                    bytes += len;
                }
                int done = 0;
                while (done < n)
                {
                    int r = sendmmsg(fd, msgs + done, (uint)(n - done), 0);
                    if (r < 0)
                    {
                        int errno = Marshal.GetLastPInvokeError();
                        if (errno == 105 /* ENOBUFS */ || errno == 11 /* EAGAIN */) { Thread.Yield(); continue; }
                        Console.Error.WriteLine($"replay: sendmmsg failed (errno {errno})");
                        return 1;
                    }
                    done += r;
                }
                sent += n;
                if (pps > 0)
                {
                    long due = (long)(sent / pps * Stopwatch.Frequency);
                    while (sw.ElapsedTicks < due)
                        if (due - sw.ElapsedTicks > Stopwatch.Frequency / 1000) Thread.Sleep(0); else Thread.SpinWait(20);
                }
            }
        }
        double secs = sw.Elapsed.TotalSeconds;
        Console.WriteLine($"Actual: {sent} packets ({bytes} bytes) sent in {secs:F2} seconds");
        Console.WriteLine($"Rated: {bytes / secs:F1} Bps, {bytes * 8 / secs / 1e6:F2} Mbps, {sent / secs:F2} pps");
        Console.WriteLine($"Statistics for network device: {iface}");
        Console.WriteLine($"\tSuccessful packets:        {sent}");
        return 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    // struct mmsghdr { struct msghdr msg_hdr; unsigned int msg_len; } on LP64 Linux.
    [StructLayout(LayoutKind.Sequential)]
    private struct MMsgHdr
    {
        public void* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
        private readonly int _padding;
        public uint Len;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int bind(int fd, byte* addr, int len);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int sendmmsg(int fd, MMsgHdr* msgs, uint vlen, int flags);

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int if_nametoindex(string name);
}
