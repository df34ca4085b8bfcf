using PcapDht.Cli;

namespace PcapDht.Tests.Cli;

public class HelpTests
{
    public static TheoryData<string[]> Verbs => new()
    {
        new[] { "ingest" }, new[] { "sniff" }, new[] { "asn", "import" }, new[] { "asn", "status" },
        new[] { "report", "asn" }, new[] { "report", "country" }, new[] { "report", "clients" },
        new[] { "report", "overview" }, new[] { "report", "html" }, new[] { "report", "size" }, new[] { "report", "ip" },
        new[] { "report", "sybil" }, new[] { "report", "bep42" }, new[] { "report", "daily" }, new[] { "query" }, new[] { "synth" },
        new[] { "anonymize", "capture" }, new[] { "anonymize", "keygen" }, new[] { "anonymize", "address" },
    };

    [Theory]
    [MemberData(nameof(Verbs))]
    public void Help_EveryVerb_HasDescriptionAndExample(string[] verb)
    {
        var output = CliRunner.Run([.. verb, "--help"]);
        Assert.Equal(0, output.ExitCode);
        Assert.Contains("EXAMPLES:", output.Stdout);
        Assert.Contains("pcapdht " + string.Join(' ', verb), output.Stdout);
    }

    [Fact]
    public void Help_Root_ListsAllVerbs()
    {
        var output = CliRunner.Run(["--help"]);
        Assert.Equal(0, output.ExitCode);
        foreach (var verb in new[] { "ingest", "sniff", "asn", "report", "query", "synth" })
            Assert.Contains(verb, output.Stdout);
    }

    [Fact]
    public void UnknownVerb_ExitsWithUsageCode()
    {
        var output = CliRunner.Run(["frobnicate"]);
        Assert.Equal(ExitCodes.Usage, output.ExitCode);
    }
}
