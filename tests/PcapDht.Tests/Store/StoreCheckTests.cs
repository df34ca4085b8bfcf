using System.Diagnostics;
using PcapDht.Cli;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Tests.Capture;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Ingest;

namespace PcapDht.Tests.Store;

/// <summary>
/// Issue 19 #4 and #8: a damaged database (4 KiB flipped in a data block, the file cut in half) used to be written to
/// and answered from with exit 0, and a full scan failed with exit 1. `pcapdht check` reads every block and the
/// store's invariants; every verb maps DuckDB's corruption errors to exit 4 with a line that says what to do; and
/// `check --compact` gives back the space a crash leaves in the file.
/// </summary>
public sealed class StoreCheckTests
{
    private static string Sample => Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap", "dht-loopback.pcap");

    /// <summary>A database as a user has it: written by `pcapdht ingest`, closed (checkpointed) when that process ended.</summary>
    private static string Ingested(TempDir dir, string name = "t.duckdb")
    {
        string path = dir.File(name);
        Assert.Equal(ExitCodes.Ok, CliRunner.Run(["ingest", Sample, "--db", path], dir.Path).ExitCode);
        Assert.False(File.Exists(path + ".wal"));
        return path;
    }

    private static CliOutput Cli(TempDir dir, params string[] args) => CliRunner.Run(args, dir.Path);

    /// <summary>The file offset of a block that holds rows of pcapdht_store.msg (DuckDB: three 4 KiB headers, then 256 KiB blocks).</summary>
    private static long MessageBlockOffset(string path)
    {
        var o = CliRunner.Run(["query", "SELECT max(block_id) || '|' || (SELECT block_size FROM pragma_database_size()) AS b FROM pragma_storage_info('pcapdht_store.msg') WHERE block_id >= 0 AND segment_type <> 'VALIDITY'", "--db", path, "--format", "csv"]);
        var parts = o.Stdout.Trim().Split('\n')[^1].Split('|');
        return 3 * 4096 + long.Parse(parts[0]) * long.Parse(parts[1]);
    }

    [Fact]
    public void Healthy_ReadsEveryTableAndExitsZero()
    {
        using var dir = new TempDir();
        string db = Ingested(dir);
        var o = Cli(dir, "check", "--db", db);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Contains("pcapdht_store.msg: 6,937 rows read", o.Stdout);
        Assert.Contains("1 captures checked", o.Stdout);
        Assert.Contains("ok:", o.Stdout);
        Assert.Equal("", o.Stderr.Trim());
    }

    [Fact]
    public void FlippedDataBlock_IsDamage_Exit4_ForCheckAndAFullScan()
    {
        using var dir = new TempDir();
        string db = Ingested(dir);
        long offset = MessageBlockOffset(db);
        using (var f = new FileStream(db, FileMode.Open, FileAccess.ReadWrite))
        {
            f.Position = offset + 8192;
            f.Write(Net.PacketBuilder.Payload(4096, 19));
        }

        var check = Cli(dir, "check", "--db", db);
        Assert.Equal(ExitCodes.DatabaseError, check.ExitCode);
        Assert.Contains("damaged: table pcapdht_store.msg does not read", check.Stdout);
        string err = Assert.Single(check.Stderr.Trim().Split('\n'));
        Assert.Contains("restore it from a backup", err);

        var scan = Cli(dir, "query", "SELECT count(*), sum(hash(m)) FROM messages m", "--db", db);
        Assert.Equal(ExitCodes.DatabaseError, scan.ExitCode);
        err = Assert.Single(scan.Stderr.Trim().Split('\n'));
        Assert.Contains("damaged", err);
        Assert.Contains("pcapdht check", err);
    }

    [Fact]
    public void FileCutInHalf_IsDamage_AndNoVerbWritesOrAnswers()
    {
        using var dir = new TempDir();
        string db = Ingested(dir);
        byte[] all = File.ReadAllBytes(db);
        File.WriteAllBytes(db, all[..(all.Length / 2)]);

        var check = Cli(dir, "check", "--db", db);
        Assert.Equal(ExitCodes.DatabaseError, check.ExitCode);
        Assert.Contains("damaged", check.Stdout);

        foreach (var args in new[] { new[] { "ingest", Sample, "--db", db, "--force" }, ["query", "SELECT count(*) FROM messages", "--db", db], ["report", "overview", "--db", db] })
        {
            var o = Cli(dir, args);
            Assert.True(o.ExitCode == ExitCodes.DatabaseError, $"{args[0]}: exit {o.ExitCode}: {o.Stdout} {o.Stderr}");
            Assert.Contains("damaged", o.Stderr);
            Assert.Equal("", o.Stdout.Trim());
        }
        Assert.Equal(all.Length / 2, new FileInfo(db).Length);
    }

