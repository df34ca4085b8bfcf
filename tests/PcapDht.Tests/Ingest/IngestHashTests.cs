using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using PcapDht.Ingest;
using PcapDht.Store;
using CaptureTestFiles = PcapDht.Tests.Capture.CaptureTestFiles;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Ingest;

/// <summary>
/// A capture is identified by its frames (sha256 over timestamp at µs, link type, lengths and bytes of every
/// frame), not by the file's bytes: the same packets as pcap, nanosecond pcap, pcapng, gzip or zstd are one
/// capture. The hash comes from the decoding pass; only a file of the size of a stored capture is hashed first.
/// </summary>
public class IngestHashTests
{
    private static readonly int RecordLength = 16 + 28 + IngestTestFiles.FindNodeResponse(0).Length;

    private static string Sample(string name) => Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap", name);

    /// <summary>
    /// The canonical frame hash computed here from a classic little-endian pcap's records, independently of
    /// the library's <c>FrameDigest</c>: the definition the docs give, byte for byte.
    /// </summary>
    internal static string FramesSha(string path, int maxFrames = int.MaxValue)
    {
        var b = File.ReadAllBytes(path);
        bool nano = BinaryPrimitives.ReadUInt32LittleEndian(b) == 0xA1B23C4D;
        int link = (int)(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(20)) & 0xFFFF);
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData("pcapdht frames v1\n"u8);
        var head = new byte[20];
        int pos = 24;
        for (int n = 0; n < maxFrames && pos + 16 <= b.Length; n++)
        {
            long sec = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(pos));
            long frac = BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(pos + 4));
            int cap = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(pos + 8));
            int orig = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(pos + 12));
            if (cap < 0 || pos + 16 + cap > b.Length) break;
            BinaryPrimitives.WriteInt64LittleEndian(head, sec * 1_000_000 + (nano ? frac / 1000 : frac));
            BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(8), link);
            BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(12), orig);
            BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(16), cap);
            h.AppendData(head);
            h.AppendData(b, pos + 16, cap);
            pos += 16 + cap;
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }

    [Fact]
    public void IngestFile_NewFile_StoresHashOfItsFrames_ReingestIsSkipped()
    {
        using var dir = new TempDir();
        string a = dir.File("a.pcap");
        IngestTestFiles.WriteRawPcap(a, 200, IngestTestFiles.FindNodeResponse);
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        var pipeline = new IngestPipeline(db);

        var first = pipeline.IngestFile(a);
        Assert.Equal(IngestOutcome.Ingested, first.Outcome);
        Assert.Equal(FramesSha(a), first.Sha256);
        Assert.NotEqual(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(a))), first.Sha256);
        Assert.Equal(FramesSha(a), Sql.Scalar(db.Connection, "SELECT sha256 FROM captures"));
        Assert.Equal(new FileInfo(a).Length, first.Bytes);

        var again = new IngestPipeline(db).IngestFile(a);
        Assert.Equal(IngestOutcome.Skipped, again.Outcome);
        Assert.Equal(first.CaptureId, again.ExistingCaptureId);
        Assert.Equal(1L, Sql.Long(db.Connection, "SELECT count(*) FROM captures"));
    }

    [Fact]
    public void IngestFile_DamagedEarly_StoresHashOfTheFramesStored()
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
        Assert.Equal(FramesSha(a, 100), result.Sha256);
        Assert.Equal(FramesSha(a, 100), Sql.Scalar(db.Connection, "SELECT sha256 FROM captures"));

        // The partial capture is found by its hash: ingesting it again is a no-op.
        Assert.Equal(IngestOutcome.Skipped, new IngestPipeline(db).IngestFile(a).Outcome);
    }

    [Fact]
    public void IngestFile_StoredByAnEarlierBuildWithTheFileHash_SkippedAndForceReplacesIt()
    {
        using var dir = new TempDir();
        string a = dir.File("a.pcap");
        IngestTestFiles.WriteRawPcap(a, 120, IngestTestFiles.FindNodeResponse);
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));
        Assert.Equal(IngestOutcome.Ingested, new IngestPipeline(db).IngestFile(a).Outcome);
        // What builds before content hashes stored: the sha256 of the file's bytes.
        string fileSha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(a)));
        using (var cmd = db.Connection.CreateCommand())
        {
            cmd.CommandText = $"UPDATE pcapdht_store.capture SET sha256 = '{fileSha}'";
            cmd.ExecuteNonQuery();
        }

        var again = new IngestPipeline(db).IngestFile(a);
        Assert.Equal(IngestOutcome.Skipped, again.Outcome);
        Assert.Equal(1, again.ExistingCaptureId);

        var forced = new IngestPipeline(db, new IngestOptions { Force = true }).IngestFile(a);
        Assert.Equal(IngestOutcome.Ingested, forced.Outcome);
        Assert.Equal(1, forced.ExistingCaptureId);
        Assert.Equal(1L, Sql.Long(db.Connection, "SELECT count(*) FROM captures"));
        Assert.Equal(120L, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
        Assert.Equal(FramesSha(a), Sql.Scalar(db.Connection, "SELECT sha256 FROM captures"));
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
        Assert.Equal(FramesSha(dir.File("b.pcap")), b.Sha256);
        Assert.Equal(2L, Sql.Long(db.Connection, "SELECT count(DISTINCT sha256) FROM captures"));
        Assert.Equal(600L, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
    }

    private const string Counters = """
        SELECT frames, udp_datagrams, krpc_messages, queries, responses, errors, malformed_krpc, not_krpc, node_sightings,
               peer_sightings, ip_fragments, reassembled_datagrams, link_types, first_ts_ns / 1000, last_ts_ns / 1000,
               (SELECT count(*) FROM messages), (SELECT count(*) FROM node_sightings), (SELECT count(*) FROM peer_sightings)
        FROM captures WHERE status = 'complete' ORDER BY capture_id
        """;

    /// <summary>The real recording as pcap and made in the test as gzip, zstd, pcapng and nanosecond pcap (editcap).</summary>
    private static List<string> Containers(TempDir dir)
    {
        string plain = dir.File("x.pcap");
        File.Copy(Sample("dht-loopback.pcap"), plain);
        var bytes = File.ReadAllBytes(plain);
        using (var o = File.Create(dir.File("x.pcap.gz")))
        using (var z = new GZipStream(o, CompressionLevel.Optimal)) z.Write(bytes);
        File.WriteAllBytes(dir.File("x.pcap.zst"), new ZstdSharp.Compressor(3).Wrap(bytes).ToArray());
        CaptureTestFiles.Run("editcap", "-F", "pcapng", plain, dir.File("x.pcapng"));
        CaptureTestFiles.Run("editcap", "-F", "nsecpcap", plain, dir.File("x-ns.pcap"));
        using (var o = File.Create(dir.File("x.pcapng.gz")))
        using (var z = new GZipStream(o, CompressionLevel.Fastest)) z.Write(File.ReadAllBytes(dir.File("x.pcapng")));
        return [plain, dir.File("x.pcap.gz"), dir.File("x.pcap.zst"), dir.File("x.pcapng"), dir.File("x-ns.pcap"), dir.File("x.pcapng.gz")];
    }

    [Fact]
    public void IngestFiles_SameFramesInEveryContainer_OneCaptureSameCounts()
    {
        using var dir = new TempDir();
        var files = Containers(dir);
        // A changed capture (every timestamp one second later) is a new capture.
        CaptureTestFiles.Run("editcap", "-t", "1", files[0], dir.File("shifted.pcap"));

        object?[] alone;
        using (var one = PcapDhtDatabase.Open(dir.File("one.duckdb")))
        {
            Assert.Equal(IngestOutcome.Ingested, new IngestPipeline(one).IngestFile(files[0]).Outcome);
            alone = Sql.Rows(one.Connection, Counters).Single();
        }

        using var db = PcapDhtDatabase.Open(dir.File("all.duckdb"));
        // Two workers: copies read at the same time must still be stored once.
        var results = new IngestPipeline(db, new IngestOptions { MaxParallelFiles = 2 }).IngestFiles([.. files, dir.File("shifted.pcap")]);
        Assert.Equal(2, results.Count(r => r.Outcome == IngestOutcome.Ingested));
        Assert.Equal(files.Count - 1, results.Count(r => r.Outcome == IngestOutcome.Skipped));
        Assert.Contains(results, r => r.Outcome == IngestOutcome.Ingested && r.Path.EndsWith("shifted.pcap", StringComparison.Ordinal));
        var hashes = results.Where(r => r.Path != dir.File("shifted.pcap")).Select(r => r.Sha256).Distinct().ToList();
        Assert.Equal([FramesSha(files[0])], hashes);
        Assert.All(results.Where(r => r.Outcome == IngestOutcome.Skipped), r => Assert.NotNull(r.ExistingCaptureId));
        Assert.Equal(2L, Sql.Long(db.Connection, "SELECT count(*) FROM captures"));
        Assert.Equal(0L, Sql.Long(db.Connection, "SELECT count(*) FROM captures WHERE status <> 'complete'"));
        long messages = (long)alone[2]!;
        Assert.Equal(2 * messages, Sql.Long(db.Connection, "SELECT count(*) FROM messages"));
        Assert.Equal(messages, Sql.Long(db.Connection, "SELECT count(*) FROM messages m JOIN captures c USING (capture_id) WHERE c.source NOT LIKE '%shifted.pcap'"));

        // Alone again, each container after the plain file (each found only after reading: the sizes differ).
        foreach (var f in files.Skip(1))
        {
            using var pair = PcapDhtDatabase.Open(dir.File($"pair-{Path.GetFileName(f)}.duckdb"));
            Assert.Equal(IngestOutcome.Ingested, new IngestPipeline(pair).IngestFile(files[0]).Outcome);
            var second = new IngestPipeline(pair).IngestFile(f);
            Assert.Equal(IngestOutcome.Skipped, second.Outcome);
            Assert.Equal(1, second.ExistingCaptureId);
            Assert.Equal(alone, Sql.Rows(pair.Connection, Counters).Single());
            Assert.Equal(1L, Sql.Long(pair.Connection, "SELECT count(*) FROM captures"));
        }
    }

    [Fact]
    public void IngestFile_OneFrameChanged_IsANewCapture()
    {
        using var dir = new TempDir();
        string a = dir.File("a.pcap"), b = dir.File("b.pcap");
        File.Copy(Sample("dht-loopback.pcap"), a);
        var bytes = File.ReadAllBytes(a);
        bytes[^1] ^= 0x01; // the last byte of the last frame: same size, other content
        File.WriteAllBytes(b, bytes);
        using var db = PcapDhtDatabase.Open(dir.File("t.duckdb"));

        var results = new IngestPipeline(db).IngestFiles([a, b]);
        Assert.All(results, r => Assert.Equal(IngestOutcome.Ingested, r.Outcome));
        Assert.NotEqual(results[0].Sha256, results[1].Sha256);
        Assert.Equal(2L, Sql.Long(db.Connection, "SELECT count(*) FROM captures"));
    }
}
