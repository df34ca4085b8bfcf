using System.Diagnostics;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Scripts;

/// <summary>scripts/test-summary.py, the last line of scripts/test.sh, on a trx from a real run without ../shared/captures.</summary>
public class TestSummaryTests
{
    private static string Run(params string[] logAndTrxPairs)
    {
        var psi = new ProcessStartInfo("python3") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(RepoPaths.Root, "scripts", "test-summary.py"));
        foreach (var a in logAndTrxPairs) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return output.Trim();
    }

    [Fact]
    public void Summary_SkippedTests_SayWhyTheyWereSkipped()
    {
        // Recorded with PCAPDHT_THIRD_PARTY_CAPTURES pointing nowhere: 7 capture tests skipped, 1 other passed.
        string trx = Path.Combine(RepoPaths.Root, "tests", "PcapDht.Tests", "Scripts", "skipped-captures.trx");
        Assert.Equal("tests: 1 passed, 0 failed, 7 skipped (7: third-party captures not found: expected ../shared/captures beside the repository root)",
            Run("/dev/null", trx));
    }

    [Fact]
    public void Summary_SeveralRuns_AreSummed()
    {
        // test.sh runs the suite, then the decoder classes under each SIMD variant: one line over all runs.
        using var t = new TempFiles();
        string trx = Path.Combine(RepoPaths.Root, "tests", "PcapDht.Tests", "Scripts", "skipped-captures.trx");
        string log = t.Write("log-v128.txt", "Passed!  - Failed:     0, Passed:   120, Skipped:     0, Total:   120, Duration: 9 s\n");
        Assert.Equal("tests: 121 passed, 0 failed, 7 skipped (7: third-party captures not found: expected ../shared/captures beside the repository root)",
            Run("/dev/null", trx, log, t.Path("results-v128.trx")));
    }

    [Fact]
    public void Summary_WithoutTrx_FallsBackToTheLogLine()
    {
        using var t = new TempFiles();
        string log = t.Write("log.txt", "noise\nPassed!  - Failed:     0, Passed:   600, Skipped:     2, Total:   602, Duration: 9 m\n");
        Assert.Equal("tests: 600 passed, 0 failed, 2 skipped", Run(log, t.Path("missing.trx")));
    }
}
