using MaxMind.Db;
using PcapDht.Enrich;

namespace PcapDht.Tests.Enrich;

/// <summary>
/// MmdbMetadataCheck stands between a file and MaxMind.Db's Reader constructor, which leaks a memory map whenever
/// it throws (fuzz finding ranges #3): it must refuse, in one line, every file that constructor refuses, and pass
/// the files it opens.
/// </summary>
public class MmdbMetadataCheckTests
{
    private static byte[] Valid(Action<Dictionary<string, object>>? edit = null) => new TestMmdbWriter("GeoLite2-ASN")
        .Add("1.0.0.0/24", new() { ["autonomous_system_number"] = 13335u })
        .Add("2a02:6b8::/29", new() { ["autonomous_system_number"] = 13238u })
        .Build(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero), edit);

    [Fact]
    public void Problem_WellFormedFile_IsNone()
    {
        var bytes = Valid();
        Assert.Null(MmdbMetadataCheck.Problem(bytes));
        using var reader = new Reader(new MemoryStream(bytes));
        Assert.Equal("GeoLite2-ASN", reader.Metadata.DatabaseType);
    }

    public static TheoryData<string, string> DamagedMetadata => new()
    {
        { "record_size=30", "record_size 30, not 24, 28 or 32" },
        { "ip_version=5", "ip_version 5, not 4 or 6" },
        { "binary_format_major_version=3", "binary format version 3, not 2" },
        { "node_count as uint16", "node_count is a uint16 of 1 bytes, not a uint32" },
        { "node_count=1000000", "a search tree of 1000000 nodes (8000000 bytes) does not fit" },
        { "no database_type", "no database_type" },
        { "no record_size", "record_size missing" },
        { "build_epoch=max", "build_epoch 18446744073709551615 is past the year 9999" },
        { "languages a string", "languages is a string, not an array" },
        { "description of numbers", "a description is a uint16, not a string" },
        { "description repeats", "description repeats a language" },
        { "pointer to a pointer", "a pointer to a pointer" },
        { "extended type 0", "unknown extended type 7" },
        { "string past the end", "metadata runs past the end of the file" },
    };

    [Theory]
    [MemberData(nameof(DamagedMetadata))]
    public void Problem_DamagedMetadata_IsNamedInAOneLineRefusal(string damage, string expected)
    {
        var bytes = Damaged(damage);
        string? problem = MmdbMetadataCheck.Problem(bytes);
        Assert.NotNull(problem);
        Assert.Contains(expected, problem);
        using var t = new TempFiles();
        var e = Assert.Throws<RangeFormatException>(() => RangeFileReader.Read(t.WriteBytes("bad.mmdb", bytes)));
        Assert.Equal($"bad.mmdb: damaged MMDB file ({problem})", e.Message);
    }

    private static byte[] Damaged(string damage) => damage switch
    {
        "record_size=30" => Valid(m => m["record_size"] = (ushort)30),
        "ip_version=5" => Valid(m => m["ip_version"] = (ushort)5),
        "binary_format_major_version=3" => Valid(m => m["binary_format_major_version"] = (ushort)3),
        "node_count as uint16" => Valid(m => m["node_count"] = (ushort)5),
        "node_count=1000000" => Valid(m => m["node_count"] = 1_000_000u),
        "no database_type" => Valid(m => m.Remove("database_type")),
        "no record_size" => Valid(m => m.Remove("record_size")),
        "build_epoch=max" => Valid(m => m["build_epoch"] = ulong.MaxValue),
        "languages a string" => Valid(m => m["languages"] = "en"),
        "description of numbers" => Valid(m => m["description"] = new Dictionary<string, object> { ["en"] = (ushort)1 }),
        // Two entries with one key: the writer's dictionary cannot hold them, so the map is written by hand.
        "description repeats" => Valid(m => m["description"] = new byte[] { 0xE2, 0x42, (byte)'e', (byte)'n', 0x41, (byte)'a', 0x42, (byte)'e', (byte)'n', 0x41, (byte)'b' }),
        "pointer to a pointer" => PointerToPointer(),
        "extended type 0" => Valid(m => m["languages"] = new byte[] { 0x01, 0x00 }),
        "string past the end" => Valid(m => m["database_type"] = new byte[] { 0x5D, 0xF0, (byte)'x' }),
        _ => throw new ArgumentException(damage),
    };

    /// <summary>database_type written as a pointer to a second pointer placed after the map (pointers count from the
    /// metadata's start).</summary>
    private static byte[] PointerToPointer()
    {
        var probe = Valid(m => m["database_type"] = new byte[] { 0x20, 0x00 });
        int metadataStart = probe.AsSpan().LastIndexOf(RangeFileReader.MmdbMetadataMarker) + RangeFileReader.MmdbMetadataMarker.Length;
        int mapLength = probe.Length - metadataStart;
        // The first pointer targets the byte after the map, where a second pointer (to offset 0) follows.
        var bytes = Valid(m => m["database_type"] = new byte[] { 0x20, checked((byte)mapLength) });
        return [.. bytes, 0x20, 0x00];
    }

    /// <summary>
    /// Every truncation of a valid file and three flips of every metadata byte: whatever the check passes, MaxMind.Db
    /// opens without an exception (so it never leaks a map on a file we accept), and a flipped key or type byte is
    /// refused.
    /// </summary>
    [Fact]
    public void Problem_NoneOnlyForFilesMaxMindOpens_OverEveryTruncationAndMetadataFlip()
    {
        var valid = Valid();
        int metadataStart = valid.AsSpan().LastIndexOf(RangeFileReader.MmdbMetadataMarker);
        var variants = new List<byte[]>();
        for (int n = 0; n < valid.Length; n++) variants.Add(valid[..n]);
        for (int i = metadataStart; i < valid.Length; i++)
        {
            foreach (byte flip in new byte[] { 0x01, 0x20, 0xFF })
            {
                var v = (byte[])valid.Clone();
                v[i] ^= flip;
                variants.Add(v);
            }
        }
        int passed = 0, refused = 0;
        foreach (var v in variants)
        {
            if (MmdbMetadataCheck.Problem(v) is { } problem)
            {
                Assert.DoesNotContain('\n', problem);
                refused++;
                continue;
            }
            passed++;
            var e = Record.Exception(() => new Reader(new MemoryStream(v)).Dispose());
            Assert.True(e is null, $"the check passed a file MaxMind.Db refuses: {e?.GetType().Name}: {e?.Message}");
        }
        Assert.True(refused > valid.Length, $"refused {refused} of {variants.Count}");
        Assert.True(passed > 0, "no variant passed (flips inside strings and the build time should)");
    }
}
