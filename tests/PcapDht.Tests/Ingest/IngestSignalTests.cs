using System.Diagnostics;
using PcapDht.Cli;
using PcapDht.Store;
using CaptureBuilder = PcapDht.Tests.Capture.CaptureBuilder;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

/// <summary>
/// Issue 19 #1: `pcapdht ingest -` fed a pcapng stream of nothing but non-packet blocks ignored SIGINT and SIGTERM
/// (the block loop never returned, and cancellation was checked every N frames); an idle pipe blocked in read(2).
/// Both now end with exit 130 and store nothing of the stream.
/// </summary>
public sealed class IngestSignalTests
{
    private static readonly byte[] Header = CaptureBuilder.PcapNg().Section(false).Interface(1).ToArray();
    private static readonly byte[] EmptyBlock = CaptureBuilder.PcapNg().Block(0x0BAD, []).ToArray();

    [Theory]
    [InlineData("INT", true)]
    [InlineData("TERM", true)]
    [InlineData("INT", false)]
    public async Task IngestStdin_EndlessOrIdleStream_StopsOnSignal(string signal, bool endless)
    {
        using var dir = new TempDir();
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, UseShellExecute = false,
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliRunner.DllPath);
        foreach (var a in new[] { "ingest", "-", "--db", "t.duckdb" }) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var stop = new CancellationTokenSource();
        var input = p.StandardInput.BaseStream;
        long written = 0;
        var writer = Task.Run(async () =>
        {
            try
            {
                await input.WriteAsync(Header);
                await input.FlushAsync();
                var many = Enumerable.Repeat(EmptyBlock, 4096).SelectMany(b => b).ToArray();
                while (endless && !stop.IsCancellationRequested)
                {
                    await input.WriteAsync(many);
                    Interlocked.Add(ref written, many.Length);
                }
                await Task.Delay(Timeout.Infinite, stop.Token); // an idle pipe: open, nothing more
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
            }
        });
        // Signal once the ingest is reading (its database exists and, when endless, blocks have gone through).
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60) && !(File.Exists(dir.File("t.duckdb")) && (!endless || Interlocked.Read(ref written) > 8 << 20)))
            await Task.Delay(100);
        await Task.Delay(500);
        Assert.False(p.HasExited, "the ingest ended before it was signalled");
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
            await kill.WaitForExitAsync();
        var signalled = Stopwatch.StartNew();
        bool exited = p.WaitForExit(TimeSpan.FromSeconds(20));
        var took = signalled.Elapsed;
        stop.Cancel();
        if (!exited) p.Kill(entireProcessTree: true);
        Assert.True(exited, $"ingest did not stop on SIG{signal}");
        await writer;
        Assert.Equal(ExitCodes.Interrupted, p.ExitCode);
        Assert.True(took < TimeSpan.FromSeconds(10), $"took {took}");
        Assert.Contains("interrupted", await stderr);
        _ = await stdout;

        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        Assert.Equal(0, Sql.Long(db.Connection, "SELECT count(*) FROM captures WHERE status IN ('running', 'complete', 'partial')"));
    }
}
