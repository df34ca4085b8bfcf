using PcapDht.Analysis;
using PcapDht.Cli;
using PcapDht.Enrich;
using PcapDht.Tests.Analysis;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Enrich;

public class SourceDatesTests
{
    [Fact]
    public void Read_CommittedExcerpt_IsDatedByItsPackageVersionNotByTheClone()
    {
        var f = RangeFileReader.Read(Path.Combine(RepoPaths.AsnSamples, "asn-ipv4.csv"));
        Assert.Equal(new DateTimeOffset(2026, 6, 17, 19, 0, 0, TimeSpan.Zero), f.SourceDate);
        Assert.Equal("@ip-location-db package version 2.3.2026061719", f.SourceDateBasis);
    }

    [Theory]
    [InlineData("GeoLite2-ASN-Blocks-IPv4_20260612.csv", "2026-06-12")]
    [InlineData("ip2asn-v4-2026-05-30.tsv", "2026-05-30")]
    [InlineData("dbip-asn-lite-2026-06.csv.gz", "2026-06-01")]
    [InlineData("asn-ipv4.csv", null)]
    [InlineData("ip2asn-combined.tsv.gz", null)]
    [InlineData("ranges-123456789012.csv", null)]
    public void FromName_FindsTheDatesDownloadsCarry(string name, string? expected)
    {
        var d = SourceDates.FromName(name);
        Assert.Equal(expected, d?.UtcDateTime.ToString("yyyy-MM-dd"));
    }

    [Fact]
    public void Read_DateInFolderName_IsUsed()
    {
        using var t = new TempFiles();
        string dir = Path.Combine(t.Dir, "GeoLite2-ASN-CSV_20260609");
        Directory.CreateDirectory(dir);
        string file = Path.Combine(dir, "GeoLite2-ASN-Blocks-IPv4.csv");
        File.WriteAllText(file, "network,autonomous_system_number,autonomous_system_organization\n1.0.0.0/24,13335,CLOUDFLARENET\n");
        var f = RangeFileReader.Read(file);
        Assert.Equal(new DateTimeOffset(2026, 6, 9, 0, 0, 0, TimeSpan.Zero), f.SourceDate);
        Assert.Equal("file name GeoLite2-ASN-CSV_20260609", f.SourceDateBasis);
    }

    [Fact]
    public void Import_FileWithoutADate_IsShownWithItsImportDateLabelledAsSuch()
    {
        using var t = new TempFiles();
        string db = t.Path("a.duckdb");
        string plain = t.Write("asn-ipv4.csv", KnownDatabase.AsnCsv);
        File.SetLastWriteTimeUtc(plain, new DateTime(2019, 1, 1, 0, 0, 0, DateTimeKind.Utc)); // not a date of the data either
        var import = CliRunner.Run(["asn", "import", plain, "--db", db]);
        Assert.Equal(ExitCodes.Ok, import.ExitCode);
        Assert.Contains("no date in the data", import.Stdout);
        var status = CliRunner.Run(["asn", "status", "--db", db, "--format", "json"]);
        Assert.Equal(ExitCodes.Ok, status.ExitCode);
        using var doc = System.Text.Json.JsonDocument.Parse(status.Stdout);
        var set = doc.RootElement.GetProperty("datasets")[0];
        Assert.Equal(System.Text.Json.JsonValueKind.Null, set.GetProperty("source_date").ValueKind);
        Assert.StartsWith(DateTime.UtcNow.ToString("yyyy-MM-dd"), set.GetProperty("imported_at").GetString());
        // The file's modification time is no date of the data (as a date: "2019" alone matched an import time's microseconds).
        Assert.DoesNotContain("2019-01-01", status.Stdout);

        var info = new DatasetInfo(RangeKind.Asn, "x.csv", "f", 1, 0, 0, null, new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero), "a");
        Assert.Equal("imported 2026-12-07 (no date in the data)", info.DateText);
    }
}
