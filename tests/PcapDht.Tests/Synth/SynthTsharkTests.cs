using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using PcapDht.Net;
using PcapDht.Synth;

namespace PcapDht.Tests.Synth;

/// <summary>
/// Recounts a written synthetic capture with tshark (network layers, IP reassembly, its bt-dht
/// dissector) plus the tests' own strict bencode reader, and compares with the ground truth the
/// generator counted while writing.
/// </summary>
public class SynthTsharkTests
{
    private sealed record Row(long Frame, long TsUs, IpAddr Src, ushort SrcPort, IpAddr Dst, ushort DstPort,
        bool Fragment, bool Malformed, bool BtDht, bool ChecksumGood, byte[] Payload);

    private static List<Row> RunTshark(string path)
    {
        var psi = new ProcessStartInfo("tshark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Heuristics first, so that KRPC on a port some other dissector owns is still tried as bt-dht.
        foreach (var a in new[]
        {
            "-r", path, "-o", "udp.try_heuristic_first:TRUE", "-o", "udp.check_checksum:TRUE",
            "-T", "fields", "-E", "separator=/t", "-E", "occurrence=f",
            "-e", "frame.number", "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst",
            "-e", "ipv6.dst", "-e", "udp.srcport", "-e", "udp.dstport", "-e", "ip.flags.mf", "-e", "ip.frag_offset",
            "-e", "ipv6.fraghdr.nxt", "-e", "frame.protocols", "-e", "udp.checksum.status", "-e", "_ws.malformed", "-e", "udp.payload",
        }) psi.ArgumentList.Add(a);
        Process p;
        try
        {
            p = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new InvalidOperationException("tshark is not installed: run scripts/install-deps.sh test");
        }
        var stderr = p.StandardError.ReadToEndAsync();
        var rows = new List<Row>();
        while (p.StandardOutput.ReadLine() is { } line)
        {
            var f = line.Split('\t');
            bool v4 = f[2].Length > 0;
            string flagsMf = f[8], fragOffset = f[9];
            bool fragment = flagsMf is "1" or "True" || (fragOffset.Length > 0 && fragOffset != "0") || f[10].Length > 0;
            rows.Add(new Row(
                long.Parse(f[0], CultureInfo.InvariantCulture),
                ParseEpochUs(f[1]),
                IpAddr.Parse(v4 ? f[2] : f[3]),
                f[6].Length > 0 ? ushort.Parse(f[6], CultureInfo.InvariantCulture) : (ushort)0,
                IpAddr.Parse(v4 ? f[4] : f[5]),
                f[7].Length > 0 ? ushort.Parse(f[7], CultureInfo.InvariantCulture) : (ushort)0,
                fragment,
                f[13].Length > 0,
                f[11].Contains("bt-dht", StringComparison.Ordinal),
                f[12] == "1",
                Convert.FromHexString(f[14])));
        }
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "tshark failed: " + stderr.Result);
        return rows;
    }

    private static long ParseEpochUs(string s)
    {
        int dot = s.IndexOf('.');
        long sec = long.Parse(s.AsSpan(0, dot), CultureInfo.InvariantCulture);
        long us = long.Parse(s.AsSpan(dot + 1, 6), CultureInfo.InvariantCulture);
        return sec * 1_000_000 + us;
    }

