using System.IO.Compression;
using PcapDht.Capture;

namespace PcapDht.Tests.Capture;

public sealed class CaptureReaderTests
{
    private sealed record Read(long Number, long TimestampNs, int LinkType, int OriginalLength, byte[] Data);

    private static (List<Read> Frames, CaptureReader Reader) ReadAll(byte[] file, string name = "test")
    {
        var reader = CaptureReader.Open(new MemoryStream(file), name);
        var frames = new List<Read>();
        while (reader.TryRead(out var f)) frames.Add(new Read(f.Number, f.TimestampNs, f.LinkType, f.OriginalLength, f.Data.ToArray()));
        return (frames, reader);
    }

    private static byte[] Data(int n, byte seed) => Enumerable.Range(0, n).Select(i => (byte)(seed + i)).ToArray();

    [Theory]
    [InlineData(0xA1B2C3D4u, false, CaptureFormat.Pcap)]
    [InlineData(0xA1B2C3D4u, true, CaptureFormat.Pcap)]
    [InlineData(0xA1B23C4Du, false, CaptureFormat.PcapNanosecond)]
    [InlineData(0xA1B23C4Du, true, CaptureFormat.PcapNanosecond)]
    [InlineData(0xA1B2CD34u, false, CaptureFormat.PcapModified)]
    [InlineData(0xA1B2CD34u, true, CaptureFormat.PcapModified)]
    public void Pcap_EveryMagicAndByteOrder_ReadsFramesWithFullPrecision(uint magic, bool bigEndian, CaptureFormat format)
    {
        bool modified = format == CaptureFormat.PcapModified;
        var b = CaptureBuilder.Pcap(101, bigEndian, magic);
        b.PcapRecord(1_700_000_000, 123_456, Data(60, 1), modified: modified);
        b.PcapRecord(1_700_000_001, 999_999, Data(1, 2), originalLength: 1500, modified: modified);
        b.PcapRecord(4_000_000_000, 0, [], modified: modified); // ts_sec is unsigned: after 2038

        var (frames, reader) = ReadAll(b.ToArray());

        Assert.Equal(format, reader.Format);
        Assert.Equal(bigEndian, reader.IsBigEndian);
        Assert.Null(reader.Damage);
        Assert.Equal(3, frames.Count);
        long unit = format == CaptureFormat.PcapNanosecond ? 1 : 1000;
        Assert.Equal(new Read(1, 1_700_000_000L * 1_000_000_000 + 123_456 * unit, 101, 60, Data(60, 1)), frames[0], ReadComparer);
        Assert.Equal(1_700_000_001L * 1_000_000_000 + 999_999 * unit, frames[1].TimestampNs);
        Assert.Equal(1500, frames[1].OriginalLength);
        Assert.Equal(Data(1, 2), frames[1].Data);
        Assert.Equal(4_000_000_000L * 1_000_000_000, frames[2].TimestampNs);
        Assert.Equal([1L, 2, 3], frames.Select(f => f.Number));
    }

    private static readonly IEqualityComparer<Read> ReadComparer = EqualityComparer<Read>.Create(
        (a, b) => a!.Number == b!.Number && a.TimestampNs == b.TimestampNs && a.LinkType == b.LinkType
            && a.OriginalLength == b.OriginalLength && a.Data.AsSpan().SequenceEqual(b.Data),
        r => r.Number.GetHashCode());

