using System.Diagnostics;
using System.Globalization;
using PcapDht.Cli;
using PcapDht.Store;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

/// <summary>
/// Issue 19 #7: `tcpdump -w - | pcapdht ingest -` was one transaction: everything stayed uncommitted until the
/// end of the stream, and SIGTERM or a crash discarded all of it. Standard input and named pipes are streams now:
/// committed at the flush interval like sniff, kind <c>stream</c>, <c>interrupted</c> with what was committed
/// when stopped or killed, <c>complete</c> at the end of the stream.
/// </summary>
public sealed class IngestStreamTests
{
    private const int First = 1000;

    [Theory]
    [InlineData("stdin", "KILL")]
    [InlineData("stdin", "TERM")]
    [InlineData("fifo", "KILL")]
    [InlineData("fifo", "INT")]
    public async Task Stream_CommittedAtTheFlushInterval_KeptWhenStoppedOrKilled(string input, string signal)
    {
        using var dir = new TempDir();
        var (header, records) = Capture(dir, First + 1);
        string source = input == "fifo" ? dir.File("live.pcap") : "-";
        if (input == "fifo") MakeFifo(source);

        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, UseShellExecute = false,
            RedirectStandardInput = input == "stdin", RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliRunner.DllPath);
        foreach (var a in new[] { "ingest", source, "--db", "t.duckdb", "--flush-interval", "200ms" }) psi.ArgumentList.Add(a);
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            // A named pipe's open waits for its reader, so open it on another thread.
            Stream pipe = input == "fifo"
                ? await Task.Run(() => new FileStream(source, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0)).WaitAsync(TimeSpan.FromSeconds(60))
                : p.StandardInput.BaseStream;
            await using (pipe)
            {
                // The first frames, then a pause longer than the flush interval, then one frame: the ingest
                // commits when it reads a frame after the interval, so all of them are committed now.
                await pipe.WriteAsync(header);
                for (int i = 0; i < First; i++) await pipe.WriteAsync(records[i]);
                await pipe.FlushAsync();
                await Task.Delay(1500);
                await pipe.WriteAsync(records[First]);
                await pipe.FlushAsync();
                await Task.Delay(3000);
                Assert.False(p.HasExited, "the ingest ended before it was signalled");
                using (var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, p.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
                    await kill.WaitForExitAsync();
                Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), $"ingest did not stop on SIG{signal}");
            }
        }
        finally
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
        }
        string err = await stderr;
        _ = await stdout;
        if (signal != "KILL")
        {
            Assert.Equal(ExitCodes.Interrupted, p.ExitCode);
            Assert.Contains($"the {First + 1:N0} frames read before were stored", err);
        }

        using (var db = PcapDhtDatabase.Open(dir.File("t.duckdb"))) // a crash is settled by the next open
        {
            var c = db.Connection;
            Assert.Equal(1, Sql.Long(c, "SELECT count(*) FROM captures"));
            Assert.Equal("stream", Sql.String(c, "SELECT kind FROM captures"));
            Assert.Equal("interrupted", Sql.String(c, "SELECT status FROM captures"));
            Assert.StartsWith("interrupted", Sql.String(c, "SELECT error FROM captures"));
            Assert.Equal(First + 1, Sql.Long(c, "SELECT frames FROM captures"));
            Assert.Equal(First + 1, Sql.Long(c, "SELECT krpc_messages FROM captures"));
            Assert.Equal(First + 1, Sql.Long(c, "SELECT count(*) FROM messages"));
            Assert.Equal(9L * (First + 1), Sql.Long(c, "SELECT node_sightings FROM captures")); // the sender and 8 nodes
        }
        // The counters agree with the rows: check finds nothing wrong.
        var report = StoreCheck.Run(dir.File("t.duckdb"), TimeSpan.FromSeconds(10));
        Assert.Empty(report.Findings);
    }

    [Fact]
    public async Task Fifo_ToItsEnd_IsOneCompleteStreamCapture()
    {
        using var dir = new TempDir();
        var (header, records) = Capture(dir, 500);
        string fifo = dir.File("whole.pcap");
        MakeFifo(fifo);
        var writer = Task.Run(() =>
        {
            using var pipe = new FileStream(fifo, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 0);
            pipe.Write(header);
            foreach (var r in records) pipe.Write(r);
        });
        var run = await Task.Run(() => CliRunner.Run(["ingest", fifo, "--db", dir.File("t.duckdb"), "--flush-interval", "100ms"]));
        await writer.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(run.ExitCode == ExitCodes.Ok, run.Stderr);
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var c = db.Connection;
        Assert.Equal("stream|complete|500|500", Sql.String(c, "SELECT concat_ws('|', kind, status, frames, (SELECT count(*) FROM messages)) FROM captures"));
        Assert.Equal(64, Sql.String(c, "SELECT sha256 FROM captures")!.Length);
    }

    /// <summary>A raw-IP pcap of <paramref name="count"/> find_node responses: its header and each frame's record.</summary>
    private static (byte[] Header, byte[][] Records) Capture(TempDir dir, int count)
    {
        string path = dir.File("source.pcap");
        IngestTestFiles.WriteRawPcap(path, count, IngestTestFiles.FindNodeResponse);
        var bytes = File.ReadAllBytes(path);
        int record = (bytes.Length - 24) / count;
        Assert.Equal(bytes.Length, 24 + record * count);
        File.Delete(path);
        return (bytes[..24], Enumerable.Range(0, count).Select(i => bytes[(24 + i * record)..(24 + (i + 1) * record)]).ToArray());
    }

    private static void MakeFifo(string path)
    {
        using var mk = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false })!;
        mk.WaitForExit();
        Assert.Equal(0, mk.ExitCode);
    }
}
