using System.Buffers.Binary;
using System.Text;
using PcapDht.Net;
using PcapDht.Synth;

namespace PcapDht.Tests.Synth;

/// <summary>Helpers for the synthetic-capture tests: fixture paths and small independent readers.</summary>
internal static class SynthTestSupport
{
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "PcapDht.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("PcapDht.sln not found above the test binaries");
    }

    public static string FixtureRanges => Path.Combine(RepoRoot(), "tests", "PcapDht.Tests", "Synth", "synth-test-asn.csv");

    public static AsnRangeTable LoadFixture() => AsnRangeTable.Load(FixtureRanges);

    public static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pcapdht-synth-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Linear lookup, deliberately not the binary search the generator uses.</summary>
    public static AsnRange? Lookup(AsnRangeTable table, IpAddr ip)
    {
        foreach (var r in table.Ranges)
            if (ip.Value >= r.Start.Value && ip.Value <= r.End.Value) return r;
        return null;
    }

    /// <summary>Reads a classic little-endian pcap: (timestamp µs, frame bytes).</summary>
    public static List<(long TsUs, byte[] Data)> ReadPcap(byte[] file)
    {
        Assert.Equal(0xa1b2c3d4u, BinaryPrimitives.ReadUInt32LittleEndian(file));
        var frames = new List<(long, byte[])>();
        int pos = 24;
        while (pos < file.Length)
        {
            long sec = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos));
            long usec = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(pos + 4));
            int incl = BinaryPrimitives.ReadInt32LittleEndian(file.AsSpan(pos + 8));
            frames.Add((sec * 1_000_000 + usec, file.AsSpan(pos + 16, incl).ToArray()));
            pos += 16 + incl;
        }
        return frames;
    }
}

/// <summary>
/// A minimal strict bencode reader for the tests (independent of the project's decoder): returns
/// null on any error, including trailing bytes. Dictionaries keep key order to check sorting.
/// </summary>
internal static class MiniBencode
{
    public sealed class Dict
    {
        public readonly List<(string Key, object Value)> Items = [];
        public object? this[string key]
        {
            get
            {
                foreach (var (k, v) in Items) if (k == key) return v;
                return null;
            }
        }
    }

    public static object? Parse(ReadOnlySpan<byte> data)
    {
        int pos = 0;
        var v = Value(data, ref pos, 0);
        return v != null && pos == data.Length ? v : null;
    }

    private static object? Value(ReadOnlySpan<byte> d, ref int pos, int depth)
    {
        if (pos >= d.Length || depth > 32) return null;
        byte c = d[pos];
        if (c == 'i')
        {
            int end = d[pos..].IndexOf((byte)'e');
            if (end < 2) return null;
            if (!long.TryParse(Encoding.ASCII.GetString(d.Slice(pos + 1, end - 1)), out long n)) return null;
            pos += end + 1;
            return n;
        }
        if (c == 'l')
        {
            pos++;
            var list = new List<object>();
            while (pos < d.Length && d[pos] != 'e')
            {
                var item = Value(d, ref pos, depth + 1);
                if (item == null) return null;
                list.Add(item);
            }
            if (pos >= d.Length) return null;
            pos++;
            return list;
        }
        if (c == 'd')
        {
            pos++;
            var dict = new Dict();
            while (pos < d.Length && d[pos] != 'e')
            {
                if (Value(d, ref pos, depth + 1) is not byte[] key) return null;
                var val = Value(d, ref pos, depth + 1);
                if (val == null) return null;
                dict.Items.Add((Encoding.Latin1.GetString(key), val));
            }
            if (pos >= d.Length) return null;
            pos++;
            return dict;
        }
        if (c >= '0' && c <= '9')
        {
            int colon = d[pos..].IndexOf((byte)':');
            if (colon < 1) return null;
            if (!int.TryParse(Encoding.ASCII.GetString(d.Slice(pos, colon)), out int len) || len < 0) return null;
            pos += colon + 1;
            if (pos + len > d.Length) return null;
            var s = d.Slice(pos, len).ToArray();
            pos += len;
            return s;
        }
        return null;
    }

    /// <summary>A well-formed KRPC message: a dict with a byte-string `t` and `y` of q, r or e.</summary>
    public static Dict? Krpc(ReadOnlySpan<byte> payload)
    {
        if (Parse(payload) is not Dict d) return null;
        if (d["t"] is not byte[]) return null;
        if (d["y"] is not byte[] y || y.Length != 1 || (y[0] != 'q' && y[0] != 'r' && y[0] != 'e')) return null;
        return d;
    }
}