    [Fact]
    public void PcapNg_SectionsInBothByteOrdersAndResolutions_NumbersAndTimesFrames()
    {
        var b = CaptureBuilder.PcapNg()
            .Section(bigEndian: false)
            .Interface(1) // default resolution: µs
            .Interface(229, tsresol: 9) // ns
            .Block(0x0BAD, Data(10, 0)) // unknown block: skipped
            .Enhanced(0, 1_700_000_000_123_456UL, Data(64, 10))
            .Enhanced(1, 1_700_000_000_123_456_789UL, Data(48, 20), originalLength: 100)
            .Block(4, Data(16, 0)) // name resolution block: skipped
            .Section(bigEndian: true)
            .Interface(101, tsresol: 0x80 | 20, tsoffsetSeconds: 1_000_000_000) // 2^-20 s, +1e9 s
            .Interface(228, tsresol: 3, snapLength: 20) // ms
            .Enhanced(1, 1_700_000_000_001UL, Data(40, 30))
            .Enhanced(0, 3UL << 20 | 1UL << 19, Data(41, 40)) // 3.5 s after the offset
            .Obsolete(1, 5, Data(33, 50))
            .Section(bigEndian: false)
            .Interface(113, snapLength: 30)
            .Simple(Data(50, 60)); // cut to the interface's snap length

        var (frames, reader) = ReadAll(b.ToArray());

        Assert.Null(reader.Damage);
        Assert.Equal(CaptureFormat.PcapNg, reader.Format);
        Assert.Equal([1L, 2, 3, 4, 5, 6], frames.Select(f => f.Number));
        Assert.Equal([1, 229, 228, 101, 228, 113], frames.Select(f => f.LinkType));
        Assert.Equal(1_700_000_000_123_456_000L, frames[0].TimestampNs);
        Assert.Equal(1_700_000_000_123_456_789L, frames[1].TimestampNs);
        Assert.Equal(100, frames[1].OriginalLength);
        Assert.Equal(1_700_000_000_001_000_000L, frames[2].TimestampNs);
        Assert.Equal(1_000_000_003_500_000_000L, frames[3].TimestampNs);
        Assert.Equal(5_000_000L, frames[4].TimestampNs);
        Assert.Equal(Data(64, 10), frames[0].Data);
        Assert.Equal(Data(41, 40), frames[3].Data);
        Assert.Equal(Data(33, 50), frames[4].Data);
        Assert.Equal(Data(30, 60), frames[5].Data);
        Assert.Equal(50, frames[5].OriginalLength);
    }

