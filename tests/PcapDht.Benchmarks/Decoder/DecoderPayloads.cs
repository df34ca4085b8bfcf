using System.Text;
using PcapDht.Capture;
using PcapDht.Net;

namespace PcapDht.Benchmarks.Decoder;

/// <summary>
/// The message mix the decoder benchmarks run on: UDP payloads of samples-pcap/dht-loopback.pcap
/// (real libtorrent + webtorrent traffic), or, when the samples are absent, the third-party captures
/// in ../shared/captures plus generated messages. Loaded once, packed into one buffer.
/// </summary>
public static class DecoderPayloads
{
    /// <summary>Messages per benchmark invocation (OperationsPerInvoke must be a constant).</summary>
    public const int Count = 4096;

    /// <summary>Messages of at least this many bytes form the "large" mix (get_peers replies with many peers, BEP 44 items).</summary>
    public const int LargeBytes = 1000;

    private static (byte[] Data, int[] Offsets, string Source)? _loaded;
    private static (byte[] Data, int[] Offsets, string Source)? _large;

    public static (byte[] Data, int[] Offsets, string Source) Load() => _loaded ??= Build(0);

    public static (byte[] Data, int[] Offsets, string Source) LoadLarge() => _large ??= Build(LargeBytes);

    public static double AverageBytes => Average(Load().Offsets);

    public static double AverageLargeBytes => Average(LoadLarge().Offsets);

    private static double Average(int[] offsets) => (double)offsets[^1] / (offsets.Length - 1);

    private static (byte[], int[], string) Build(int minBytes)
    {
        string? root = RepositoryRoot();
        var all = new List<byte[]>();
        string source;
        string samples = root == null ? "" : Path.Combine(root, "samples-pcap", "dht-loopback.pcap");
        if (File.Exists(samples))
        {
            all.AddRange(ReadUdp(samples));
            source = "samples-pcap/dht-loopback.pcap";
        }
        else
        {
            string captures = root == null ? "" : Path.Combine(root, "..", "shared", "captures");
            if (Directory.Exists(captures))
            {
                foreach (string file in Directory.EnumerateFiles(captures, "*.pcap*"))
                    all.AddRange(ReadUdp(file));
            }
            all.AddRange(Generated());
            source = "third-party captures + generated messages";
        }
        all = all.Where(p => p.Length >= minBytes).ToList();
        if (all.Count == 0)
            all.AddRange(Generated().Where(p => p.Length >= minBytes));
        // Evenly spaced picks keep the capture's mix of small queries and large replies.
        var data = new MemoryStream();
        int[] offsets = new int[Count + 1];
        for (int i = 0; i < Count; i++)
        {
            data.Write(all[(int)((long)i * all.Count / Count)]);
            offsets[i + 1] = (int)data.Length;
        }
        return (data.ToArray(), offsets, source);
    }

    private static List<byte[]> ReadUdp(string path)
    {
        var result = new List<byte[]>();
        using var reader = CaptureReader.Open(path);
        var decoder = new PacketDecoder();
        while (reader.TryRead(out Frame frame))
        {
            if (decoder.TryDecode(frame, out UdpDatagram d))
                result.Add(d.Payload.ToArray());
        }
        return result;
    }

    private static IEnumerable<byte[]> Generated()
    {
        var random = new Random(1);
        for (int i = 0; i < 200; i++)
        {
            string id = RandomText(random, 20), t = RandomText(random, 2);
            yield return Encoding.Latin1.GetBytes((i % 4) switch
            {
                0 => $"d1:ad2:id20:{id}9:info_hash20:{RandomText(random, 20)}e1:q9:get_peers1:t2:{t}1:v4:LT\x02\x081:y1:qe",
                1 => $"d1:rd2:id20:{id}5:nodes208:{RandomText(random, 208)}5:token8:{RandomText(random, 8)}e1:t2:{t}1:v4:LT\x02\x081:y1:re",
                2 => $"d1:rd2:id20:{id}5:token8:{RandomText(random, 8)}6:valuesl" + string.Concat(Enumerable.Range(0, 150).Select(_ => "6:" + RandomText(random, 6))) + $"ee1:t2:{t}1:y1:re",
                _ => $"d1:ad2:id20:{id}e1:q4:ping1:t2:{t}1:y1:qe",
            });
        }
    }

    private static string RandomText(Random random, int length)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++)
            chars[i] = (char)random.Next(256);
        return new string(chars);
    }

    private static string? RepositoryRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "PcapDht.sln")))
                    return dir.FullName;
            }
        }
        return null;
    }
}
