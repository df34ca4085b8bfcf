using System.Buffers.Binary;
using PcapDht.Live;

namespace PcapDht.Tests.Live;

public class RotatingPcapWriterTests
{
    private static readonly long T0 = 1_700_000_000_123_456_789L;

    [Fact]
    public void Write_Frames_ReadBackWithNanosecondTimestampsAndLengths()
    {
        using var dir = new TempDir();
        using (var w = new RotatingPcapWriter(dir.Path, "t", 1, 65535, 0, TimeSpan.Zero))
        {
            w.Write(T0, 60, Frame(60, 1));
            w.Write(T0 + 1500, 1514, Frame(100, 2));
        }
        var files = Directory.GetFiles(dir.Path);
        Assert.Single(files);
        var records = Read(files[0], out uint magic, out uint linkType);
        Assert.Equal(0xa1b23c4du, magic);
        Assert.Equal(1u, linkType);
        Assert.Equal(2, records.Count);
        Assert.Equal((T0, 60, 60, (byte)1), records[0]);
        Assert.Equal((T0 + 1500, 100, 1514, (byte)2), records[1]);
    }

    [Fact]
    public void Write_RotateBySize_SplitsFilesBelowLimitAndKeepsEveryFrame()
    {
        using var dir = new TempDir();
        using (var w = new RotatingPcapWriter(dir.Path, "s", 1, 65535, 1000, TimeSpan.Zero))
        {
            for (int i = 0; i < 20; i++) w.Write(T0 + i, 200, Frame(200, (byte)i));
            Assert.True(w.Files.Count > 1);
        }
        var files = Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal).ToArray();
        int total = 0;
        byte expect = 0;
        foreach (var f in files)
        {
            Assert.True(new FileInfo(f).Length <= 1000, $"{f} is {new FileInfo(f).Length} bytes");
            foreach (var r in Read(f, out _, out _))
            {
                Assert.Equal(expect++, r.first);
                total++;
            }
        }
        Assert.Equal(20, total);
    }

    [Fact]
    public void Write_RotateByTime_StartsNewFileWhenFrameTimeCrossesInterval()
    {
        using var dir = new TempDir();
        using (var w = new RotatingPcapWriter(dir.Path, "h", 1, 65535, 0, TimeSpan.FromSeconds(10)))
        {
            w.Write(T0, 60, Frame(60, 0));
            w.Write(T0 + 9_000_000_000L, 60, Frame(60, 1));
            w.Write(T0 + 10_000_000_000L, 60, Frame(60, 2));
            w.Write(T0 + 25_000_000_000L, 60, Frame(60, 3));
            Assert.Equal(3, w.Files.Count);
        }
        var counts = Directory.GetFiles(dir.Path).Order(StringComparer.Ordinal).Select(f => Read(f, out _, out _).Count).ToArray();
        Assert.Equal(new[] { 2, 1, 1 }, counts);
    }

    private static byte[] Frame(int length, byte first)
    {
        var b = new byte[length];
        b[0] = first;
        return b;
    }

    private static List<(long ts, int caplen, int len, byte first)> Read(string path, out uint magic, out uint linkType)
    {
        var bytes = File.ReadAllBytes(path);
        magic = BinaryPrimitives.ReadUInt32LittleEndian(bytes);
        linkType = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(20));
        var list = new List<(long, int, int, byte)>();
        int o = 24;
        while (o < bytes.Length)
        {
            long ts = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(o)) * 1_000_000_000L + BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(o + 4));
            int cap = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(o + 8));
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(o + 12));
            list.Add((ts, cap, len, bytes[o + 16]));
            o += 16 + cap;
        }
        Assert.Equal(bytes.Length, o);
        return list;
    }
}

internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("pcapdht-live-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
