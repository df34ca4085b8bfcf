using PcapDht.Enrich;
using PcapDht.Net;

namespace PcapDht.Tests.Enrich;

public class MmdbImportTests
{
    private static IpAddr A(string s) => IpAddr.Parse(s);

    [Fact]
    public void Read_GeoLite2StyleAsnMmdb_MapsIpv4SubtreeToIpv4()
    {
        var bytes = new TestMmdbWriter("GeoLite2-ASN")
            .Add("1.0.0.0/24", new() { ["autonomous_system_number"] = 13335u, ["autonomous_system_organization"] = "CLOUDFLARENET" })
            .Add("95.24.0.0/13", new() { ["autonomous_system_number"] = 8402u, ["autonomous_system_organization"] = "Corbina" })
            .Add("2a02:6b8::/29", new() { ["autonomous_system_number"] = 13238u, ["autonomous_system_organization"] = "YANDEX LLC" })
            .Build(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        using var t = new TempFiles();
        var f = RangeFileReader.Read(t.WriteBytes("GeoLite2-ASN.mmdb", bytes));
        Assert.Equal(RangeFormat.Mmdb, f.Format);
        Assert.Equal(RangeKind.Asn, f.Kind);
        Assert.Equal(0, f.BadRowCount);
        var byAsn = f.Ranges.ToDictionary(r => r.Asn!.Value);
        Assert.Equal(new IpRange(A("1.0.0.0"), A("1.0.0.255"), 13335u, "CLOUDFLARENET", null), byAsn[13335]);
        Assert.Equal(new IpRange(A("95.24.0.0"), A("95.31.255.255"), 8402u, "Corbina", null), byAsn[8402]);
        Assert.Equal(A("2a02:6bf:ffff:ffff:ffff:ffff:ffff:ffff"), byAsn[13238].End);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero), f.SourceDate);
        Assert.Equal(SourceDates.MmdbBuild, f.SourceDateBasis);
        Assert.Contains("GeoLite2", f.Attribution);
    }

    [Fact]
    public void Read_IpInfoFlatKeysGzipped_ReadsAsnStringsAndCountryCodes()
    {
        var bytes = new TestMmdbWriter("ipinfo lite")
            .Add("1.0.0.0/24", new() { ["asn"] = "AS13335", ["as_name"] = "Cloudflare, Inc.", ["country"] = "Australia", ["country_code"] = "AU" })
            .Add("1.0.4.0/22", new() { ["asn"] = "", ["country"] = "Australia", ["country_code"] = "AU" })
            .Build(DateTimeOffset.UnixEpoch.AddDays(20000));
        using var t = new TempFiles();
        string p = t.Path("ipinfo_lite.mmdb.gz");
        using (var fs = File.Create(p))
        using (var gz = new System.IO.Compression.GZipStream(fs, System.IO.Compression.CompressionLevel.Fastest))
            gz.Write(bytes);
        var f = RangeFileReader.Read(p);
        Assert.Equal(RangeKind.Asn, f.Kind);
        Assert.Equal(2, f.Ranges.Count);
        Assert.Equal(new IpRange(A("1.0.0.0"), A("1.0.0.255"), 13335u, "Cloudflare, Inc.", "AU"), f.Ranges.Single(r => r.Asn == 13335));
        Assert.Equal(new IpRange(A("1.0.4.0"), A("1.0.7.255"), null, null, "AU"), f.Ranges.Single(r => r.Asn is null));
        Assert.Contains("IPinfo", f.Attribution);
    }

    [Fact]
    public void Read_NestedCountryMmdb_IsCountryKind()
    {
        var bytes = new TestMmdbWriter("GeoLite2-Country")
            .Add("2.56.0.0/14", new() { ["country"] = new Dictionary<string, object> { ["iso_code"] = "RU", ["geoname_id"] = 2017370u } })
            .Add("2001:200::/23", new() { ["country"] = new Dictionary<string, object> { ["iso_code"] = "JP" } })
            .Build(DateTimeOffset.UnixEpoch);
        using var t = new TempFiles();
        var f = RangeFileReader.Read(t.WriteBytes("country.mmdb", bytes));
        Assert.Equal(RangeKind.Country, f.Kind);
        Assert.Equal(["RU", "JP"], f.Ranges.OrderBy(r => r.Start).Select(r => r.Country));
        Assert.Equal(A("2.59.255.255"), f.Ranges.Single(r => r.Country == "RU").End);
    }

    [Fact]
    public void Read_TruncatedMmdb_IsAFormatError()
    {
        var bytes = new TestMmdbWriter("GeoLite2-ASN")
            .Add("1.0.0.0/24", new() { ["autonomous_system_number"] = 13335u })
            .Build(DateTimeOffset.UnixEpoch);
        using var t = new TempFiles();
        // Cutting the metadata off leaves a binary file without the marker.
        var e = Assert.Throws<RangeFormatException>(() => RangeFileReader.Read(t.WriteBytes("cut.mmdb", bytes[..40])));
        Assert.Contains("cut.mmdb", e.Message);
    }

    /// <summary>
    /// Fuzz finding (ranges target): a record whose data is not a map, or metadata of the wrong shape, threw MaxMind.Db's
    /// DeserializationException out of the import. A record is now one bad row, the metadata a one-line refusal.
    /// </summary>
    [Fact]
    public void Read_RecordWhoseDataIsNotAMap_IsOneBadRow()
    {
        var bytes = new TestMmdbWriter("GeoLite2-ASN")
            .Add("1.0.0.0/24", new() { ["autonomous_system_number"] = 13335u, ["autonomous_system_organization"] = "CLOUDFLARENET" })
            .AddValue("2.0.0.0/24", "just a string")
            .AddValue("3.0.0.0/24", 7u)
            .Add("2a02:6b8::/29", new() { ["autonomous_system_number"] = 13238u })
            .Build(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero));
        using var t = new TempFiles();
        var f = RangeFileReader.Read(t.WriteBytes("odd.mmdb", bytes));
        Assert.Equal([13238u, 13335u], f.Ranges.Select(r => r.Asn!.Value).Order());
        Assert.Equal(2, f.BadRowCount);
        Assert.Contains(f.BadRows, b => b.Reason.EndsWith("data is a string, not a map", StringComparison.Ordinal));
        Assert.Contains(f.BadRows, b => b.Reason.EndsWith("data is a number, not a map", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("mmdb-metadata-array-of-number.bin")]
    public void Read_MetadataOfTheWrongShape_IsAOneLineRefusal(string finding)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fuzz", "Findings", "ranges", finding));
        using var t = new TempFiles();
        var e = Assert.Throws<RangeFormatException>(() => RangeFileReader.Read(t.WriteBytes("bad.mmdb", bytes)));
        Assert.Contains("damaged MMDB file", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    /// <summary>
    /// Fuzz finding (ranges #3): MaxMind.Db's Reader(Stream) copies the content into an anonymous memory map that it
    /// does not release when the metadata then fails to read; 65,000 refused files in one process exhausted the
    /// kernel's map count and the runtime died. Refusals must leave no mapping behind. Before the fix (the metadata
    /// checked by MmdbMetadataCheck before MaxMind.Db sees the file) this test showed 406 maps left after 400 refusals.
    /// </summary>
    [Fact]
    public void Read_RefusedMmdb_LeavesNoMemoryMapBehind()
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fuzz", "Findings", "ranges", "mmdb-metadata-array-of-number.bin"));
        static string[] Maps() => File.ReadAllLines("/proc/self/maps");
        for (int i = 0; i < 5; i++) Refuse();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var before = Maps();
        for (int i = 0; i < 400; i++) Refuse();
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        var after = Maps();
        int grown = after.Length - before.Length;
        Assert.True(grown < 100, $"400 refused MMDB files left {grown} more memory maps: {string.Join(" | ", after.Except(before).Take(6))}");

        void Refuse() => Assert.Throws<RangeFormatException>(() => RangeFileReader.Read(() => new MemoryStream(bytes, writable: false), "bad.mmdb"));
    }
}
