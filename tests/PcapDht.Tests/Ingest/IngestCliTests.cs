using System.Diagnostics;
using DuckDB.NET.Data;
using PcapDht.Cli;
using PcapDht.Store;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

public class IngestCliTests
{
    private static CliOutput Ingest(TempDir dir, params string[] args) => CliRunner.Run(["ingest", .. args], dir.Path);

    [Fact]
    public void Ingest_MissingFile_OneLineErrorAndInputExitCode()
    {
        using var dir = new TempDir();
        var o = Ingest(dir, "nope.pcap", "--db", "t.duckdb");
        Assert.Equal(ExitCodes.InputError, o.ExitCode);
        var lines = o.Stderr.Trim().Split('\n');
        Assert.Single(lines);
        Assert.Contains("nope.pcap: no such file", lines[0]);
        Assert.False(File.Exists(dir.File("t.duckdb")), "a missing input must not leave an empty database behind");
    }

    [Fact]
    public void Ingest_NotACapture_OneLineError()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("notes.pcap"), "hello, this is text and not a capture");
        var o = Ingest(dir, "notes.pcap", "--db", "t.duckdb");
        Assert.Equal(ExitCodes.InputError, o.ExitCode);
        Assert.Single(o.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Ingest_UnsupportedLinkType_SaysSoInOneLineAndStoresTheCount()
    {
        using var dir = new TempDir();
        // LINKTYPE_USER0 (147): a private encapsulation no decoder can read; the rest of the run goes on.
        IngestTestFiles.WriteRawPcap(dir.File("user0.pcap"), 50, IngestTestFiles.FindNodeResponse, linkType: 147);
        IngestTestFiles.WriteRawPcap(dir.File("raw.pcap"), 20, IngestTestFiles.FindNodeResponse, first: 1000);
        var o = Ingest(dir, "user0.pcap", "raw.pcap", "--db", "t.duckdb", "--format", "json");
        Assert.Equal(0, o.ExitCode);
        var line = Assert.Single(o.Stderr.Trim().Split('\n'), l => l.Contains("link type", StringComparison.Ordinal));
        Assert.Contains("user0.pcap: 50 frames of link type 147:USER0 were not decoded (all of its frames", line);
        Assert.Contains("\"unsupported_frames\": 50", o.Stdout);
        Assert.Contains("\"link_types\": \"101:RAW,147:USER0\"", o.Stdout);
        using var c = Open(dir.File("t.duckdb"));
        Assert.Equal(new object?[] { 50L, 50L, 50L, "147:USER0", 0L, "complete" }, Sql.Rows(c,
            "SELECT frames, unsupported_frames, unknown_link_type_frames, link_types, krpc_messages, status FROM captures WHERE source LIKE '%user0.pcap'")[0]);
        Assert.Equal(new object?[] { 20L, 0L, "101:RAW", 20L }, Sql.Rows(c,
            "SELECT frames, unsupported_frames, link_types, krpc_messages FROM captures WHERE source LIKE '%raw.pcap'")[0]);
    }

    [Fact]
    public void Ingest_Twice_SecondIsNoOp_ForceReplacesWithSameRows()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), 300, IngestTestFiles.FindNodeResponse);
        var first = Ingest(dir, "a.pcap", "--db", "t.duckdb", "--format", "json");
        Assert.Equal(0, first.ExitCode);
        Assert.Contains("\"krpc_messages\": 300", first.Stdout);

        var second = Ingest(dir, "a.pcap", "--db", "t.duckdb");
        Assert.Equal(0, second.ExitCode);
        Assert.Contains("skipped", second.Stdout);
        using (var c = Open(dir.File("t.duckdb")))
        {
            Assert.Equal(1, Sql.Long(c, "SELECT count(*) FROM captures"));
            Assert.Equal(300, Sql.Long(c, "SELECT count(*) FROM messages"));
            Assert.Equal(300 * 9, Sql.Long(c, "SELECT count(*) FROM node_sightings"));
        }

        var forced = Ingest(dir, "a.pcap", "--db", "t.duckdb", "--force");
        Assert.Equal(0, forced.ExitCode);
        using (var c = Open(dir.File("t.duckdb")))
        {
            Assert.Equal(1, Sql.Long(c, "SELECT count(*) FROM captures"));
            Assert.Equal(2, Sql.Long(c, "SELECT capture_id FROM captures"));
            Assert.Equal(300, Sql.Long(c, "SELECT count(*) FROM messages WHERE capture_id = 2"));
            Assert.Equal(300 * 9, Sql.Long(c, "SELECT count(*) FROM node_sightings WHERE capture_id = 2"));
            Assert.Equal(300, Sql.Long(c, "SELECT count(DISTINCT tx_id) FROM messages"));
        }
    }

    [Fact]
    public void Ingest_CompressedCopyOfStoredFile_SkippedAfterReadingWithOneLine_StdinToo()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), 150, IngestTestFiles.FindNodeResponse);
        File.WriteAllBytes(dir.File("a.pcap.zst"), new ZstdSharp.Compressor(3).Wrap(File.ReadAllBytes(dir.File("a.pcap"))).ToArray());
        Assert.Equal(0, Ingest(dir, "a.pcap", "--db", "t.duckdb").ExitCode);

        var copy = Ingest(dir, "a.pcap.zst", "--db", "t.duckdb", "--format", "json");
        Assert.Equal(0, copy.ExitCode);
        Assert.Contains("\"files_skipped\": 1", copy.Stdout);
        Assert.Contains("\"krpc_messages\": 0", copy.Stdout);
        var line = Assert.Single(copy.Stderr.Split('\n'), l => l.StartsWith("skipped ", StringComparison.Ordinal));
        Assert.Contains("a.pcap.zst: its frames are already stored as capture 1; nothing of it was written", line);

        // Standard input hashes the same frames.
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir.Path };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"dotnet '{CliRunner.DllPath}' ingest - --db t.duckdb < a.pcap.zst");
        using (var p = Process.Start(psi)!)
        {
            string stdout = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.Equal(0, p.ExitCode);
            Assert.Contains("skipped -: its frames are already stored as capture 1", stdout);
        }
        using var c = Open(dir.File("t.duckdb"));
        Assert.Equal(1, Sql.Long(c, "SELECT count(*) FROM captures"));
        Assert.Equal(150, Sql.Long(c, "SELECT count(*) FROM messages"));
    }

    [Fact]
    public void Ingest_DashReadsGzipFromStdin_IntoDefaultDatabaseFromEnvironment()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), 120, IngestTestFiles.FindNodeResponse);
        using (var input = File.OpenRead(dir.File("a.pcap")))
        using (var output = File.Create(dir.File("a.pcap.gz")))
        using (var gz = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
            input.CopyTo(gz);

        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir.Path };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"dotnet '{CliRunner.DllPath}' ingest - < a.pcap.gz");
        psi.Environment["PCAPDHT_DB"] = dir.File("env.duckdb");
        using var p = Process.Start(psi)!;
        string stderr = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000));
        Assert.True(p.ExitCode == 0, stderr);

        Assert.False(File.Exists(dir.File("pcapdht.duckdb")));
        using var c = Open(dir.File("env.duckdb"));
        Assert.Equal("-", Sql.String(c, "SELECT source FROM captures"));
        Assert.Equal(120, Sql.Long(c, "SELECT count(*) FROM messages"));
    }

    [Fact]
    public void Ingest_WithoutDb_WritesPcapdhtDuckdbThatQueryAndReportRead()
    {
        // DuckDB names the catalog after the file: "pcapdht.duckdb" must not clash with any schema of ours.
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), 50, IngestTestFiles.FindNodeResponse);
        var noEnv = new Dictionary<string, string> { ["PCAPDHT_DB"] = "" };
        var o = CliRunner.Run(["ingest", "a.pcap"], dir.Path, noEnv);
        Assert.True(o.ExitCode == 0, o.Stderr);
        Assert.True(File.Exists(dir.File("pcapdht.duckdb")));

        var q = CliRunner.Run(["query", "SELECT count(*) AS n FROM messages", "--format", "csv"], dir.Path, noEnv);
        Assert.True(q.ExitCode == 0, q.Stderr);
        Assert.Equal("50", q.Stdout.Trim().Split('\n')[^1].Trim());
        var r = CliRunner.Run(["report", "overview", "--format", "csv"], dir.Path, noEnv);
        Assert.True(r.ExitCode == 0, r.Stderr);
    }

    [Fact]
    public void Ingest_DatabaseLockedByAnotherProcess_ClearError()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), 10, IngestTestFiles.FindNodeResponse);
        using (var db = PcapDhtDatabase.Open(dir.File("t.duckdb")))
        {
            // This test process holds the file open for writing: DuckDB's file lock keeps others out.
            var o = Ingest(dir, "a.pcap", "--db", "t.duckdb");
            Assert.Equal(ExitCodes.DatabaseError, o.ExitCode);
            var line = Assert.Single(o.Stderr.Trim().Split('\n'));
            Assert.Contains("locked by another process", line);
        }
    }

    [Fact]
    public void Ingest_DamagedCapture_KeepsFramesBeforeDamage_PartialWithFrameAndOffset()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), 50, IngestTestFiles.FindNodeResponse);
        var bytes = File.ReadAllBytes(dir.File("a.pcap"));
        File.WriteAllBytes(dir.File("cut.pcap"), bytes[..(bytes.Length - 40)]); // the 50th record is cut short
        var o = Ingest(dir, "cut.pcap", "--db", "t.duckdb");
        Assert.Equal(ExitCodes.Partial, o.ExitCode);
        var line = Assert.Single(o.Stderr.Trim().Split('\n'));
        Assert.Contains("frame 50", line);
        Assert.Contains("byte offset", line);
        using var c = Open(dir.File("t.duckdb"));
        Assert.Equal(49, Sql.Long(c, "SELECT count(*) FROM messages"));
        Assert.Equal("partial", Sql.Scalar(c, "SELECT status FROM captures"));
        Assert.Equal(50L, Sql.Scalar(c, "SELECT damage_frame FROM captures"));
        Assert.NotNull(Sql.Scalar(c, "SELECT error FROM captures"));
    }

    [Fact]
    public void Ingest_KilledMidFile_DatabaseOpensWithoutItsRowsAndNoRunningRow()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("small.pcap"), 20, IngestTestFiles.FindNodeResponse);
        Assert.Equal(0, Ingest(dir, "small.pcap", "--db", "t.duckdb").ExitCode);
        // Large enough to take many seconds on a loaded machine.
        IngestTestFiles.WriteRawPcap(dir.File("big.pcap"), 1_500_000, i => IngestTestFiles.FindNodeResponse(i & 0xffff));

        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(CliRunner.DllPath);
        foreach (var a in new[] { "ingest", "big.pcap", "--db", "t.duckdb" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        _ = p.StandardOutput.ReadToEndAsync();
        _ = p.StandardError.ReadToEndAsync();
        // Wait until the big file's transaction has written data (the WAL or database grows), then kill -9.
        long start = new FileInfo(dir.File("t.duckdb")).Length;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60) && !p.HasExited)
        {
            Thread.Sleep(200);
            long now = new FileInfo(dir.File("t.duckdb")).Length + (File.Exists(dir.File("t.duckdb.wal")) ? new FileInfo(dir.File("t.duckdb.wal")).Length : 0);
            if (now > start + (4 << 20)) break;
        }
        Assert.False(p.HasExited, "the ingest finished before it could be killed; make big.pcap larger");
        p.Kill(entireProcessTree: true); // SIGKILL
        p.WaitForExit();

        using var c = Open(dir.File("t.duckdb"));
        Assert.Equal(20, Sql.Long(c, "SELECT count(*) FROM messages"));
        Assert.Equal(20 * 9, Sql.Long(c, "SELECT count(*) FROM node_sightings"));
        Assert.Equal(0, Sql.Long(c, "SELECT count(*) FROM captures WHERE status = 'running'"));
        Assert.Equal("failed", Sql.Scalar(c, "SELECT status FROM captures WHERE source LIKE '%big.pcap'"));
        Assert.Equal("complete", Sql.Scalar(c, "SELECT status FROM captures WHERE source LIKE '%small.pcap'"));
    }

    [RootWithUnshareFact]
    public void Ingest_DiskFull_ClearErrorAndDatabaseIntact()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("small.pcap"), 20, IngestTestFiles.FindNodeResponse);
        IngestTestFiles.WriteRawPcap(dir.File("big.pcap"), 200_000, i => IngestTestFiles.FindNodeResponse(i & 0xffff));
        Directory.CreateDirectory(dir.File("full"));
        Directory.CreateDirectory(dir.File("out"));
        string dll = CliRunner.DllPath;
        // A private mount namespace: the 5 MB tmpfs exists only for this shell and its children. The small capture's
        // file takes ~4.2 MB, so the disk fills while the big capture's rows are appended. (With room for all of them
        // but not for both lanes' commits, the capture row cannot be written either: the next open marks it failed as
        // interrupted, without the words "disk full".)
        string script = $"""
            set -u
            mount -t tmpfs -o size=5m tmpfs full || exit 90
            dotnet '{dll}' ingest small.pcap --db full/t.duckdb > out/small.txt 2>&1; echo $? > out/small.rc
            dotnet '{dll}' ingest big.pcap --db full/t.duckdb > out/big.out 2> out/big.err; echo $? > out/big.rc
            cp full/t.duckdb* out/
            """;
        var psi = new ProcessStartInfo("unshare", ["-m", "--propagation", "private", "sh", "-c", script]) { WorkingDirectory = dir.Path, UseShellExecute = false };
        psi.Environment["NO_COLOR"] = "1";
        using (var p = Process.Start(psi)!)
        {
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(3)));
            Assert.True(p.ExitCode != 90, "mounting a tmpfs in a private mount namespace failed");
        }
        Assert.Equal("0", File.ReadAllText(dir.File("out/small.rc")).Trim());
        int rc = int.Parse(File.ReadAllText(dir.File("out/big.rc")).Trim());
        Assert.Equal(ExitCodes.Failure, rc);
        string err = File.ReadAllText(dir.File("out/big.err")).Trim();
        Assert.Single(err.Split('\n'));
        Assert.Contains("no space left", err);

        using var c = Open(dir.File("out/t.duckdb"));
        Assert.Equal(20, Sql.Long(c, "SELECT count(*) FROM messages"));
        Assert.Equal(0, Sql.Long(c, "SELECT count(*) FROM captures WHERE status = 'complete' AND source LIKE '%big.pcap'"));
        // Issue 19 #9: the capture's error said "aborted before the capture was completed".
        Assert.StartsWith("disk full", Sql.String(c, "SELECT error FROM captures WHERE source LIKE '%big.pcap'"));
    }

    private static DuckDBConnection Open(string path)
    {
        var db = PcapDhtDatabase.Open(path); // also applies recovery, as any later pcapdht command does
        return db.Connection;
    }
}

