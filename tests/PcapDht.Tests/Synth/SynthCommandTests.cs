using System.Text.Json;
using PcapDht.Cli;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Synth;

public class SynthCommandTests
{
    [Fact]
    public void Synth_WritesCaptureAndTruth_SameBytesOnRerun()
    {
        var dir = SynthTestSupport.TempDir();
        try
        {
            string a = Path.Combine(dir, "a.pcapng"), b = Path.Combine(dir, "b.pcapng");
            string[] common = ["--packets", "2000", "--seed", "3", "--asn-ranges", SynthTestSupport.FixtureRanges];
            var run1 = CliRunner.Run(["synth", "--out", a, .. common]);
            var run2 = CliRunner.Run(["synth", "--out", b, .. common]);
            Assert.True(run1.ExitCode == ExitCodes.Ok, run1.Stderr);
            Assert.Equal(ExitCodes.Ok, run2.ExitCode);
            Assert.Contains("wrote 2000 frames", run1.Stdout);
            Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
            Assert.Equal(0x0A0D0D0Au, BitConverter.ToUInt32(File.ReadAllBytes(a), 0)); // pcapng from the extension
            string truthPath = Path.Combine(dir, "a.truth.json");
            Assert.Equal(File.ReadAllText(truthPath), File.ReadAllText(Path.Combine(dir, "b.truth.json")));
            using var doc = JsonDocument.Parse(File.ReadAllText(truthPath));
            var root = doc.RootElement;
            Assert.Equal(2000, root.GetProperty("packets").GetProperty("frames").GetInt64());
            Assert.Equal("synth-test-asn.csv", root.GetProperty("asn_ranges").GetString());
            Assert.Equal("pcapng", root.GetProperty("format").GetString());
            var asns = root.GetProperty("window").GetProperty("asn");
            Assert.True(asns.GetArrayLength() > 3);
            long sum = 0;
            foreach (var x in asns.EnumerateArray()) sum += x.GetProperty("ips").GetInt64();
            Assert.Equal(root.GetProperty("window").GetProperty("distinct_ips").GetInt64(), sum);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Synth_WithoutOut_IsAUsageError()
    {
        var r = CliRunner.Run(["synth", "--packets", "500"]);
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("--out", r.Stderr);
    }

    [Fact]
    public void Synth_MissingOrBadRangeFile_IsAnInputError()
    {
        var dir = SynthTestSupport.TempDir();
        try
        {
            var missing = CliRunner.Run(["synth", "--out", Path.Combine(dir, "x.pcap"), "--asn-ranges", Path.Combine(dir, "nope.csv")]);
            Assert.Equal(ExitCodes.InputError, missing.ExitCode);
            Assert.Contains("nope.csv' not found", missing.Stderr);

            string bad = Path.Combine(dir, "bad.csv");
            File.WriteAllText(bad, "1.0.0.0,1.0.0.255,13335,A\n1.0.1.0,zzz,5,B\n");
            var r = CliRunner.Run(["synth", "--out", Path.Combine(dir, "x.pcap"), "--asn-ranges", bad]);
            Assert.Equal(ExitCodes.InputError, r.ExitCode);
            Assert.Contains("bad.csv:2:", r.Stderr);
            Assert.Single(r.Stderr.Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
