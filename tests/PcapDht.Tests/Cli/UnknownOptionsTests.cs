using PcapDht.Cli;
using PcapDht.Cli.Commands;
using PcapDht.Tests.Analysis;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Cli;

public class UnknownOptionsTests
{
    [Theory]
    [InlineData("--day", "--days")]
    [InlineData("--formt", "--format")]
    [InlineData("--ipv6prefix", "--ipv6-prefix")]
    [InlineData("--unitl", "--until")]
    public void ReportAsn_MistypedOption_ExitsUsageWithTheClosestOption(string typo, string meant)
    {
        var o = CliRunner.Run(["report", "asn", typo, "7"]);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        var line = Assert.Single(o.Stderr.Trim().Split('\n'));
        Assert.Equal($"pcapdht report asn: unknown option '{typo}'; did you mean '{meant}'? (see pcapdht report asn --help)", line);
        Assert.Empty(o.Stdout);
    }

    [Fact]
    public void Ingest_MistypedDb_WritesNoDatabaseAnywhere()
    {
        using var t = new TempFiles();
        string capture = Path.Combine(RepoPaths.Root, "samples-pcap", "dht-loopback.pcap");
        var o = CliRunner.Run(["ingest", capture, "--bd", "w.duckdb"], workingDirectory: t.Dir);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        Assert.Contains("unknown option '--bd'; did you mean '--db'?", o.Stderr);
        Assert.Empty(Directory.GetFileSystemEntries(t.Dir));
    }

    [Theory]
    [MemberData(nameof(HelpTests.Verbs), MemberType = typeof(HelpTests))]
    public void EveryVerb_RejectsAnOptionItDoesNotHave(string[] verb)
    {
        var o = CliRunner.Run([.. verb, "--no-such-option"]);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        Assert.Contains("unknown option '--no-such-option'", o.Stderr);
        Assert.Single(o.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void UnknownOption_ThatAteTheArgument_IsNamedInsteadOfTheMissingArgument()
    {
        // Lenient parsing hands "capture.pcap" to --bd as its value, so PATH looks missing.
        var o = CliRunner.Run(["ingest", "--bd", "capture.pcap"]);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        Assert.Contains("unknown option '--bd'; did you mean '--db'?", o.Stderr);
    }

    [Fact]
    public void Verbose_IsAcceptedByEveryVerb()
    {
        using var t = new TempFiles();
        using (var k = new KnownDatabase())
        {
            k.Db.Close();
            File.Copy(k.Path, t.Path("k.duckdb"));
        }
        var o = CliRunner.Run(["report", "country", "--db", t.Path("k.duckdb"), "--verbose"]);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Contains("RU", o.Stdout);
    }

    [Fact]
    public void OverviewHelp_ListsOnlyWhatOverviewUses()
    {
        var o = CliRunner.Run(["report", "overview", "--help"]);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.DoesNotContain("--top", o.Stdout);
        Assert.DoesNotContain("--ipv6-prefix", o.Stdout);
        Assert.Contains("Default: all data", System.Text.RegularExpressions.Regex.Replace(o.Stdout, @"\s+", " "));
        Assert.Equal(ExitCodes.Usage, CliRunner.Run(["report", "overview", "--top", "5"]).ExitCode);
    }

    [Theory]
    [InlineData]
    [InlineData("report")]
    [InlineData("asn")]
    [InlineData("anonymize")]
    public void NoVerb_ShowsHelpAndExitsUsage(params string[] args)
    {
        var o = CliRunner.Run(args);
        Assert.Equal(ExitCodes.Usage, o.ExitCode);
        Assert.Contains("USAGE:", o.Stdout);
    }

    [Theory]
    [InlineData("bd", "--db")]
    [InlineData("forma", "--format")]
    [InlineData("db", "--db")]
    [InlineData("xyzzy", null)]
    [InlineData("x", null)]
    public void Suggest_PicksTheClosestDeclaredOption(string typed, string? expected)
    {
        var declared = UnknownOptions.DeclaredOptions(typeof(ReportSettings));
        Assert.Contains("--days", declared);
        Assert.Contains("--verbose", declared);
        Assert.Equal(expected, UnknownOptions.Suggest("--" + typed, declared));
    }
}