    [Fact]
    public void Tshark_RecountOfCapture_AgreesWithGroundTruth()
    {
        var dir = SynthTestSupport.TempDir();
        try
        {
            string path = Path.Combine(dir, "recount.pcap");
            var table = SynthTestSupport.LoadFixture();
            SynthTruth truth;
            using (var fs = File.Create(path))
                truth = SynthGenerator.Generate(new SynthOptions
                {
                    Seed = 77, Packets = 12_000, FragmentShare = 0.05, MalformedShare = 0.01, Ipv6Share = 0.3,
                }, table, fs);
            var rows = RunTshark(path);
            Recount(rows, truth, table);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static void Recount(List<Row> rows, SynthTruth truth, AsnRangeTable table)
    {
        Assert.Equal(truth.Frames, rows.Count);
        Assert.Equal(truth.FragmentFrames, rows.Count(r => r.Fragment));
        Assert.Equal(truth.Ipv4Frames, rows.Count(r => r.Src.IsV4));

        long krpc = 0, krpcWin = 0, malformed = 0, malformedWin = 0, datagrams = 0, checksumGood = 0;
        var krpcFrames = new HashSet<long>();
        var intentionalMalformed = new HashSet<long>();
        var ips = new HashSet<IpAddr>();
        var senders = new HashSet<IpAddr>();
        var peers = new HashSet<IpAddr>();
        var messages = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var queries = new Dictionary<string, string>();
        long newestSighting = 0;
        foreach (var r in rows)
        {
            if (r.Payload.Length == 0 && r.Fragment) continue; // a fragment before the one that completes the datagram
            datagrams++;
            if (r.ChecksumGood) checksumGood++;
            bool inWindow = r.TsUs >= truth.WindowStartUs && r.TsUs <= truth.WindowEndUs;
            var m = MiniBencode.Krpc(r.Payload);
            if (m == null)
            {
                if (r.Payload.Length > 0 && r.Payload[0] == 'd')
                {
                    malformed++;
                    if (inWindow) malformedWin++;
                    intentionalMalformed.Add(r.Frame);
                }
                continue;
            }
            krpc++;
            krpcFrames.Add(r.Frame);
            if (inWindow) krpcWin++;
            char y = (char)((byte[])m["y"]!)[0];
            string t = Convert.ToHexString((byte[])m["t"]!);
            string method;
            if (y == 'q')
            {
                method = Encoding.ASCII.GetString((byte[])m["q"]!);
                queries[$"{r.Src}|{r.SrcPort}|{r.Dst}|{r.DstPort}|{t}"] = method;
            }
            else
            {
                // Pair with the query: same t, endpoints swapped.
                method = queries.GetValueOrDefault($"{r.Dst}|{r.DstPort}|{r.Src}|{r.SrcPort}|{t}", "unpaired");
            }
            string key = y + ":" + method;
            messages[key] = messages.GetValueOrDefault(key) + 1;
            if (y == 'e') continue;

            newestSighting = Math.Max(newestSighting, r.TsUs);
            var body = (MiniBencode.Dict)(y == 'q' ? m["a"]! : m["r"]!);
            Assert.NotNull(body["id"]);
            if (!inWindow) continue;
            ips.Add(r.Src);
            senders.Add(r.Src);
            if (y == 'q' && method == "announce_peer") peers.Add(r.Src);
            if (body["nodes"] is byte[] nodes)
                for (int i = 0; i + 26 <= nodes.Length; i += 26) ips.Add(IpAddr.FromV4Bytes(nodes.AsSpan(i + 20, 4)));
            if (body["nodes6"] is byte[] nodes6)
                for (int i = 0; i + 38 <= nodes6.Length; i += 38) ips.Add(IpAddr.FromV6Bytes(nodes6.AsSpan(i + 20, 16)));
            if (body["values"] is List<object> values)
                foreach (byte[] v in values) peers.Add(v.Length == 6 ? IpAddr.FromV4Bytes(v.AsSpan(0, 4)) : IpAddr.FromV6Bytes(v.AsSpan(0, 16)));
        }

        Assert.Equal(truth.UdpDatagrams, datagrams);
        Assert.Equal(truth.UdpDatagrams, checksumGood);
        Assert.Equal(truth.KrpcMessages, krpc);
        Assert.Equal(truth.KrpcMessagesInWindow, krpcWin);
        Assert.Equal(truth.Malformed, malformed);
        Assert.Equal(truth.MalformedInWindow, malformedWin);
        Assert.Equal(truth.Messages, messages);
        Assert.Equal(truth.WindowEndUs, newestSighting);
        Assert.Equal(truth.DistinctIps, ips.Count);
        Assert.Equal(truth.DistinctSenderIps, senders.Count);
        Assert.Equal(truth.DistinctPeerIps, peers.Count);
        Assert.Equal(truth.DistinctIpv6Slash64, ips.Where(i => !i.IsV4).Select(i => (ulong)(i.Value >> 64)).Distinct().Count());

        // Per AS: distinct node IPs, distinct sender IPs and /64s, looked up independently.
        var expected = truth.Asns.Where(a => a.Ips > 0).ToDictionary(a => a.Asn);
        var byAsn = ips.GroupBy(i => SynthTestSupport.Lookup(table, i)!.Value.Asn).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(expected.Keys.Order(), byAsn.Keys.Order());
        foreach (var (asn, list) in byAsn)
        {
            Assert.Equal(expected[asn].Ips, list.Count);
            Assert.Equal(expected[asn].Ipv6Slash64, list.Where(i => !i.IsV4).Select(i => (ulong)(i.Value >> 64)).Distinct().Count());
            Assert.Equal(expected[asn].SenderIps, list.Count(senders.Contains));
        }
        Assert.True(byAsn.Count >= 4, "the Zipf mix should reach several ASes");

        // tshark's bt-dht dissector decodes every well-formed message, flags none of them, and only
        // flags frames that are intentionally malformed KRPC or non-KRPC noise (random bytes on a port
        // some dissector owns).
        foreach (var r in rows)
        {
            if (krpcFrames.Contains(r.Frame))
            {
                Assert.True(r.BtDht, $"frame {r.Frame}: KRPC not dissected as bt-dht");
                Assert.False(r.Malformed, $"frame {r.Frame}: well-formed KRPC flagged malformed by tshark");
            }
        }
        Assert.Contains(rows, r => r.Malformed && intentionalMalformed.Contains(r.Frame));
    }
}