    [Fact]
    public void CheckAndPrune_DoNotNeedTheInternalViews()
    {
        // An ingest creates the views in the background: one that dies before committing them leaves a file without them,
        // and its own --keep-detail prune may run before they exist. The hash stays, so no open recreates them here.
        using var dir = new TempDir();
        string db = Ingested(dir);
        Assert.Equal(ExitCodes.Ok, Cli(dir, "query", "--write", "DROP VIEW pcapdht_store.msg_wide; DROP VIEW pcapdht_store.msg_sender", "--db", db).ExitCode);

        var check = Cli(dir, "check", "--db", db);
        Assert.True(check.ExitCode == ExitCodes.Ok, check.Stdout + check.Stderr);
        Assert.Contains("1 captures checked against their rows", check.Stdout);
        var prune = Cli(dir, "prune", "--keep-detail", "0", "--db", db);
        Assert.True(prune.ExitCode == ExitCodes.Ok, prune.Stdout + prune.Stderr);
        Assert.Matches(@"│ msg\s+│\s+6,937 │", prune.Stdout);
    }

    [Fact]
    public void DimensionKeysMissingOrHeldTwice_AreInconsistent_WithExactCounts()
    {
        using var dir = new TempDir();
        string db = Ingested(dir);
        // The keys msg rows name of two endpoints that go, counted independently of check: each message names two keys.
        const string Gone = "(SELECT e.k FROM pcapdht_store.endpoint_dim ORDER BY e.k LIMIT 2 OFFSET 10)";
        var named = Cli(dir, "query", "--format", "csv", $"SELECT count(*) FILTER (WHERE d.src_k IN {Gone}) + count(*) FILTER (WHERE d.dst_k IN {Gone}) FROM pcapdht_store.msg", "--db", db);
        long dangling = long.Parse(named.Stdout.Trim().Split('\n')[^1]);
        Assert.True(dangling > 2, named.Stdout + named.Stderr);
        Assert.Equal(ExitCodes.Ok, Cli(dir, "query", "--write", $"""
            DELETE FROM pcapdht_store.endpoint_dim WHERE e.k IN {Gone};
            INSERT INTO pcapdht_store.endpoint_dim SELECT * FROM pcapdht_store.endpoint_dim ORDER BY e.k LIMIT 3;
            INSERT INTO pcapdht_store.node_dim SELECT * FROM pcapdht_store.node_dim ORDER BY n.k LIMIT 1;
            """, "--db", db).ExitCode);

        var o = Cli(dir, "check", "--db", db);

        Assert.Equal(ExitCodes.DatabaseError, o.ExitCode);
        Assert.Contains($"inconsistent: {dangling} keys in rows of pcapdht_store.msg name an endpoint that pcapdht_store.endpoint_dim does not hold", o.Stdout);
        Assert.Contains("inconsistent: 3 keys of pcapdht_store.endpoint_dim are held more than once in their capture", o.Stdout);
        Assert.Contains("inconsistent: 1 keys of pcapdht_store.node_dim are held more than once in their capture", o.Stdout);
    }

    [Fact]
    public void CountersThatDisagreeWithRows_AreInconsistent()
    {
        using var dir = new TempDir();
        string db = Ingested(dir);
        Assert.Equal(ExitCodes.Ok, Cli(dir, "query", "--write", "DELETE FROM pcapdht_store.msg WHERE frame_no % 2 = 0; INSERT INTO pcapdht_store.peer SELECT 99, frame_no, ts, p FROM pcapdht_store.peer LIMIT 3", "--db", db).ExitCode);

        var o = Cli(dir, "check", "--db", db);

        Assert.Equal(ExitCodes.DatabaseError, o.ExitCode);
        Assert.Matches(@"inconsistent: capture 1 \(complete\) records 6937 krpc_messages but has \d+ rows", o.Stdout);
        Assert.Contains("inconsistent: 3 rows of pcapdht_store.peer belong to no capture", o.Stdout);
        Assert.Contains("re-ingest", Assert.Single(o.Stderr.Trim().Split('\n')));
    }

