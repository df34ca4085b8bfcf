using System.IO.Compression;
using System.Text;
using PcapDht.Bencode;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Tests.Bencode;

namespace PcapDht.Tests.Krpc;

/// <summary>
/// Every datagram of the recorded sample captures (samples-pcap/) against the expected files an
/// independent decoder (tshark + npm bencode) made: kind, method, ids, every node, peer and field.
/// </summary>
public class SampleCaptureTests
{
    internal static readonly string? SamplesDirectory = LocateSamples();

    internal static string? LocateSamples()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PcapDht.sln")))
            {
                string samples = Path.Combine(dir.FullName, "samples-pcap", "expected");
                return Directory.Exists(samples) ? Path.Combine(dir.FullName, "samples-pcap") : null;
            }
        }
        return null;
    }

    public static TheoryData<string, SimdVariant> Cases()
    {
        var data = new TheoryData<string, SimdVariant>();
        // The four base captures differ in container and link type; each runs on one variant, and
        // the plain pcap on all of them (the compressed copies decompress to these byte for byte).
        data.Add("dht-loopback.pcap", SimdVariant.Scalar);
        data.Add("dht-loopback.pcap", SimdVariant.Vector128);
        data.Add("dht-loopback.pcap", SimdVariant.Vector256);
        data.Add("dht-loopback-ns.pcap", SimdVariant.Vector128);
        data.Add("dht-loopback.pcapng", SimdVariant.Vector256);
        data.Add("dht-any-sll2.pcap", SimdVariant.Scalar);
        return data;
    }

    [SamplesTheory]
    [MemberData(nameof(Cases))]
    public void Decode_SampleCapture_MatchesIndependentDecoderRowByRow(string capture, SimdVariant variant)
    {
        string samples = SamplesDirectory!;
        var rows = ReadExpected(Path.Combine(samples, "expected", capture));
        var datagrams = TestPcapReader.ReadUdp(Path.Combine(samples, capture));
        Assert.Equal(rows.Count, datagrams.Count);
        int messages = 0, nodes = 0, nodes6 = 0, peers = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var d = datagrams[i];
            string where = $"{capture} frame {row["frame"]}";
            Assert.True(row["frame"] == d.FrameNumber.ToString(), where);
            Assert.Equal(row["src_ip"] + " " + row["src_port"] + " " + row["dst_ip"] + " " + row["dst_port"] + " " + row["udp_len"],
                $"{d.Source} {d.SourcePort} {d.Destination} {d.DestinationPort} {d.Payload.Length}");

            var result = KrpcDecoder.Decode(d.Payload, variant, out var m, out var error);
            if (row["y"] == "?")
            {
                Assert.NotEqual(KrpcDecodeResult.Message, result);
                continue;
            }
            Assert.True(result == KrpcDecodeResult.Message, $"{where}: {result} {error}");
            messages++;
            Check(row, "y", where, ((char)m.Kind).ToString());
            Check(row, "q", where, m.Kind == KrpcKind.Query ? Escape(m.MethodName) : "");
            if (m.Kind == KrpcKind.Query)
                Assert.Equal(row["q"] switch { "ping" or "find_node" or "get_peers" or "announce_peer" or "get" or "put" or "sample_infohashes" => row["q"], _ => "other" },
                    MethodText(m.Method));
            Check(row, "t", where, Hex(m.TransactionId));
            // libtorrent's errors carry `r` with its id (frame 422); the expected files only read a.id / r.id of q / r.
            if (m.Kind != KrpcKind.Error)
                Check(row, "id", where, Hex(m.NodeId));
            Check(row, "target", where, Hex(m.Target));
            Check(row, "info_hash", where, Hex(m.InfoHash));
            Check(row, "v", where, Hex(m.Version));
            Check(row, "ro", where, m.ReadOnly ? "1" : "");
            Check(row, "token", where, Hex(m.Token));
            Check(row, "port", where, m.Port < 0 ? "" : m.Port.ToString());
            Check(row, "implied_port", where, m.ImpliedPort < 0 ? "" : m.ImpliedPort.ToString());
            Check(row, "nodes", where, Nodes(m.Nodes, CompactLists.Nodes(m.Nodes), 26, ref nodes));
            Check(row, "nodes6", where, Nodes(m.Nodes6, CompactLists.Nodes6(m.Nodes6), 38, ref nodes6));
            Check(row, "values", where, Values(m, ref peers));
            Check(row, "samples", where, m.Samples.IsEmpty ? "" : (m.Samples.Length / 20).ToString());
            Check(row, "num", where, m.Num < 0 ? "" : m.Num.ToString());
            Check(row, "interval", where, m.Interval < 0 ? "" : m.Interval.ToString());
            Check(row, "k", where, Hex(m.Key));
            Check(row, "seq", where, m.Seq < 0 ? "" : m.Seq.ToString());
            Check(row, "salt", where, Hex(m.Salt));
            Check(row, "cas", where, m.Cas < 0 ? "" : m.Cas.ToString());
            Check(row, "item_len", where, m.Value.IsEmpty ? "" : m.Value.Length.ToString());
            Assert.Equal(WantBits(row["want"]), m.Want);
            if (!m.Flags.HasFlag(KrpcFlags.ResponseIpInR))
                Check(row, "ext_ip", where, Endpoint(m.ExternalIp));
            Check(row, "e_code", where, m.ErrorCode < 0 ? "" : m.ErrorCode.ToString());
            Check(row, "e_msg", where, m.Kind == KrpcKind.Error ? Escape(m.ErrorMessage) : "");
        }

        var summary = File.ReadAllLines(Path.Combine(samples, "expected", capture + ".summary.tsv"))
            .Select(l => l.Split('\t')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(summary["udp_datagrams"], messages.ToString());
        Assert.Equal(summary["nodes_entries"], nodes.ToString());
        Assert.Equal(summary["nodes6_entries"], nodes6.ToString());
        Assert.Equal(summary["values_entries"], peers.ToString());
    }

    private static void Check(Dictionary<string, string> row, string column, string where, string actual)
    {
        string expected = column is "nodes" or "nodes6" or "values" ? Absent(row[column]) : row[column];
        if (expected != actual)
            Assert.Fail($"{where}, {column}: expected '{expected}', decoded '{actual}'");
    }

    private static string MethodText(KrpcMethod method) => method switch
    {
        KrpcMethod.Ping => "ping",
        KrpcMethod.FindNode => "find_node",
        KrpcMethod.GetPeers => "get_peers",
        KrpcMethod.AnnouncePeer => "announce_peer",
        KrpcMethod.Get => "get",
        KrpcMethod.Put => "put",
        KrpcMethod.SampleInfohashes => "sample_infohashes",
        _ => "other",
    };

    // Our view cannot tell "absent" from "present but empty" for byte strings (documented).
    private static string Absent(string expected) => expected == "[]" ? "" : expected;

    private static string Hex(ReadOnlySpan<byte> b) => Convert.ToHexString(b).ToLowerInvariant();

    private static string Escape(ReadOnlySpan<byte> b) =>
        Encoding.UTF8.GetString(b).Replace("\\", "\\\\").Replace("\t", "\\t").Replace("\r", "\\r").Replace("\n", "\\n");

    private static string Address(IpAddr a) => a.IsV4 ? a.ToString() : $"[{a}]";

    private static string Endpoint(ReadOnlySpan<byte> compact) =>
        compact.IsEmpty ? "" : CompactLists.TryReadEndpoint(compact, out var a, out ushort p) ? $"{Address(a)}:{p}" : "!bad:" + Hex(compact);

    private static byte WantBits(string want)
    {
        byte bits = 0;
        foreach (string w in want.Split(',', StringSplitOptions.RemoveEmptyEntries))
            bits |= w switch { "n4" => 1, "n6" => 2, _ => 0 };
        return bits;
    }

    private static string Nodes(ReadOnlySpan<byte> raw, CompactLists.NodeEnumerator enumerator, int record, ref int count)
    {
        if (raw.IsEmpty)
            return "";
        if (raw.Length % record != 0)
            return $"!bad-length:{raw.Length}";
        var parts = new List<string>();
        foreach (var node in enumerator)
        {
            parts.Add($"{Hex(node.Id)}@{Address(node.Address)}:{node.Port}");
            count++;
        }
        return string.Join(',', parts);
    }

    /// <summary>Formats `values` from the raw list with the bencode reader, and checks the enumerator yields the same peers.</summary>
    private static string Values(in KrpcMessage m, ref int count)
    {
        if (m.Values.IsEmpty)
            return "";
        var parts = new List<string>();
        var good = new List<string>();
        var reader = new BencodeReader(m.Values);
        while (reader.Read())
        {
            if (reader.TokenType != BencodeTokenType.String)
                continue;
            if (CompactLists.TryReadEndpoint(reader.ValueSpan, out var a, out ushort p))
            {
                parts.Add($"{Address(a)}:{p}");
                good.Add(parts[^1]);
            }
            else
            {
                parts.Add("!bad-endpoint:" + Hex(reader.ValueSpan));
            }
        }
        var enumerated = new List<string>();
        foreach (var peer in CompactLists.Values(m.Values))
            enumerated.Add($"{Address(peer.Address)}:{peer.Port}");
        Assert.Equal(good, enumerated);
        Assert.Equal(parts.Count, m.ValuesCount);
        count += parts.Count;
        return parts.Count == 0 ? "" : string.Join(',', parts);
    }

    private static List<Dictionary<string, string>> ReadExpected(string baseName)
    {
        Stream stream = File.Exists(baseName + ".tsv") ? File.OpenRead(baseName + ".tsv")
            : new GZipStream(File.OpenRead(baseName + ".tsv.gz"), CompressionMode.Decompress);
        using var text = new StreamReader(stream, Encoding.UTF8);
        string[] header = text.ReadLine()!.Split('\t');
        var rows = new List<Dictionary<string, string>>();
        for (string? line = text.ReadLine(); line != null; line = text.ReadLine())
        {
            string[] cells = line.Split('\t');
            var row = new Dictionary<string, string>(header.Length);
            for (int c = 0; c < header.Length; c++)
                row[header[c]] = c < cells.Length ? cells[c] : "";
            rows.Add(row);
        }
        return rows;
    }
}

/// <summary>A theory that skips, saying why, when samples-pcap/ (with expected/) is not in this checkout.</summary>
public sealed class SamplesTheoryAttribute : TheoryAttribute
{
    public SamplesTheoryAttribute()
    {
        if (SampleCaptureTests.SamplesDirectory == null)
            Skip = "samples-pcap/expected not found at the repository root (the sample captures are not in this checkout)";
    }
}
