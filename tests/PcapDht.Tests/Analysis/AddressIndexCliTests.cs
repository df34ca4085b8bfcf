using PcapDht.Cli;
using PcapDht.Tests.Capture;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Ingest;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// The address index through the CLI: `ingest --verbose` says what its refresh did; a refresh that fails leaves the
/// captures committed, says so in one line and exits 4, and the reports then read the rollups with the same numbers.
/// </summary>
public sealed class AddressIndexCliTests
{
    private static string Sample(string name) => Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap", name);

    /// <summary>Runs a CLI verb that must succeed (its stderr is the failure message).</summary>
    private static void Ok(TempDir dir, params string[] args)
    {
        var o = CliRunner.Run(args, dir.Path);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
    }

    [Fact]
    public void IngestReportsItsRefresh_AndAFailedRefreshKeepsTheCaptures_AndTheReportsTheirNumbers()
    {
        using var dir = new TempDir();
        string db = dir.File("t.duckdb");
        var first = CliRunner.Run(["ingest", Sample("synthetic-dht.pcap"), "--db", db, "--verbose"], dir.Path);
        Assert.True(first.ExitCode == ExitCodes.Ok, first.Stderr);
        Assert.Matches(@"address index (built|merged) in \d+\.\d s", first.Stderr);
        var import = CliRunner.Run(["asn", "import", Sample("asn/asn-ipv4.csv"), Sample("asn/asn-ipv6.csv"), "--db", db], dir.Path);
        Assert.True(import.ExitCode == ExitCodes.Ok, import.Stderr);
        string[] report = ["report", "asn", "--db", db, "--days", "30", "--top", "0", "--format", "json"];
        var fromIndex = CliRunner.Run([.. report, "--source", "index"], dir.Path);
        Assert.True(fromIndex.ExitCode == ExitCodes.Ok, fromIndex.Stderr);

        // Make the next refresh fail: it must rebuild (no state recorded), and the snapshot of the ranges it writes is now a view.
        Ok(dir, "query", "--write", "DELETE FROM pcapdht_store.meta WHERE key = 'addr_index_state'; " +
            "DROP TABLE pcapdht_store.addr_index_asn; CREATE VIEW pcapdht_store.addr_index_asn AS SELECT 1 AS x", "--db", db);
        var second = CliRunner.Run(["ingest", Sample("dht-loopback.pcap"), "--db", db], dir.Path);

        Assert.Equal(ExitCodes.DatabaseError, second.ExitCode);
        string line = Assert.Single(second.Stderr.Trim().Split('\n'));
        Assert.Contains("the captures are stored, but the address index was not updated", line);
        var captures = CliRunner.Run(["query", "SELECT count(*) FILTER (WHERE status = 'complete') || '/' || count(*) FROM captures", "--db", db, "--format", "csv"], dir.Path);
        Assert.Equal("2/2", captures.Stdout.Trim().Split('\n')[^1]);
        // The index is not current: the default reads the rollups, --source index refuses, and the numbers are the detail rows'.
        var refused = CliRunner.Run([.. report, "--source", "index"], dir.Path);
        Assert.Equal(ExitCodes.Usage, refused.ExitCode);
        Assert.Contains("address index cannot answer", refused.Stderr);
        // (A window of a year: the loopback capture is newer and holds no address an ASN range holds.)
        string[] year = ["report", "asn", "--db", db, "--days", "365", "--top", "0", "--format", "json"];
        var auto = CliRunner.Run(year, dir.Path);
        var detail = CliRunner.Run([.. year, "--source", "detail"], dir.Path);
        Assert.True(auto.ExitCode == ExitCodes.Ok, auto.Stderr);
        Assert.Contains("\"ips\"", auto.Stdout);
        Assert.Equal(detail.Stdout, auto.Stdout);
    }

