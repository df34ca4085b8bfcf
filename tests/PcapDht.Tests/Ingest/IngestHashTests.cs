using System.Buffers.Binary;
using System.Security.Cryptography;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

/// <summary>
/// A file's sha256 is computed while it is read unless a stored capture has its size (then first, to
/// skip a duplicate without reading it twice): either way the stored hash is that of the whole file.
/// </summary>
public class IngestHashTests
{
    private static readonly int RecordLength = 16 + 28 + IngestTestFiles.FindNodeResponse(0).Length;

    private static string Sha(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void IngestFile_NewFile_StoresSha256OfWholeFile_ReingestIsSkipped()
    {
        using var dir = new TempDir();
        string a = dir.File("a.pcap");
        IngestTestFiles.WriteRawPcap(a, 200, IngestTestFiles.FindNodeResponse);
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var pipeline = new IngestPipeline(db);

        var first = pipeline.IngestFile(a);
        Assert.Equal(IngestOutcome.Ingested, first.Outcome);
        Assert.Equal(Sha(a), first.Sha256);
        Assert.Equal(Sha(a), Sql.Scalar(db.Connection, "SELECT sha256 FROM captures"));
        Assert.Equal(new FileInfo(a).Length, first.Bytes);

        var again = new IngestPipeline(db).IngestFile(a);
        Assert.Equal(IngestOutcome.Skipped, again.Outcome);
        Assert.Equal(first.CaptureId, again.ExistingCaptureId);
        Assert.Equal(1L, Sql.Long(db.Connection, "SELECT count(*) FROM captures"));
    }

    [Fact]
    public void IngestFile_DamagedEarly_StoresSha256OfWholeFileNotOfWhatWasRead()
    {
        using var dir = new TempDir();
        string a = dir.File("a.pcap");
        // ~6 MB, several reader buffers: the reader stops at frame 101 with most of the file unread.
        IngestTestFiles.WriteRawPcap(a, 20_000, IngestTestFiles.FindNodeResponse);
        var bytes = File.ReadAllBytes(a);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(24 + 100 * RecordLength + 8), 0x7fff_fff0); // incl_len
        File.WriteAllBytes(a, bytes);
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));

        var result = new IngestPipeline(db).IngestFile(a);
        Assert.Equal(IngestOutcome.Partial, result.Outcome);
        Assert.Equal(101, result.Damage!.FrameNumber);
        Assert.Equal(100, result.Stats.KrpcMessages);
        Assert.Equal(Sha(a), result.Sha256);
        Assert.Equal(Sha(a), Sql.Scalar(db.Connection, "SELECT sha256 FROM captures"));

        // The partial capture is found by its hash: ingesting it again is a no-op.
        Assert.Equal(IngestOutcome.Skipped, new IngestPipeline(db).IngestFile(a).Outcome);
    }

    [Fact]
    public void IngestFiles_SameContentTwiceInOneRun_OneIngestedOneSkipped()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), 300, IngestTestFiles.FindNodeResponse);
        File.Copy(dir.File("a.pcap"), dir.File("b.pcap"));
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));

        var results = new IngestPipeline(db, new IngestOptions { MaxParallelFiles = 2 }).IngestFiles([dir.File("a.pcap"), dir.File("b.pcap")]);
        Assert.Equal(1, results.Count(r => r.Outcome == IngestOutcome.Ingested));
        Assert.Equal(1, results.Count(r => r.Outcome == IngestOutcome.Skipped));
        Assert.Equal(1L, Sql.Long(db.Connection, "SELECT count(*) FROM captures"));
        Assert.Equal(300L, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
    }

    [Fact]
    public void IngestFile_SameSizeOtherContent_HashedFirstAndIngested()
    {
        using var dir = new TempDir();
        IngestTestFiles.WriteRawPcap(dir.File("a.pcap"), 300, IngestTestFiles.FindNodeResponse);
        IngestTestFiles.WriteRawPcap(dir.File("b.pcap"), 300, i => IngestTestFiles.FindNodeResponse(i + 7));
        Assert.Equal(new FileInfo(dir.File("a.pcap")).Length, new FileInfo(dir.File("b.pcap")).Length);
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var pipeline = new IngestPipeline(db);

        Assert.Equal(IngestOutcome.Ingested, pipeline.IngestFile(dir.File("a.pcap")).Outcome);
        var b = pipeline.IngestFile(dir.File("b.pcap"));
        Assert.Equal(IngestOutcome.Ingested, b.Outcome);
        Assert.Equal(Sha(dir.File("b.pcap")), b.Sha256);
        Assert.Equal(2L, Sql.Long(db.Connection, "SELECT count(DISTINCT sha256) FROM captures"));
        Assert.Equal(600L, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
    }
}
