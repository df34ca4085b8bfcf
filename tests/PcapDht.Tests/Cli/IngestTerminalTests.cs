using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using PcapDht.Store;
using PcapDht.Tests.Ingest;
using PcapDht.Tests.Live;
using PcapDht.Tests.Store;
using TempDir = PcapDht.Tests.Store.TempDir;

namespace PcapDht.Tests.Cli;

/// <summary>
/// <c>pcapdht ingest</c> on a terminal (a pseudo-terminal from python3's pty module, so Spectre draws its
/// progress bar) stopped with Ctrl-C (SIGINT) while it reads: the bar is cleared before the interruption is
/// reported, so the line is whole and no redraw comes after it; the file counts as interrupted.
/// </summary>
public class IngestTerminalTests
{
    // Runs argv under a pty, sends SIGINT once the bar has drawn twice, prints the raw terminal output and
    // the exit status (after a NUL) on stdout.
    private const string Harness = """
        import os, pty, select, signal, sys, time
        pid, fd = pty.fork()
        if pid == 0:
            os.environ['COLUMNS'] = '200'
            os.execvp(sys.argv[1], sys.argv[1:])
        buf = b''
        sent = None
        deadline = time.time() + 120
        while time.time() < deadline:
            r, _, _ = select.select([fd], [], [], 0.1)
            if r:
                try:
                    d = os.read(fd, 65536)
                except OSError:
                    break
                if not d:
                    break
                buf += d
            if sent is None and buf.count(b'frames/s') >= 2:
                os.kill(pid, signal.SIGINT)
                sent = time.time()
        # A child that ignored SIGINT (or never got it) would read the endless pipe for ever: give it 15 s
        # more, then kill it, so the harness (and the test reading its output) always ends.
        done, status = 0, 0
        stop = time.time() + 15
        while done == 0 and time.time() < stop:
            done, status = os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        if done == 0:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        sys.stdout.buffer.write(buf + b'\0' + str(os.waitstatus_to_exitcode(status)).encode())
        """;

    [Fact]
    public void Ingest_CtrlCWithProgressBar_BarClearedFirst_LineWhole_Interrupted()
    {
        using var dir = new TempDir();
        string fifo = dir.File("stream.pcap"), db = dir.File("t.duckdb");
        using (var mk = Process.Start("mkfifo", [fifo])) mk.WaitForExit();
        using var stop = new CancellationTokenSource();
        // An endless capture into the named pipe: the ingest is certainly still reading when Ctrl-C comes.
        var feeder = new Thread(() => Feed(fifo, stop.Token)) { IsBackground = true };
        feeder.Start();

        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-c", Harness, LiveProcess.DotnetPath, CliRunner.DllPath, "ingest", fifo, "--db", db }) psi.ArgumentList.Add(a);
        psi.Environment.Remove("NO_COLOR");
        string raw;
        using (var p = Process.Start(psi)!)
        {
            string err = "";
            var errReader = new Thread(() => err = p.StandardError.ReadToEnd());
            errReader.Start();
            raw = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(150_000), "the harness did not finish");
            errReader.Join();
            Assert.True(p.ExitCode == 0, "harness: " + err);
        }
        stop.Cancel();
        feeder.Join(10_000);

        int nul = raw.LastIndexOf('\0');
        Assert.Equal(130, int.Parse(raw[(nul + 1)..], System.Globalization.CultureInfo.InvariantCulture)); // ExitCodes.Interrupted
        string screen = Regex.Replace(raw[..nul], @"\x1b(\[[0-9;?]*[A-Za-z]|[=>])", "");
        // The line (whatever a stream or a file says after "interrupted") starts a line and ends before the next.
        var line = Regex.Match(screen, $@"(?:^|[\r\n])(pcapdht ingest: {Regex.Escape(fifo)}: interrupted[^\r\n]*)\r?\n");
        Assert.True(line.Success, "no whole interruption line in: " + screen[Math.Max(0, screen.Length - 2000)..]);
        Assert.True(screen.LastIndexOf("frames/s", StringComparison.Ordinal) < line.Index, "the bar was drawn again after the line");
        Assert.Matches(@"│ \d+ / 0 / 0 / 1 / 0 │", screen); // files ingested / skipped / partial / interrupted / failed
        // A named pipe is a stream (issue 19 #7): Ctrl-C keeps what it read.
        Assert.Contains("frames read before were stored (capture 1, status interrupted)", line.Value);

        using var store = PcapDhtDatabase.Open(db);
        Assert.Equal("interrupted", Sql.String(store.Connection, "SELECT status FROM captures"));
        Assert.True(Sql.Long(store.Connection, "SELECT frames FROM captures") > 0, "the stream's frames were not kept");
        Assert.Equal(Sql.Long(store.Connection, "SELECT krpc_messages FROM captures"), Sql.Long(store.Connection, "SELECT count(*) FROM messages"));
    }

    private static void Feed(string fifo, CancellationToken stop)
    {
        using var f = new FileStream(fifo, FileMode.Open, FileAccess.Write);
        try
        {
            IngestTestFiles.WritePcapHeader(f);
            var chunk = new MemoryStream();
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                chunk.SetLength(0);
                for (int k = 0; k < 1000; k++) IngestTestFiles.WriteRecord(chunk, i * 1000 + k, IngestTestFiles.FindNodeResponse(i * 1000 + k));
                f.Write(chunk.GetBuffer(), 0, (int)chunk.Length);
            }
        }
        catch (IOException) { /* the ingest closed the pipe */ }
    }
}
