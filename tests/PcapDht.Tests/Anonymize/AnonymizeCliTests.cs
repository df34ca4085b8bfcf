using PcapDht.Cli;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Anonymize;

public class AnonymizeCliTests
{
    [Fact]
    public void Keygen_NewFile_Mode0600_64HexDigits_NeverOverwrites()
    {
        using var dir = new TempDir();
        var first = CliRunner.Run(["anonymize", "keygen", "a.key"], dir.Path);
        Assert.Equal(ExitCodes.Ok, first.ExitCode);
        string text = File.ReadAllText(dir.File("a.key"));
        Assert.Matches("^[0-9a-f]{64}\n$", text);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(dir.File("a.key")));

        var second = CliRunner.Run(["anonymize", "keygen", "a.key"], dir.Path);
        Assert.Equal(ExitCodes.Failure, second.ExitCode);
        Assert.Contains("already exists", second.Stderr);
        Assert.Single(second.Stderr.Trim().Split('\n'));
        Assert.Equal(text, File.ReadAllText(dir.File("a.key")));

        CliRunner.Run(["anonymize", "keygen", "b.key"], dir.Path);
        Assert.NotEqual(text, File.ReadAllText(dir.File("b.key"))); // random, not derived from anything
    }

    [Fact]
    public void Address_IssueVectors_AndOneLineErrors()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("k.key"), "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir.File("k.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var ok = CliRunner.Run(["anonymize", "address", "192.0.2.1", "2001:db8::1", "--key", "k.key"], dir.Path);
        Assert.Equal(ExitCodes.Ok, ok.ExitCode);
        Assert.Equal("192.0.2.1\t2.90.93.17\n2001:db8::1\tdd92:2c44:3fc0:ff1e:7ff9:c7f0:8180:7e00\n", ok.Stdout);
        Assert.Equal("", ok.Stderr);

        var bad = CliRunner.Run(["anonymize", "address", "300.1.2.3", "--key", "k.key"], dir.Path);
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
        Assert.Contains("'300.1.2.3' is not an IPv4 or IPv6 address", bad.Stderr);

        var missing = CliRunner.Run(["anonymize", "address", "192.0.2.1", "--key", "nope.key"], dir.Path);
        Assert.Equal(ExitCodes.InputError, missing.ExitCode);
        Assert.Contains("key file not found", missing.Stderr);

        File.WriteAllText(dir.File("short.key"), "abcd\n");
        var shortKey = CliRunner.Run(["anonymize", "address", "192.0.2.1", "--key", "short.key"], dir.Path);
        Assert.Equal(ExitCodes.InputError, shortKey.ExitCode);
        Assert.Contains("expected 64 hex digits", shortKey.Stderr);

        // A key others can read still works, with a warning.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir.File("k.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
            var open = CliRunner.Run(["anonymize", "address", "192.0.2.1", "--key", "k.key"], dir.Path);
            Assert.Equal(ExitCodes.Ok, open.ExitCode);
            Assert.Contains("can be read by other users", open.Stderr);
        }
    }

    [Fact]
    public void Capture_BadInputs_OneLineErrorsAndNoOutput()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("k.key"), "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(dir.File("k.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(dir.File("notes.pcap"), "hello, this is text and not a capture");

        var notCapture = CliRunner.Run(["anonymize", "notes.pcap", "out.pcap", "--key", "k.key"], dir.Path);
        Assert.Equal(ExitCodes.InputError, notCapture.ExitCode);
        Assert.Single(notCapture.Stderr.Trim().Split('\n'));
        Assert.False(File.Exists(dir.File("out.pcap")));

        var missing = CliRunner.Run(["anonymize", "nope.pcap", "out.pcap", "--key", "k.key"], dir.Path);
        Assert.Equal(ExitCodes.InputError, missing.ExitCode);

        var noKey = CliRunner.Run(["anonymize", "notes.pcap", "out.pcap"], dir.Path);
        Assert.Equal(ExitCodes.Usage, noKey.ExitCode);
        Assert.Contains("--key KEYFILE is required", noKey.Stderr);

        // A capture cut short: everything before the damage is written, exit code "partial".
        string sample = Path.Combine(Capture.CaptureTestFiles.RepoRoot, "samples-pcap", "dht-loopback.pcap");
        byte[] whole = File.ReadAllBytes(sample);
        File.WriteAllBytes(dir.File("cut.pcap"), whole[..(whole.Length / 2)]);
        var cut = CliRunner.Run(["anonymize", "cut.pcap", "cut-anon.pcap", "--key", "k.key"], dir.Path);
        Assert.Equal(ExitCodes.Partial, cut.ExitCode);
        Assert.Contains("truncated record", cut.Stderr);
        Assert.True(new FileInfo(dir.File("cut-anon.pcap")).Length > whole.Length / 3);
        Assert.Empty(Directory.GetFiles(dir.Path, ".*.tmp"));
    }
}
