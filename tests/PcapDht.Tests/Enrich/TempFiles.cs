using System.IO.Compression;
using System.Text;

namespace PcapDht.Tests.Enrich;

/// <summary>A temporary folder for one test, deleted afterwards.</summary>
public sealed class TempFiles : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("pcapdht-analysis-").FullName;

    public string Path(string name) => System.IO.Path.Combine(Dir, name);

    public string Write(string name, string text)
    {
        string p = Path(name);
        File.WriteAllText(p, text, new UTF8Encoding(false));
        return p;
    }

    public string WriteGzip(string name, string text)
    {
        string p = Path(name);
        using var fs = File.Create(p);
        using var gz = new GZipStream(fs, CompressionLevel.Fastest);
        gz.Write(Encoding.UTF8.GetBytes(text));
        return p;
    }

    public string WriteBytes(string name, byte[] bytes)
    {
        string p = Path(name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}

public static class RepoPaths
{
    public static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(System.IO.Path.Combine(dir.FullName, "PcapDht.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("PcapDht.sln not found above the test binaries");
        }
    }

    public static string AsnSamples => System.IO.Path.Combine(Root, "samples-pcap", "asn");
}
