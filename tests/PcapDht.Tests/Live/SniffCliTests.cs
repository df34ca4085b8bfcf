using PcapDht.Cli;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Live;

public class SniffCliTests
{
    [Fact]
    public void Sniff_UnknownInterface_OneLineListingRealInterfaces()
    {
        var o = CliRunner.Run(["sniff", "-i", "pcapdht-nope0", "--duration", "1s"]);
        Assert.Equal(ExitCodes.InputError, o.ExitCode);
        var line = Assert.Single(Lines(o.Stderr));
        Assert.Contains("no such interface 'pcapdht-nope0'", line);
        // Every machine with libpcap has loopback; the message must name it among the real ones.
        Assert.Matches(@"available: .*\blo\b", line);
    }

    [Fact]
    public void Sniff_BadFilter_OneLineWithLibpcapReason()
    {
        var o = CliRunner.Run(["sniff", "-i", "lo", "--filter", "udp and and port", "--duration", "1s"]);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        var line = Assert.Single(Lines(o.Stderr));
        Assert.Contains("bad --filter \"udp and and port\"", line);
        Assert.Contains("syntax error", line);
    }

    [Theory]
    [InlineData("--duration", "soon", "--duration 'soon'")]
    [InlineData("--flush-interval", "10ms", "--flush-interval '10ms'")]
    [InlineData("--buffer-size", "lots", "--buffer-size 'lots'")]
    [InlineData("--rotate", "100M", "--rotate needs --write-pcap")]
    [InlineData("--snaplen", "10", "--snaplen must be between")]
    public void Sniff_BadOption_OneLineUsageError(string option, string value, string expected)
    {
        var o = CliRunner.Run(["sniff", "-i", "lo", option, value]);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        var line = Assert.Single(Lines(o.Stderr));
        Assert.Contains(expected, line);
    }

    [Fact]
    public void Sniff_NoInterface_SaysHowToFindOne()
    {
        var o = CliRunner.Run(["sniff"]);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        Assert.Contains("--list", Assert.Single(Lines(o.Stderr)));
    }

    [Fact]
    public void SniffList_ShowsLoopbackWithItsAddress()
    {
        var o = CliRunner.Run(["sniff", "--list"]);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        var lo = Assert.Single(Lines(o.Stdout), l => l.StartsWith("lo ", StringComparison.Ordinal));
        Assert.Contains("loopback", lo);
        Assert.Contains("127.0.0.1", lo);
    }

    [RootFact]
    public void Sniff_WithoutCapturePrivilege_SaysWhichCapabilities()
    {
        // Drop to nobody with no capabilities; the same binary must explain the fix instead of crashing.
        var (code, _, stderr) = LiveProcess.Run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", "env", "HOME=/tmp", "DOTNET_CLI_HOME=/tmp"],
            LiveProcess.DotnetPath, [CliRunner.DllPath, "sniff", "-i", "lo", "--duration", "1s"], TimeSpan.FromMinutes(1));
        Assert.Equal(ExitCodes.Permission, code);
        var line = Assert.Single(Lines(stderr));
        Assert.Contains("cap_net_raw,cap_net_admin", line);
        Assert.Contains("root", line);
    }

    internal static string[] Lines(string s) => s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