    [Fact]
    public void KilledIngest_LeavesSpaceThatCompactGivesBack()
    {
        // The file and its write-ahead log: what the killed ingest left on disk.
        static long Written(string db) => new FileInfo(db).Length + (File.Exists(db + ".wal") ? new FileInfo(db + ".wal").Length : 0);
        using var dir = new TempDir();
        string db = Ingested(dir);
        IngestTestFiles.WriteRawPcap(dir.File("big.pcap"), 1_500_000, i => IngestTestFiles.FindNodeResponse(i & 0xffff));
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliRunner.DllPath);
        foreach (var a in new[] { "ingest", "big.pcap", "--db", db }) psi.ArgumentList.Add(a);
        long before = new FileInfo(db).Length;
        using (var p = Process.Start(psi)!)
        {
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            var sw = Stopwatch.StartNew();
            // The capture's rows take ~26 MB, ~12 MB of them appended before its commit: kill it halfway there.
            while (sw.Elapsed < TimeSpan.FromSeconds(90) && !p.HasExited && Written(db) < before + (6 << 20))
                Thread.Sleep(50);
            Assert.False(p.HasExited, "the ingest finished before it could be killed; make big.pcap larger");
            p.Kill(entireProcessTree: true); // SIGKILL
            p.WaitForExit();
        }
        long crashed = Written(db);
        Assert.True(crashed > before + (4 << 20));

        var check = Cli(dir, "check", "--db", db);
        Assert.Equal(ExitCodes.DatabaseError, check.ExitCode);
        Assert.Contains("unfinished: capture 2 is 'running'", check.Stdout);
        Assert.Contains("check --compact", check.Stderr);

        var compact = Cli(dir, "check", "--db", db, "--compact");
        Assert.Equal(ExitCodes.Ok, compact.ExitCode);
        Assert.Contains("compacted:", compact.Stdout);
        Assert.True(new FileInfo(db).Length < before + (1 << 20), $"{new FileInfo(db).Length} of {crashed} bytes left ({before} before the killed ingest)");
        Assert.False(File.Exists(db + ".compact"));

        Assert.Equal(ExitCodes.Ok, Cli(dir, "check", "--db", db).ExitCode);
        using var after = PcapDhtDatabase.Open(db);
        Assert.Equal(6937, Sql.Long(after.Connection, "SELECT count(*) FROM messages"));
        Assert.Equal("failed", Sql.String(after.Connection, "SELECT status FROM captures WHERE capture_id = 2"));
        Assert.Contains("check --compact", Sql.String(after.Connection, "SELECT error FROM captures WHERE capture_id = 2"));
        // The rewritten file goes on as before: the next capture gets the next id.
        var again = new IngestPipeline(after, new IngestOptions { Force = true }).IngestFiles([Sample]);
        Assert.Equal(3, again[0].CaptureId);
    }

    /// <summary>A sniffer between two flushes does not hold the file; compacting under it would lose its next flush.</summary>
    [Fact]
    public void Compact_WhileASnifferWrites_IsRefusedAndChangesNothing()
    {
        using var dir = new TempDir();
        string db = Ingested(dir);
        // A live capture whose writer is alive: this test process (its command line names PcapDht).
        string insert = $"INSERT INTO pcapdht_store.capture (capture_id, source, kind, status, started_at, pid, host) " +
            $"VALUES (nextval('pcapdht_store.capture_ids'), 'live:eth9', 'live', 'running', now(), {Environment.ProcessId}, '{Environment.MachineName}')";
        Assert.Equal(ExitCodes.Ok, Cli(dir, "query", "--write", insert, "--db", db).ExitCode);

        var o = Cli(dir, "check", "--db", db, "--compact");

        Assert.Equal(ExitCodes.DatabaseError, o.ExitCode);
        Assert.Contains("a sniff is writing capture 2", Assert.Single(o.Stderr.Trim().Split('\n')));
        Assert.False(File.Exists(db + ".compact"));
        using var after = PcapDhtDatabase.Open(db);
        Assert.Equal("running", Sql.String(after.Connection, "SELECT status FROM captures WHERE capture_id = 2"));
        Assert.Equal(6937, Sql.Long(after.Connection, "SELECT count(*) FROM messages"));
    }
}
