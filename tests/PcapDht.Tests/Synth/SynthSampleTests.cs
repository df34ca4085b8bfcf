using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using PcapDht.Synth;

namespace PcapDht.Tests.Synth;

/// <summary>The committed sample is exactly what scripts/make-synthetic-sample.sh produces from its recorded options.</summary>
public class SynthSampleTests
{
    [Fact]
    public void CommittedSample_RegeneratesByteForByte()
    {
        string root = SynthTestSupport.RepoRoot();
        string capture = Path.Combine(root, "samples-pcap", "synthetic-dht.pcap");
        string truthPath = Path.Combine(root, "samples-pcap", "synthetic-dht.truth.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(truthPath));
        var t = doc.RootElement;
        var files = t.GetProperty("asn_ranges").GetString()!.Split(',');
        var paths = files.Select(f => f == "synth-test-asn.csv"
            ? SynthTestSupport.FixtureRanges
            : Path.Combine(root, "samples-pcap", "asn", f)).ToArray();
        var options = new SynthOptions
        {
            Seed = t.GetProperty("seed").GetUInt64(),
            Packets = t.GetProperty("packets").GetProperty("frames").GetInt64(),
            Days = t.GetProperty("days").GetInt32(),
            WindowDays = t.GetProperty("window").GetProperty("days").GetInt32(),
            End = DateTimeOffset.Parse(t.GetProperty("window").GetProperty("end").GetString()!, CultureInfo.InvariantCulture),
            RangesLabel = string.Join(",", files),
        };
        using var ms = new MemoryStream();
        var truth = SynthGenerator.Generate(options, AsnRangeTable.Load(paths), ms);
        using var js = new MemoryStream();
        truth.WriteJson(js);
        Assert.Equal(SHA256.HashData(File.ReadAllBytes(capture)), SHA256.HashData(ms.ToArray()));
        Assert.Equal(File.ReadAllText(truthPath), System.Text.Encoding.UTF8.GetString(js.ToArray()));
        Assert.True(new FileInfo(capture).Length < 5 * 1024 * 1024, "committed captures stay below 5 MB");
    }
}