    [Fact]
    public void Check_NamesAnIndexThatDisagrees_AndCompactRebuildsIt()
    {
        using var dir = new TempDir();
        string db = dir.File("t.duckdb");
        Ok(dir, "ingest", Sample("synthetic-dht.pcap"), "--db", db);
        Assert.Equal(ExitCodes.Ok, CliRunner.Run(["check", "--db", db], dir.Path).ExitCode);
        Ok(dir, "query", "--write", "UPDATE pcapdht_store.addr_index SET last_us = last_us + 1", "--db", db);

        var check = CliRunner.Run(["check", "--db", db], dir.Path);
        Assert.Equal(ExitCodes.DatabaseError, check.ExitCode);
        Assert.Matches(@"inconsistent: the address index disagrees with the daily rollups: \d+ addresses differ", check.Stdout);
        string line = Assert.Single(check.Stderr.Trim().Split('\n'));
        Assert.Contains("pcapdht check --compact rebuilds it", line);

        var compact = CliRunner.Run(["check", "--compact", "--db", db], dir.Path);
        Assert.True(compact.ExitCode == ExitCodes.Ok, compact.Stderr);
        Assert.Contains("rebuilt: the address index", compact.Stdout);
        var again = CliRunner.Run(["check", "--db", db], dir.Path);
        Assert.Equal(ExitCodes.Ok, again.ExitCode);
        Assert.Contains("ok: every block reads", again.Stdout);
    }

    /// <summary>
    /// What a sniff does with the address index when it stops (<c>SniffCommand.RefreshIndex</c>; the netns SIGTERM test
    /// runs it after a real capture): a second Ctrl-C/SIGTERM (the token) skips it, and so does a file another process
    /// still holds after the lock wait, both with a line and exit 0, leaving the index stale; otherwise it brings the index
    /// up to date and says so.
    /// </summary>
    [Fact]
    public void SniffRefresh_SkipsOnASecondSignalOrALockedFile_ElseUpdatesTheIndex()
    {
        using var dir = new TempDir();
        string db = dir.File("t.duckdb");
        Ok(dir, "ingest", Sample("synthetic-dht.pcap"), "--db", db);
        // As a sniff's flushes do: the capture's counters change, so the index no longer matches the store.
        Ok(dir, "query", "--write", "UPDATE pcapdht_store.capture SET frames = frames + 1", "--db", db);
        Assert.False(IndexCurrent(db));

        var err = new StringWriter();
        using (var stopped = new CancellationTokenSource())
        {
            stopped.Cancel();
            Assert.Equal(ExitCodes.Ok, PcapDht.Cli.Commands.SniffCommand.RefreshIndex(db, false, TimeSpan.FromSeconds(15), stopped.Token, err));
        }
        Assert.Equal("sniff: address index not updated (skipped): reports read the daily rollups until the next ingest", err.ToString().Trim());
        Assert.False(IndexCurrent(db));

        // Another process reads the file (a query that runs for minutes): after the lock wait the refresh is skipped.
        using (var reader = Live.LiveProcess.Pcapdht([], "query", "SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 1", "--db", db))
        {
            // Locked five probes in a row, 0.2 s apart: the query is running (opening, the reader may hold and let go of the
            // file more than once, and a refresh could slip in between).
            int lockedInARow = 0;
            for (int i = 0; i < 300 && lockedInARow < 5 && !reader.HasExited; i++)
            {
                try { using var probe = PcapDht.Store.PcapDhtDatabase.Open(db, TimeSpan.Zero); lockedInARow = 0; }
                catch (PcapDht.Store.DatabaseLockedException) { lockedInARow++; }
                Thread.Sleep(200);
            }
            Assert.True(lockedInARow == 5, "the reading process never held the file: " + reader.Stderr);
            err = new StringWriter();
            Assert.Equal(ExitCodes.Ok, PcapDht.Cli.Commands.SniffCommand.RefreshIndex(db, false, TimeSpan.FromSeconds(1), CancellationToken.None, err));
            string line = Assert.Single(err.ToString().Trim().Split('\n'));
            Assert.StartsWith("sniff: address index not updated (", line);
            Assert.Contains("locked by another process", line);
            Assert.False(reader.HasExited, "the reading process ended before the refresh was tried: " + reader.Stderr);
        }
        Assert.False(IndexCurrent(db));

        err = new StringWriter();
        Assert.Equal(ExitCodes.Ok, PcapDht.Cli.Commands.SniffCommand.RefreshIndex(db, false, TimeSpan.FromSeconds(15), CancellationToken.None, err));
        Assert.Matches(@"^sniff: address index built in \d+\.\d s$", err.ToString().Trim());
        Assert.True(IndexCurrent(db));
    }

    private static bool IndexCurrent(string db)
    {
        using var store = PcapDht.Store.PcapDhtDatabase.Open(db);
        return PcapDht.Store.AddressIndex.Current(store.Connection) is not null;
    }
}