/// <summary>Runs only as root on Linux with unshare(1) (a private mount namespace for a tiny tmpfs).</summary>
public sealed class RootWithUnshareFactAttribute : FactAttribute
{
    public RootWithUnshareFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root" || !File.Exists("/usr/bin/unshare"))
            Skip = "needs root and unshare(1) to mount a small tmpfs in a private mount namespace";
    }
}

public class CaptureFilesTests
{
    [Fact]
    public void Expand_Directory_TakesCapturesByContentOnly()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("sub"));
        IngestTestFiles.WriteRawPcap(dir.File("sub/a.cap"), 3, IngestTestFiles.FindNodeResponse);
        File.WriteAllText(dir.File("README.md"), "not a capture");
        using (var gz = new System.IO.Compression.GZipStream(File.Create(dir.File("expected.tsv.gz")), System.IO.Compression.CompressionLevel.Fastest))
            gz.Write("frame\tts\n"u8);
        using (var gz = new System.IO.Compression.GZipStream(File.Create(dir.File("b.pcap.gz")), System.IO.Compression.CompressionLevel.Fastest))
            gz.Write(File.ReadAllBytes(dir.File("sub/a.cap")));
        var files = PcapDht.Ingest.CaptureFiles.Expand([dir.Path]).Select(Path.GetFileName).ToList();
        Assert.Equal(["b.pcap.gz", "a.cap"], files);
    }

    [Fact]
    public void Expand_Glob_MatchesLastSegment()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("x1.pcap"), 1, IngestTestFiles.FindNodeResponse);
        IngestTestFiles.WriteRawPcap(dir.File("x2.pcap"), 1, IngestTestFiles.FindNodeResponse);
        IngestTestFiles.WriteRawPcap(dir.File("y.pcap"), 1, IngestTestFiles.FindNodeResponse);
        var files = PcapDht.Ingest.CaptureFiles.Expand([Path.Combine(dir.Path, "x*.pcap")]).Select(Path.GetFileName).ToList();
        Assert.Equal(["x1.pcap", "x2.pcap"], files);
    }
}
