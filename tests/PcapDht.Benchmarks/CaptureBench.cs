using System.Buffers.Binary;
using System.Diagnostics;
using PcapDht.Capture;
using PcapDht.Net;
using SharpPcap;
using SharpPcap.LibPcap;

namespace PcapDht.Benchmarks;

/// <summary>
/// Console entries used by scripts/bench-capture.sh (whole-file timings that BenchmarkDotNet's
/// per-invocation model does not suit):
///   read FILE          managed reader + PacketDecoder to UDP payloads
///   sharppcap FILE     SharpPcap's libpcap offline reader + the same PacketDecoder
///   gen-capture OUT MB [mixed|small]  writes a pcap of about MB megabytes
/// Each prints one tab-separated line: what, frames, datagrams, bytes, seconds, MB/s, frames/s, payload
/// bytes, CPU seconds of the measured run. PCAPDHT_BENCH_REPEAT=N reads N times and reports the last run
/// (runtime start-up and JIT warm-up excluded).
/// </summary>
public static class CaptureBench
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] is "read" or "read-frames" or "read-bytes" or "sharppcap" or "gen-capture";

    public static int Run(string[] args)
    {
        switch (args[0])
        {
            case "read": return Read(args[1]);
            case "read-frames": return ReadFrames(args[1]);
            case "read-bytes": return ReadBytes(args[1]);
            case "sharppcap": return SharpPcapRead(args[1]);
            default: return Generate(args[1], long.Parse(args[2]) << 20, args.Length > 3 ? args[3] : "small");
        }
    }

    private static int Read(string path)
    {
        // PCAPDHT_BENCH_REPEAT=N reads the file N times in one process and reports the last run, which
        // excludes runtime start-up and JIT warm-up from the figure; CPU seconds are printed to stderr.
        int repeat = int.TryParse(Environment.GetEnvironmentVariable("PCAPDHT_BENCH_REPEAT"), out int r) ? r : 1;
        for (int i = 1; i < repeat; i++) ReadOnce(path, report: false);
        ReadOnce(path, report: true);
        return 0;
    }

    private static void ReadOnce(string path, bool report)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        using var reader = CaptureReader.Open(path);
        var decoder = new PacketDecoder();
        long payloadBytes = 0;
        while (reader.TryRead(out var frame))
        {
            if (decoder.TryDecode(frame, out var d)) payloadBytes += d.Payload.Length;
        }
        decoder.Finish();
        sw.Stop();
        if (!report) return;
        if (reader.Damage != null) Console.Error.WriteLine($"damage: {reader.Damage}");
        Report("managed", decoder.Counters, new FileInfo(path).Length, sw.Elapsed.TotalSeconds, payloadBytes,
            (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    /// <summary>The reader alone (no decoding), to split the cost between the two stages.</summary>
    private static int ReadFrames(string path)
    {
        int repeat = int.TryParse(Environment.GetEnvironmentVariable("PCAPDHT_BENCH_REPEAT"), out int r) ? r : 1;
        for (int i = 1; i < repeat; i++)
        {
            using var warm = CaptureReader.Open(path);
            while (warm.TryRead(out _)) { }
        }
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        using var reader = CaptureReader.Open(path);
        long bytes = 0;
        while (reader.TryRead(out var frame)) bytes += frame.Data.Length;
        sw.Stop();
        Console.Error.WriteLine($"cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F3} s");
        double s = sw.Elapsed.TotalSeconds;
        long fileBytes = new FileInfo(path).Length;
        Console.WriteLine(string.Join('\t', "frames-only", reader.FramesRead, 0, fileBytes, s.ToString("F3"),
            (fileBytes / 1e6 / s).ToString("F0"), (reader.FramesRead / s).ToString("F0"), bytes));
        return 0;
    }

    /// <summary>read(2) in 1 MiB blocks and nothing else: what any managed reader pays before parsing.</summary>
    private static int ReadBytes(string path)
    {
        var sw = Stopwatch.StartNew();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.SequentialScan);
        var buffer = new byte[1 << 20];
        long total = 0;
        int n;
        while ((n = file.Read(buffer, 0, buffer.Length)) > 0) total += n;
        double s = sw.Elapsed.TotalSeconds;
        Console.WriteLine(string.Join('\t', "bytes-only", 0, 0, total, s.ToString("F3"), (total / 1e6 / s).ToString("F0"), 0, 0));
        return 0;
    }

    private static int SharpPcapRead(string path)
    {
        int repeat = int.TryParse(Environment.GetEnvironmentVariable("PCAPDHT_BENCH_REPEAT"), out int r) ? r : 1;
        for (int i = 1; i < repeat; i++) SharpPcapOnce(path, report: false);
        SharpPcapOnce(path, report: true);
        return 0;
    }

    private static void SharpPcapOnce(string path, bool report)
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        using var device = new CaptureFileReaderDevice(path);
        device.Open();
        var decoder = new PacketDecoder();
        int linkType = (int)device.LinkType;
        long payloadBytes = 0;
        long n = 0;
        while (device.GetNextPacket(out PacketCapture p) == GetPacketStatus.PacketRead)
        {
            var ts = p.Header.Timeval;
            var frame = new Frame(++n, (long)ts.Seconds * 1_000_000_000 + (long)ts.MicroSeconds * 1000, linkType, p.Data.Length, p.Data);
            if (decoder.TryDecode(frame, out var d)) payloadBytes += d.Payload.Length;
        }
        decoder.Finish();
        sw.Stop();
        if (!report) return;
        Report("sharppcap", decoder.Counters, new FileInfo(path).Length, sw.Elapsed.TotalSeconds, payloadBytes,
            (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds);
    }

    private static void Report(string what, NetCounters c, long fileBytes, double seconds, long payloadBytes, double cpuSeconds)
    {
        Console.WriteLine(string.Join('\t', what, c.Frames, c.UdpDatagrams, fileBytes, seconds.ToString("F3"),
            (fileBytes / 1e6 / seconds).ToString("F0"), (c.Frames / seconds).ToString("F0"), payloadBytes, cpuSeconds.ToString("F3")));
    }

    /// <summary>
    /// "small": Ethernet/IPv4|IPv6/UDP frames with 100–400-byte payloads, the size of most KRPC queries and
    /// replies; "mixed": adds 1–9 KB responses fragmented at 1500 bytes.
    /// </summary>
    private static int Generate(string outPath, long targetBytes, string kind)
    {
        var rng = new Random(5);
        using var file = new FileStream(outPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> header = stackalloc byte[24];
        BinaryPrimitives.WriteUInt32LittleEndian(header, 0xA1B2C3D4);
        BinaryPrimitives.WriteUInt16LittleEndian(header[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(header[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], 262144);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], 1);
        file.Write(header);
        var frame = new byte[70_000];
        var rec = new byte[16];
        long ts = 1_700_000_000L * 1_000_000;
        ushort id = 0;
        long frames = 0;
        while (file.Position < targetBytes)
        {
            bool v6 = rng.Next(4) == 0;
            int payload = kind == "mixed" && rng.Next(10) == 0 ? rng.Next(1000, 9000) : rng.Next(100, 400);
            int udpLength = 8 + payload;
            int mtuPayload = v6 ? 1448 : 1480;
            id++;
            uint source = (uint)rng.Next();
            for (int off = 0; off < udpLength; off += mtuPayload)
            {
                int chunk = Math.Min(mtuPayload, udpLength - off);
                bool more = off + chunk < udpLength;
                bool fragmented = udpLength > mtuPayload;
                int at = 14;
                frame.AsSpan(0, 12).Fill(0x02);
                int ipHeader;
                if (v6)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x86DD);
                    frame.AsSpan(at, 40).Clear();
                    frame[at] = 0x60;
                    int extra = fragmented ? 8 : 0;
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 4), (ushort)(chunk + extra));
                    frame[at + 6] = fragmented ? (byte)44 : (byte)17;
                    frame[at + 7] = 64;
                    frame[at + 8] = 0x20; BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(at + 20), source);
                    frame[at + 24] = 0x20; frame[at + 39] = 1;
                    ipHeader = 40;
                    if (fragmented)
                    {
                        frame[at + 40] = 17;
                        frame[at + 41] = 0;
                        BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 42), (ushort)(off | (more ? 1 : 0)));
                        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(at + 44), id);
                        ipHeader += 8;
                    }
                }
                else
                {
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(12), 0x0800);
                    frame.AsSpan(at, 20).Clear();
                    frame[at] = 0x45;
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 2), (ushort)(20 + chunk));
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 4), id);
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(at + 6), (ushort)((more ? 0x2000 : 0) | (off / 8)));
                    frame[at + 8] = 64;
                    frame[at + 9] = 17;
                    BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(at + 12), source);
                    BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(at + 16), 0x0A000001);
                    ipHeader = 20;
                }
                var data = frame.AsSpan(at + ipHeader, chunk);
                rng.NextBytes(data);
                if (off == 0)
                {
                    BinaryPrimitives.WriteUInt16BigEndian(data, 6881);
                    BinaryPrimitives.WriteUInt16BigEndian(data[2..], 51413);
                    BinaryPrimitives.WriteUInt16BigEndian(data[4..], (ushort)udpLength);
                    data[6] = 0; data[7] = 0;
                    "d1:ad2:id20:"u8.CopyTo(data[8..]);
                }
                int length = at + ipHeader + chunk;
                ts += rng.Next(1, 2000);
                BinaryPrimitives.WriteUInt32LittleEndian(rec, (uint)(ts / 1_000_000));
                BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(4), (uint)(ts % 1_000_000));
                BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(8), (uint)length);
                BinaryPrimitives.WriteUInt32LittleEndian(rec.AsSpan(12), (uint)length);
                file.Write(rec);
                file.Write(frame, 0, length);
                frames++;
            }
        }
        Console.WriteLine($"{outPath}\t{frames} frames\t{file.Position} bytes");
        return 0;
    }
}
