using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using PcapDht.Cli;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Synth;

/// <summary>
/// `synth --out - --nodes N --days D | ingest -`: the rollup benchmark's way of building a store without a capture
/// on disk (docs/benchmarks.md, issue 15), at a small scale.
/// </summary>
public class SynthStreamTests
{
    [Fact]
    public void SynthToStdout_IntoIngest_SpansTheDaysAndSeesTheAddressPool()
    {
        const int Nodes = 2000, Days = 33;
        var dir = SynthTestSupport.TempDir();
        try
        {
            string db = Path.Combine(dir, "s.duckdb"), piped = Path.Combine(dir, "piped.truth.json"), file = Path.Combine(dir, "f.pcap");
            string options = $"--messages 30000 --nodes {Nodes} --days {Days} --seed 5 --asn-ranges '{SynthTestSupport.FixtureRanges}'";
            string cli = $"dotnet '{CliRunner.DllPath}'";
            var pipe = Bash($"set -o pipefail; {cli} synth --out - {options} --truth '{piped}' | {cli} ingest - --db '{db}'");
            Assert.True(pipe.ExitCode == 0, pipe.Stdout + pipe.Stderr);
            // The summary goes to stderr so the pipe carries only the capture.
            Assert.Contains("to stdout", pipe.Stderr);
            Assert.Contains("ingested", pipe.Stdout);

            // The same options written to a file give the same capture (its truth is equal).
            var toFile = CliRunner.Run(["synth", "--out", file, .. SplitOptions(options)]);
            Assert.True(toFile.ExitCode == ExitCodes.Ok, toFile.Stderr);
            Assert.Equal(File.ReadAllText(Path.Combine(dir, "f.truth.json")), File.ReadAllText(piped));

            using var truth = JsonDocument.Parse(File.ReadAllText(piped));
            long frames = truth.RootElement.GetProperty("packets").GetProperty("frames").GetInt64();
            long distinct = truth.RootElement.GetProperty("all_time").GetProperty("distinct_ips").GetInt64();
            var row = Query(db, """
                SELECT (SELECT sum(frames) FROM captures), count(DISTINCT ip_num),
                       (epoch_us(max(ts)) - epoch_us(min(ts))) // 3600000000, count(DISTINCT CAST(ts AT TIME ZONE 'UTC' AS DATE))
                FROM node_sightings
                """);
            Assert.Equal(frames, row[0]);
            Assert.Equal(distinct, row[1]);
            // The pool: every node-list entry is drawn from the N nodes (4 % share a NATed IPv4 address), plus
            // the vantage point's two addresses and the two window-boundary nodes. The default pool (messages/5)
            // would show about three times as many.
            Assert.InRange(row[1], Nodes * 9 / 10, Nodes + 4);
            // Spread over the days: the first sighting within an hour of the start, the last at --end (12:00 UTC),
            // so D days of 24 h touch D + 1 calendar dates.
            Assert.InRange(row[2], Days * 24 - 1, Days * 24);
            Assert.Equal(Days + 1, row[3]);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void Synth_NodesOutOfRange_IsAUsageError()
    {
        var dir = SynthTestSupport.TempDir();
        try
        {
            var r = CliRunner.Run(["synth", "--out", Path.Combine(dir, "x.pcap"), "--nodes", "60000000"]);
            Assert.Equal(ExitCodes.Usage, r.ExitCode);
            Assert.Contains("--nodes must be between", r.Stderr);
            Assert.False(File.Exists(Path.Combine(dir, "x.pcap")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static string[] SplitOptions(string options) =>
        options.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(o => o.Trim('\'')).ToArray();

    private static CliOutput Bash(string script)
    {
        var psi = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var so = p.StandardOutput.ReadToEndAsync();
        var se = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            p.Kill(true);
            throw new TimeoutException("synth | ingest did not finish");
        }
        return new CliOutput(p.ExitCode, so.Result, se.Result);
    }

    private static long[] Query(string db, string sql)
    {
        var r = CliRunner.Run(["query", sql, "--db", db, "--format", "csv"]);
        Assert.True(r.ExitCode == ExitCodes.Ok, r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[1].Trim().Split(',')
            .Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
    }
}
