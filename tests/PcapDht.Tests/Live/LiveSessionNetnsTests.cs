using System.Buffers.Binary;
using PcapDht.Live;

namespace PcapDht.Tests.Live;

/// <summary>LiveSession against real traffic: a libtorrent DHT swarm on a private namespace's loopback.</summary>
public class LiveSessionNetnsTests
{
    internal static string SwarmScript => Path.Combine(AppContext.BaseDirectory, "Live", "dht_swarm.py");

    [SwarmFact]
    public void LiveSession_DhtSwarmOnLoopback_CapturesExactlyTheFramesTcpdumpCaptures()
    {
        using var ns = new NetNs();
        using var dir = new TempDir();
        var tcpdumpFile = Path.Combine(dir.Path, "tcpdump.pcap");
        using var tcpdump = StartTcpdump(ns, tcpdumpFile, LiveCaptureOptions.DefaultFilter);

        var options = new LiveCaptureOptions { Interface = "lo", FlushInterval = TimeSpan.FromMilliseconds(300), WritePcapDirectory = Path.Combine(dir.Path, "raw") };
        var session = NetnsThread.Run(ns.Name, () => LiveSession.Open(options));
        var sink = new RecordingSink();
        using (session)
        {
            session.Start(sink);
            var swarm = LiveProcess.Run(ns.Exec, "/usr/bin/python3", [SwarmScript, "6", "3"], TimeSpan.FromMinutes(1));
            Assert.True(swarm.code == 0, swarm.stderr);
            session.Stop();
            Assert.Equal(LiveStopReason.Stopped, session.Wait());
        }
        StopTcpdump(tcpdump, tcpdumpFile);

        Assert.Equal(LiveStopReason.Stopped, sink.Reason);
        Assert.Equal(1, sink.LinkTypeSeen); // Linux loopback is DLT_EN10MB
        Assert.True(sink.Frames.Count > 100, $"only {sink.Frames.Count} frames from the swarm");
        Assert.Equal(sink.Frames.Count, sink.Final.Frames);
        Assert.True(sink.Flushes.Count >= 3, $"{sink.Flushes.Count} flushes in >3 s at 300 ms");
        Assert.Equal(0, sink.Final.PcapDropped);
        Assert.True(sink.Final.PcapReceived >= sink.Final.Frames, $"pcap_stats received {sink.Final.PcapReceived} < {sink.Final.Frames} frames");

        // tcpdump started first and stopped last, so it holds a superset; over our time range it must match exactly.
        var reference = ReadPcap(tcpdumpFile);
        long first = sink.Frames.Min(f => f.ts), last = sink.Frames.Max(f => f.ts);
        var expected = reference.Where(r => r.ts >= first && r.ts <= last).ToList();
        Assert.True(expected.Count == sink.Frames.Count,
            $"tcpdump has {expected.Count} frames in our range ({reference.Count} in all), we captured {sink.Frames.Count}; "
            + $"our pcap_stats: received {sink.Final.PcapReceived}, dropped {sink.Final.PcapDropped}");
        // Same frames; the order of packets within microseconds may differ between two sockets' rings
        // (measured: two frames 400 ns apart swapped), so compare them sorted.
        Assert.Equal(expected.Order().ToList(), sink.Frames.Order().ToList());

        // --write-pcap kept the same evidence byte for byte.
        var written = Directory.GetFiles(options.WritePcapDirectory!).Order(StringComparer.Ordinal).SelectMany(ReadPcap).ToList();
        Assert.Equal(sink.Frames, written);
    }

    [RootFact]
    public void LiveSession_PacketLimit_StopsAfterExactlyThatManyFrames()
    {
        using var ns = new NetNs();
        var session = NetnsThread.Run(ns.Name, () => LiveSession.Open(new LiveCaptureOptions { Interface = "lo", PacketLimit = 25 }));
        var sink = new RecordingSink();
        using (session)
        {
            session.Start(sink);
            // 40 UDP datagrams to a closed port on the namespace's loopback (each also draws an ICMP error, which the filter drops).
            var send = LiveProcess.Run(ns.Exec, "/usr/bin/python3", ["-c",
                "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(40):\n s.sendto(b'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',('127.0.0.1',9))\n time.sleep(0.01)"],
                TimeSpan.FromSeconds(30));
            Assert.True(send.code == 0, send.stderr);
            Assert.True(session.WaitFor(TimeSpan.FromSeconds(10)), "session did not stop at --packets");
            Assert.Equal(LiveStopReason.PacketLimit, session.Wait());
        }
        Assert.Equal(25, sink.Frames.Count);
        Assert.Equal(LiveStopReason.PacketLimit, sink.Reason);
    }

    /// <summary>
    /// tcpdump drops what is still unread in its kernel ring when it gets SIGINT, and on a loaded machine
    /// it lags (seen: one frame short, under a full test run): stop it only once its file, written
    /// packet by packet (-U), has stopped growing.
    /// </summary>
    internal static void StopTcpdump(LiveProcess tcpdump, string file)
    {
        long size = -1;
        for (int i = 0; i < 100; i++)
        {
            Thread.Sleep(i < 3 ? 300 : 1000);
            long now = File.Exists(file) ? new FileInfo(file).Length : 0;
            if (now == size && i >= 3) break;
            size = now;
        }
        tcpdump.Signal("INT");
        tcpdump.WaitExit(TimeSpan.FromSeconds(20));
    }

    internal static LiveProcess StartTcpdump(NetNs ns, string file, string filter)
    {
        var p = LiveProcess.Start(ns.Exec, "tcpdump", ["-i", "lo", "-U", "-n", "--time-stamp-precision=nano", "-B", "65536", "-w", file, filter]);
        // tcpdump says "listening on" once its filter is installed; before that it captures nothing.
        // Generous: on a loaded CI machine tcpdump's start-up alone has taken seconds.
        for (int i = 0; i < 600 && !p.Stderr.Contains("listening on", StringComparison.Ordinal) && !p.HasExited; i++) Thread.Sleep(50);
        Assert.True(p.Stderr.Contains("listening on", StringComparison.Ordinal), "tcpdump did not start: " + p.Stderr);
        return p;
    }

    /// <summary>Classic pcap (either timestamp precision) as (ts ns, orig len, cap len, content hash).</summary>
    internal static List<(long ts, int len, int caplen, ulong hash)> ReadPcap(string path)
    {
        var b = File.ReadAllBytes(path);
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(b);
        long mul = magic == 0xa1b23c4d ? 1 : magic == 0xa1b2c3d4 ? 1000 : throw new InvalidDataException($"{path}: magic {magic:x}");
        var list = new List<(long, int, int, ulong)>();
        int o = 24;
        while (o + 16 <= b.Length)
        {
            long ts = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(o)) * 1_000_000_000L + BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(o + 4)) * mul;
            int cap = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(o + 8));
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(o + 12));
            if (o + 16 + cap > b.Length) break;
            list.Add((ts, len, cap, RecordingSink.Hash(b.AsSpan(o + 16, cap))));
            o += 16 + cap;
        }
        return list;
    }
}
