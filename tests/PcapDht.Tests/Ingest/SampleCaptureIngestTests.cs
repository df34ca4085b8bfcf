using System.Globalization;
using System.IO.Compression;
using System.Text;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

/// <summary>Locates samples-pcap/ (arrives from the samples helper) at the repository root.</summary>
public static class SampleCaptures
{
    public static readonly string? Directory = Locate();
    public const string SkipReason = "samples-pcap/expected not found at the repository root";

    private static string? Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PcapDht.sln")))
            {
                string s = Path.Combine(dir.FullName, "samples-pcap");
                return System.IO.Directory.Exists(Path.Combine(s, "expected")) ? s : null;
            }
        }
        return null;
    }

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        if (Directory == null) { data.Add("(none)"); return data; }
        foreach (var f in System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal))
            if (CaptureFiles.LooksLikeCapture(Path.Combine(Directory, f!))) data.Add(f!);
        return data;
    }

    /// <summary>The expected/ file that describes a capture (.gz/.zst copies share their base file's).</summary>
    public static string ExpectedBase(string file)
    {
        foreach (var ext in new[] { ".gz", ".zst" })
            if (file.EndsWith(ext, StringComparison.Ordinal)) return file[..^ext.Length];
        return file;
    }
}

public sealed class SamplesTheoryAttribute : TheoryAttribute
{
    public SamplesTheoryAttribute()
    {
        if (SampleCaptures.Directory == null) Skip = SampleCaptures.SkipReason;
    }
}

public class SampleCaptureIngestTests
{
    [SamplesTheory]
    [MemberData(nameof(SampleCaptures.Files), MemberType = typeof(SampleCaptures))]
    public void Ingest_SampleCapture_EveryMessageMatchesIndependentDecoder(string file)
    {
        string dirPath = SampleCaptures.Directory!;
        string name = SampleCaptures.ExpectedBase(file);
        string tsv = Path.Combine(dirPath, "expected", name + ".tsv");
        var expected = ReadExpected(File.Exists(tsv) ? File.OpenRead(tsv) : new GZipStream(File.OpenRead(tsv + ".gz"), CompressionMode.Decompress));

        using var dir = new TempDir();
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var result = new IngestPipeline(db).IngestFile(Path.Combine(dirPath, file));
        Assert.True(result.Outcome == IngestOutcome.Ingested, result.Error);

        var actual = ReadActual(db);
        Assert.Equal(expected.Count, actual.Count);
        foreach (var (frame, exp) in expected)
        {
            Assert.True(actual.TryGetValue(frame, out var act), $"frame {frame} missing");
            Assert.Equal(exp, act);
        }

        var c = db.Connection;
        long nodes = expected.Values.Sum(e => e.Nodes.Count), nodes6 = expected.Values.Sum(e => e.Nodes6.Count), values = expected.Values.Sum(e => e.Values.Count);
        Assert.Equal(nodes, Sql.Long(c, "SELECT count(*) FROM node_sightings WHERE source = 'nodes'"));
        Assert.Equal(nodes6, Sql.Long(c, "SELECT count(*) FROM node_sightings WHERE source = 'nodes6'"));
        Assert.Equal(values, Sql.Long(c, "SELECT count(*) FROM peer_sightings WHERE source = 'values'"));
        Assert.Equal(expected.Count, Sql.Long(c, "SELECT krpc_messages FROM captures"));
        Assert.Equal("complete", Sql.Scalar(c, "SELECT status FROM captures"));
    }

    /// <summary>One message in a canonical text form, so a mismatch shows the field.</summary>
    private sealed record Msg(string Header, string Fields, List<string> Nodes, List<string> Nodes6, List<string> Values)
    {
        public bool Equals(Msg? o) => o != null && Header == o.Header && Fields == o.Fields
            && Nodes.SequenceEqual(o.Nodes) && Nodes6.SequenceEqual(o.Nodes6) && Values.SequenceEqual(o.Values);
        public override int GetHashCode() => Header.GetHashCode();
        public override string ToString() => $"{Header} | {Fields} | nodes={string.Join(',', Nodes)} | nodes6={string.Join(',', Nodes6)} | values={string.Join(',', Values)}";
    }

    private static List<string> SortedList(string cell)
    {
        if (cell is "" or "[]") return [];
        var l = cell.Split(',').ToList();
        l.Sort(StringComparer.Ordinal);
        return l;
    }