    [Fact]
    public void PcapNg_PacketForUndefinedInterface_IsDamageAfterEarlierFrames()
    {
        var b = CaptureBuilder.PcapNg().Section(false).Interface(101).Enhanced(0, 1, Data(20, 1));
        long offset = b.Length;
        b.Enhanced(1, 2, Data(20, 2));

        var (frames, reader) = ReadAll(b.ToArray());

        Assert.Single(frames);
        Assert.Equal(new CaptureDamage(2, offset, "packet for undefined interface 1"), reader.Damage);
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(8u)]
    [InlineData(13u)]
    [InlineData(0xFFFFFFF0u)]
    [InlineData(0x7FFFFFFCu)]
    public void PcapNg_ImpossibleBlockLength_IsDamageNotHangOrHugeAllocation(uint length)
    {
        var b = CaptureBuilder.PcapNg().Section(false).Interface(101).Enhanced(0, 1, Data(20, 1));
        long offset = b.Length;
        var bad = new byte[16];
        BitConverter.TryWriteBytes(bad, 6u);
        BitConverter.TryWriteBytes(bad.AsSpan(4), length);
        b.Bytes(bad);
        long before = GC.GetAllocatedBytesForCurrentThread();

        var (frames, reader) = ReadAll(b.ToArray());

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20);
        Assert.Single(frames);
        Assert.NotNull(reader.Damage);
        Assert.Equal(2, reader.Damage!.FrameNumber);
        Assert.Equal(offset, reader.Damage.ByteOffset);
        Assert.Contains("length", reader.Damage.Reason);
    }

    [Fact]
    public void Pcap_HugeCapturedLength_IsDamage()
    {
        var b = CaptureBuilder.Pcap(1).PcapRecord(1, 0, Data(30, 1));
        var bad = CaptureBuilder.Pcap(1).PcapRecord(2, 0, Data(30, 2)).ToArray()[24..];
        BitConverter.TryWriteBytes(bad.AsSpan(8), 0x7FFFFFFFu);
        b.Bytes(bad);

        var (frames, reader) = ReadAll(b.ToArray());

        Assert.Single(frames);
        Assert.Equal(2, reader.Damage!.FrameNumber);
        Assert.Equal(24 + 16 + 30, reader.Damage.ByteOffset);
        Assert.Contains("2147483647", reader.Damage.Reason);
    }

    /// <summary>Every prefix that cuts into the last 200 bytes: earlier frames all read, damage points at the cut record.</summary>
    [Theory]
    [InlineData("pcap")]
    [InlineData("pcapng")]
    [InlineData("pcapng-be")]
    public void CutAnywhereInLast200Bytes_DeliversEarlierFramesAndReportsDamage(string kind)
    {
        var (file, recordStarts) = SeveralFrames(kind);
        for (int cut = file.Length - 200; cut < file.Length; cut++)
        {
            var (frames, reader) = ReadAll(file[..cut]);
            int whole = recordStarts.Count(s => s.End <= cut);
            Assert.Equal(whole, frames.Count);
            bool atBoundary = recordStarts.Any(s => s.End == cut);
            if (atBoundary)
            {
                Assert.Null(reader.Damage);
                continue;
            }
            Assert.NotNull(reader.Damage);
            Assert.Equal(whole + 1, reader.Damage!.FrameNumber);
            Assert.Equal(recordStarts.Where(s => s.End > cut).Min(s => s.Start), reader.Damage.ByteOffset);
            Assert.Contains("truncated", reader.Damage.Reason);
        }
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public void CompressedCutInLastBytes_ReportsDamageAndNeverThrows(string compression)
    {
        // Several zstd blocks (128 KiB each) so that a cut leaves earlier blocks readable.
        var (file, starts) = SeveralFrames("pcap", count: 2000);
        var packed = compression == "gzip" ? Gzip(file) : new ZstdSharp.Compressor(3).Wrap(file).ToArray();
        for (int cut = packed.Length - 40; cut < packed.Length; cut++)
        {
            var (frames, reader) = ReadAll(packed[..cut]);
            Assert.True(frames.Count <= starts.Count);
            Assert.True(frames.Count > starts.Count / 2, $"cut {cut}: only {frames.Count} frames");
            // Whatever the decompressor produced before the cut is delivered; the cut itself is never silent.
            Assert.True(reader.Damage != null, $"cut {cut} of {packed.Length}: {frames.Count} frames and no damage");
            Assert.Equal(frames.Count + 1, reader.Damage!.FrameNumber);
        }
    }

    private static (byte[] File, List<(long Start, long End)> Records) SeveralFrames(string kind, int count = 12)
    {
        var records = new List<(long, long)>();
        if (kind == "pcap")
        {
            var b = CaptureBuilder.Pcap(101);
            for (int i = 0; i < count; i++)
            {
                long start = b.Length;
                b.PcapRecord((uint)i, 0, count > 12 ? Net.PacketBuilder.Payload(200, i) : Data(20 + i * 7, (byte)i));
                records.Add((start, b.Length));
            }
            return (b.ToArray(), records);
        }
        var ng = CaptureBuilder.PcapNg().Section(kind == "pcapng-be").Interface(101);
        for (int i = 0; i < 12; i++)
        {
            long start = ng.Length;
            ng.Enhanced(0, (ulong)i, Data(20 + i * 7, (byte)i));
            records.Add((start, ng.Length));
        }
        return (ng.ToArray(), records);
    }

    [Fact]
    public void Compressed_GzipMultiMemberAndZstd_GiveTheSameFramesAsPlain()
    {
        var (file, starts) = SeveralFrames("pcapng");
        var (plain, _) = ReadAll(file);
        // Two gzip members concatenated (as `cat a.gz b.gz` or pigz/bgzip produce): the second half must not be lost.
        int half = file.Length / 2;
        var multi = Gzip(file[..half]).Concat(Gzip(file[half..])).ToArray();
        var zst = new ZstdSharp.Compressor(3).Wrap(file).ToArray();

        foreach (var (bytes, compression) in new[] { (Gzip(file), CaptureCompression.Gzip), (multi, CaptureCompression.Gzip), (zst, CaptureCompression.Zstd) })
        {
            var (frames, reader) = ReadAll(bytes);
            Assert.Equal(compression, reader.Compression);
            Assert.Null(reader.Damage);
            Assert.Equal(starts.Count, frames.Count);
            Assert.Equal(plain, frames, ReadComparer);
            Assert.Equal(bytes.Length, reader.BytesRead);
            Assert.Equal(bytes.Length, reader.Length);
        }
    }

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    [Theory]
    [InlineData("", "empty input")]
    [InlineData("hello, this is text", "not a pcap or pcapng capture (starts with 68656c6c)")]
    [InlineData("ab", "only 2 bytes")]
    public void NotACapture_ThrowsOneLineFormatError(string content, string expected)
    {
        var ex = Assert.Throws<CaptureFormatException>(() => CaptureReader.Open(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(content)), "x.pcap"));
        Assert.StartsWith("x.pcap: ", ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void GzippedText_ThrowsFormatErrorNamingTheCompression()
    {
        var ex = Assert.Throws<CaptureFormatException>(() => CaptureReader.Open(new MemoryStream(Gzip("just some text"u8.ToArray())), "t.gz"));
        Assert.Contains("gzip content", ex.Message);
    }

    [Fact]
    public void MissingFile_ThrowsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => CaptureReader.Open(Path.Combine(Path.GetTempPath(), "no-such-capture-" + Guid.NewGuid() + ".pcap")));
    }

    [Fact]
    public void OpenPath_DetectsByMagicNotExtension_AndReportsLengthAndProgress()
    {
        using var dir = new TempDir();
        var (file, starts) = SeveralFrames("pcap");
        var path = dir.File("looks-like.pcapng.txt");
        File.WriteAllBytes(path, new ZstdSharp.Compressor(1).Wrap(file).ToArray());

        using var reader = CaptureReader.Open(path);
        int n = 0;
        while (reader.TryRead(out _)) n++;

        Assert.Equal(CaptureCompression.Zstd, reader.Compression);
        Assert.Equal(CaptureFormat.Pcap, reader.Format);
        Assert.Equal(starts.Count, n);
        Assert.Equal(new FileInfo(path).Length, reader.Length);
        Assert.Equal(reader.Length, reader.BytesRead);
    }

    [Fact]
    public void FrameLargerThanTheBuffer_IsReadWhole()
    {
        var big = Data(3 * CaptureReader.BufferSize + 17, 9);
        var b = CaptureBuilder.PcapNg().Section(false).Interface(1).Enhanced(0, 1, Data(10, 1)).Enhanced(0, 2, big).Enhanced(0, 3, Data(10, 2));

        var (frames, reader) = ReadAll(b.ToArray());

        Assert.Null(reader.Damage);
        Assert.Equal(3, frames.Count);
        Assert.Equal(big, frames[1].Data);
    }

    [Fact]
    public void ReadLoop_AllocatesNothingPerFrame()
    {
        var b = CaptureBuilder.Pcap(1);
        for (int i = 0; i < 20_000; i++) b.PcapRecord((uint)i, 0, Data(200, (byte)i)); // ~4.3 MB: several buffer refills
        byte[] file = b.ToArray();
        // As in Krpc/AllocationTests: tiered compilation may allocate a few bytes on this thread while it
        // swaps code in; an allocation per frame (10,000 per pass) would show in every pass, so the
        // quietest of several passes (each a fresh reader) must be exactly zero.
        long fewest = long.MaxValue;
        for (int pass = 0; pass < 5 && fewest != 0; pass++)
        {
            using var reader = CaptureReader.Open(new MemoryStream(file), "mem");
            long sum = 0;
            for (int i = 0; i < 10_000; i++) Assert.True(reader.TryRead(out _)); // warm up: tiered JIT settles
            long before = GC.GetAllocatedBytesForCurrentThread();
            while (reader.TryRead(out var f)) sum += f.Data[0];
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(20_000, reader.FramesRead);
            Assert.True(sum > 0);
        }
        Assert.Equal(0, fewest);
    }

    /// <summary>A file (unbuffered FileStream, short reads at the end) and a memory stream agree on frames and damage.</summary>
    [Theory]
    [InlineData("pcap")]
    [InlineData("pcapng")]
    public void FileAndMemoryStream_AgreeOnWholeAndCutFiles_WithFramesAcrossBufferRefills(string kind)
    {
        using var dir = new TempDir();
        // Frames from 1 byte to 1 MB: many straddle the 1 MiB buffer, some force it to grow.
        var b = kind == "pcap" ? CaptureBuilder.Pcap(1) : CaptureBuilder.PcapNg().Section(false).Interface(1);
        var sizes = new[] { 1, 300, 70_000, 600_000, 5, 1_000_000, 250_000, 3_000, 900_000, 17 };
        for (int i = 0; i < 40; i++)
        {
            var data = Net.PacketBuilder.Payload(sizes[i % sizes.Length], i);
            if (kind == "pcap") b.PcapRecord((uint)i, 0, data); else b.Enhanced(0, (ulong)i, data);
        }
        var file = b.ToArray();
        foreach (int cut in new[] { file.Length, file.Length - 1, file.Length - 700_000, file.Length / 2 + 3 })
        {
            var path = dir.File($"cut-{cut}.cap");
            File.WriteAllBytes(path, file[..cut]);
            var (inMemory, memoryReader) = ReadAll(file[..cut]);
            using var fileReader = CaptureReader.Open(path);
            var fromFile = new List<Read>();
            while (fileReader.TryRead(out var f)) fromFile.Add(new Read(f.Number, f.TimestampNs, f.LinkType, f.OriginalLength, f.Data.ToArray()));
            Assert.Equal(inMemory, fromFile, ReadComparer);
            Assert.Equal(memoryReader.Damage, fileReader.Damage);
            Assert.Equal(cut == file.Length, fileReader.Damage == null);
        }
    }

    /// <summary>
    /// Issue 19 #6: the time of a frame is computed without overflow. if_tsresol 2^0 (seconds) with 2^63+5 ticks, or an
    /// if_tsoffset of 2^62 s, used to wrap into 1970 or 1969; a time before 1970 or past 2262 is damage, named with
    /// its frame and offset, and the frames before it are kept.
    /// </summary>
    [Theory]
    [InlineData((byte)0x80, 0L, (1UL << 63) + 5)]
    [InlineData((byte)6, 1L << 62, 5UL)]
    [InlineData((byte)9, 0L, (ulong)long.MaxValue + 1)]
    [InlineData((byte)0, 0L, ulong.MaxValue)]
    [InlineData((byte)6, -1_000L, 5UL)]
    [InlineData((byte)0x80, long.MinValue, 1UL)]
    public void PcapNg_TimestampOutOfRange_IsDamageNeverWrapped(byte tsresol, long offsetSeconds, ulong ticks)
    {
        var b = CaptureBuilder.PcapNg().Section(false).Interface(101)
            .Interface(101, tsresol: tsresol, tsoffsetSeconds: offsetSeconds)
            .Enhanced(0, 1_700_000_000_000_000, Data(20, 1));
        long offset = b.Length;
        b.Enhanced(1, ticks, Data(20, 2)).Enhanced(0, 1_700_000_000_000_001, Data(20, 3));

        var (frames, reader) = ReadAll(b.ToArray());

        var only = Assert.Single(frames);
        Assert.Equal(1_700_000_000_000_000_000, only.TimestampNs);
        Assert.NotNull(reader.Damage);
        Assert.Equal((2L, offset), (reader.Damage!.FrameNumber, reader.Damage.ByteOffset));
        Assert.StartsWith("timestamp out of range", reader.Damage.Reason);
    }

    /// <summary>The edges that are in range stay exact: 2262-04-11T23:47:16.854775807Z and a negative offset back to 1970.</summary>
    [Fact]
    public void PcapNg_TimestampsAtTheEdgesOfTheRange_AreExact()
    {
        var b = CaptureBuilder.PcapNg().Section(false)
            .Interface(101, tsresol: 9)
            .Interface(101, tsresol: 0, tsoffsetSeconds: -1_000)
            .Interface(101, tsresol: 0x80 | 30)
            .Enhanced(0, long.MaxValue, Data(4, 1))
            .Enhanced(1, 1_000, Data(4, 2))
            .Enhanced(2, 3UL << 30, Data(4, 3));

        var (frames, reader) = ReadAll(b.ToArray());

        Assert.Null(reader.Damage);
        Assert.Equal([long.MaxValue, 0L, 3_000_000_000L], frames.Select(f => f.TimestampNs));
    }

    /// <summary>
    /// Issue 19 #1: a pcapng stream of nothing but non-packet blocks never yields a frame, so a check every N frames
    /// never ran and the ingest could not be stopped. The reader checks its token on every read of the input.
    /// </summary>
    [Fact]
    public async Task EndlessNonPacketBlocks_StopWhenCancelled()
    {
        var head = CaptureBuilder.PcapNg().Section(false).Interface(1).ToArray();
        var stream = new EndlessBlocks(head, CaptureBuilder.PcapNg().Block(0x0BAD, []).ToArray());
        using var cts = new CancellationTokenSource();
        using var reader = CaptureReader.Open(stream, "endless");
        reader.Cancellation = cts.Token;
        cts.CancelAfter(TimeSpan.FromMilliseconds(300));

        await AssertReadIsCancelled(reader, TimeSpan.FromSeconds(30));
        Assert.True(stream.Position > 1 << 20, "the test should have read many blocks before it was cancelled");
    }

    /// <summary>A read that finds no frame ends by the reader's cancellation, within <paramref name="limit"/>, without damage.</summary>
    private static async Task AssertReadIsCancelled(CaptureReader reader, TimeSpan limit)
    {
        var read = Task.Run(() => reader.TryRead(out _));
        Assert.Same(read, await Task.WhenAny(read, Task.Delay(limit)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read);
        Assert.Null(reader.Damage);
    }

    /// <summary>
    /// A gzip or zstd bomb of skipped blocks without end: members (frames) of 64 MiB of blocks from 128 KiB or less of
    /// stored bytes each, one after another for ever. Only the cancellation ends the read.
    /// </summary>
    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task EndlessCompressedBombOfNonPacketBlocks_StopsWhenCancelled(string compression)
    {
        var head = CaptureBuilder.PcapNg().Section(false).Interface(1).ToArray();
        var block = CaptureBuilder.PcapNg().Block(0x0BAD, new byte[65_524]).ToArray(); // 64 KiB of zeros per block
        byte[] Compress(bool withHead)
        {
            var raw = new MemoryStream();
            using (Stream z = compression == "gzip"
                ? new GZipStream(raw, CompressionLevel.SmallestSize, leaveOpen: true)
                : new ZstdSharp.CompressionStream(raw, 19, leaveOpen: true))
            {
                if (withHead) z.Write(head);
                for (int i = 0; i < 1 << 10; i++) z.Write(block); // 64 MiB
            }
            return raw.ToArray();
        }
        byte[] first = Compress(withHead: true), next = Compress(withHead: false);
        Assert.True(next.Length <= 128 << 10, $"a member is {next.Length} bytes");
        var stream = new EndlessBlocks(first, next);
        using var cts = new CancellationTokenSource();
        using var reader = CaptureReader.Open(stream, "bomb");
        reader.Cancellation = cts.Token;
        cts.CancelAfter(TimeSpan.FromMilliseconds(500));

        await AssertReadIsCancelled(reader, TimeSpan.FromSeconds(60));
    }

    /// <summary>A corrupt length in a short input is damage without first allocating what it claims.</summary>
    [Fact]
    public void Pcap_ClaimedLengthBeyondTheInput_DoesNotAllocateIt()
    {
        var b = CaptureBuilder.Pcap(101).PcapRecord(1, 0, Data(20, 1));
        var bad = new byte[16];
        BitConverter.TryWriteBytes(bad.AsSpan(8), (uint)CaptureReader.MaxRecordBytes);
        b.Bytes(bad).Bytes(Data(100, 2));
        long before = GC.GetAllocatedBytesForCurrentThread();

        var (frames, reader) = ReadAll(b.ToArray());

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 8 << 20, "the reader allocated what a corrupt length claimed");
        Assert.Single(frames);
        Assert.Contains("truncated record", reader.Damage!.Reason);
    }

    /// <summary>A header followed by the same block forever: what `python3 -c` piped into `pcapdht ingest -` did.</summary>
    private sealed class EndlessBlocks(byte[] head, byte[] block) : Stream
    {
        private long _pos;

        public override int Read(byte[] buffer, int offset, int count)
        {
            for (int i = 0; i < count; i++, _pos++)
                buffer[offset + i] = _pos < head.Length ? head[_pos] : block[(_pos - head.Length) % block.Length];
            return count;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Interlocked.Read(ref _pos); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