    private static Dictionary<long, Msg> ReadExpected(Stream s)
    {
        using var r = new StreamReader(s, Encoding.UTF8);
        var header = r.ReadLine()!.Split('\t');
        int Col(string n) => Array.IndexOf(header, n);
        var map = new Dictionary<long, Msg>();
        string? line;
        while ((line = r.ReadLine()) != null)
        {
            var f = line.Split('\t');
            string Get(string n) => f[Col(n)];
            if (Get("y") == "?") continue;
            var tsParts = Get("ts").Split('.');
            long tsNs = long.Parse(tsParts[0], CultureInfo.InvariantCulture) * 1_000_000_000 + long.Parse(tsParts[1].PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
            string hdr = $"{Get("frame")} {tsNs} {Get("src_ip")}:{Get("src_port")} > {Get("dst_ip")}:{Get("dst_port")} len={Get("udp_len")}";
            string fields = string.Join(' ', Get("y"), "m=" + Get("method"), "t=" + Get("t"), "id=" + Get("id"), "target=" + Get("target"),
                "ih=" + Get("info_hash"), "v=" + Get("v"), "ro=" + Get("ro"), "token=" + Get("token"), "port=" + Get("port"),
                "implied=" + Get("implied_port"), "samples=" + (Get("samples") == "" ? "0" : Get("samples")), "ext=" + Get("ext_ip"), "e=" + Get("e_code"));
            map[long.Parse(Get("frame"), CultureInfo.InvariantCulture)] = new Msg(hdr, fields, SortedList(Get("nodes")), SortedList(Get("nodes6")), SortedList(Get("values")));
        }
        return map;
    }

    private static Dictionary<long, Msg> ReadActual(PcapDhtDatabase db)
    {
        var c = db.Connection;
        var nodes = new Dictionary<(long, string), List<string>>();
        foreach (var row in Sql.Rows(c, """
            SELECT frame_no, source, lower(hex(node_id)) || '@' || CASE WHEN source = 'nodes6' THEN '[' || ip || ']' ELSE ip END || ':' || port
            FROM node_sightings WHERE source <> 'sender'
            UNION ALL
            SELECT frame_no, 'values', CASE WHEN contains(ip, ':') THEN '[' || ip || ']' ELSE ip END || ':' || port
            FROM peer_sightings WHERE source = 'values'
            """))
        {
            var key = ((long)row[0]!, (string)row[1]!);
            if (!nodes.TryGetValue(key, out var l)) nodes[key] = l = [];
            l.Add((string)row[2]!);
        }
        List<string> Lst(long frame, string src)
        {
            if (!nodes.TryGetValue((frame, src), out var l)) return [];
            l.Sort(StringComparer.Ordinal);
            return l;
        }
        var map = new Dictionary<long, Msg>();
        foreach (var r in Sql.Rows(c, """
            SELECT frame_no, ts_ns, src_ip, src_port, dst_ip, dst_port, length, y, coalesce(method, ''), lower(hex(tx_id)),
                coalesce(lower(hex(node_id)), ''), coalesce(lower(hex(target)), ''), coalesce(lower(hex(info_hash)), ''),
                coalesce(lower(hex(version)), ''), CASE WHEN read_only THEN '1' ELSE '' END, coalesce(lower(hex(token)), ''),
                coalesce(port::VARCHAR, ''), coalesce(implied_port::INTEGER::VARCHAR, ''), samples_count,
                CASE WHEN external_ip IS NULL THEN '' WHEN contains(external_ip, ':') THEN '[' || external_ip || ']:' || external_port
                     ELSE external_ip || ':' || external_port END,
                coalesce(error_code::VARCHAR, '')
            FROM messages
            """))
        {
            long frame = (long)r[0]!;
            string hdr = $"{frame} {r[1]} {r[2]}:{r[3]} > {r[4]}:{r[5]} len={r[6]}";
            // The expected files take `id` from a/r only; libtorrent's errors also carry one, which we keep.
            string id = (string)r[7]! == "e" ? "" : (string)r[10]!;
            string fields = string.Join(' ', r[7], "m=" + r[8], "t=" + r[9], "id=" + id, "target=" + r[11], "ih=" + r[12], "v=" + r[13],
                "ro=" + r[14], "token=" + r[15], "port=" + r[16], "implied=" + r[17], "samples=" + r[18], "ext=" + r[19], "e=" + r[20]);
            map[frame] = new Msg(hdr, fields, Lst(frame, "nodes"), Lst(frame, "nodes6"), Lst(frame, "values"));
        }
        return map;
    }
}
