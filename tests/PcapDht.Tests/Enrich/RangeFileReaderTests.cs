using PcapDht.Enrich;
using PcapDht.Net;

namespace PcapDht.Tests.Enrich;

public class RangeFileReaderTests
{
    private static IpAddr A(string s) => IpAddr.Parse(s);

    [Fact]
    public void Read_IpToAsnTsv_SkipsNotRoutedAndKeepsQuotesInNames()
    {
        using var t = new TempFiles();
        var p = t.Write("ip2asn-combined.tsv",
            "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n" +
            "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n" +
            "2.56.0.0\t2.56.3.255\t12389\tRU\tROSTELECOM-AS \"PJSC Rostelecom\"\n" +
            "2001:200::\t2001:200:ffff:ffff:ffff:ffff:ffff:ffff\t2500\tJP\tWIDE-BB WIDE Project\n");
        var f = RangeFileReader.Read(p);
        Assert.Equal(RangeFormat.IpToAsnTsv, f.Format);
        Assert.Equal(RangeKind.Asn, f.Kind);
        Assert.Equal(3, f.Ranges.Count);
        Assert.Equal(1, f.EmptyRows);
        Assert.Equal(0, f.BadRowCount);
        Assert.Equal(new IpRange(A("2.56.0.0"), A("2.56.3.255"), 12389u, "ROSTELECOM-AS \"PJSC Rostelecom\"", "RU"), f.Ranges[1]);
        Assert.Equal(A("2001:200::"), f.Ranges[2].Start);
        Assert.Equal(A("2001:200:ffff:ffff:ffff:ffff:ffff:ffff"), f.Ranges[2].End);
        Assert.False(f.Ranges[2].Start.IsV4);
        Assert.Contains("PDDL", f.Attribution);
    }

    [Fact]
    public void Read_IpToAsnU32Gzip_DecodesNumericV4()
    {
        using var t = new TempFiles();
        var p = t.WriteGzip("ip2asn-v4-u32.tsv.gz",
            "16777216\t16777471\t13335\tUS\tCLOUDFLARENET\n" +
            "16777472\t16778239\t0\tNone\tNot routed\n" +
            "83886080\t83886335\t3320\tDE\tDTAG Internet service provider operations\n");
        var f = RangeFileReader.Read(p);
        Assert.Equal(RangeFormat.IpToAsnU32Tsv, f.Format);
        Assert.Equal(2, f.Ranges.Count);
        Assert.Equal(new IpRange(A("5.0.0.0"), A("5.0.0.255"), 3320u, "DTAG Internet service provider operations", "DE"), f.Ranges[1]);
        Assert.True(f.Ranges[0].Start.IsV4);
    }

    [Fact]
    public void Read_IpInfoLite_HandlesQuotingEmptyAsnSingleAddressAndIpv6()
    {
        using var t = new TempFiles();
        var p = t.Write("ipinfo_lite.csv",
            "network,country,country_code,continent,continent_code,asn,as_name,as_domain\n" +
            "1.0.0.0/24,Australia,AU,Oceania,OC,AS13335,\"Cloudflare, Inc.\",cloudflare.com\n" +
            "1.0.4.0/22,Australia,AU,Oceania,OC,,,\n" +
            "5.1.2.3,Germany,DE,Europe,EU,AS3320,\"Deutsche Telekom AG, \"\"DTAG\"\"\",telekom.de\n" +
            "2a02:6b8::/29,Russia,RU,Europe,EU,AS13238,YANDEX LLC,yandex.ru\n");
        var f = RangeFileReader.Read(p);
        Assert.Equal(RangeFormat.IpInfoLiteCsv, f.Format);
        Assert.Equal(0, f.BadRowCount);
        Assert.Equal(4, f.Ranges.Count);
        Assert.Equal(new IpRange(A("1.0.0.0"), A("1.0.0.255"), 13335u, "Cloudflare, Inc.", "AU"), f.Ranges[0]);
        Assert.Equal(new IpRange(A("1.0.4.0"), A("1.0.7.255"), null, null, "AU"), f.Ranges[1]);
        Assert.Equal(new IpRange(A("5.1.2.3"), A("5.1.2.3"), 3320u, "Deutsche Telekom AG, \"DTAG\"", "DE"), f.Ranges[2]);
        Assert.Equal(A("2a02:6b8::"), f.Ranges[3].Start);
        Assert.Equal(A("2a02:6bf:ffff:ffff:ffff:ffff:ffff:ffff"), f.Ranges[3].End);
        Assert.Contains("CC BY-SA 4.0", f.Attribution);
    }

    [Fact]
    public void Read_IpLocationDbTextAndNumeric_GiveTheSameRanges()
    {
        using var t = new TempFiles();
        var text = RangeFileReader.Read(t.Write("asn-ipv4.csv", "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\n"));
        var num = RangeFileReader.Read(t.Write("asn-ipv4-num.csv", "16777216,16777471,13335,\"Cloudflare, Inc.\"\n16778240,16779263,38803,Gtelecom Pty Ltd\n"));
        Assert.Equal(RangeFormat.IpLocationDbAsnCsv, text.Format);
        Assert.Equal(RangeFormat.IpLocationDbAsnCsv, num.Format);
        Assert.Equal(text.Ranges, num.Ranges);
        Assert.Equal("Cloudflare, Inc.", text.Ranges[0].AsName);

        var v6num = RangeFileReader.Read(t.Write("asn-ipv6-num.csv", "42540528726795050063891204319802818560,42540528727329395276160870415022948351,2500,WIDE Project\n"));
        Assert.Equal(A("2001:200::"), v6num.Ranges[0].Start);
        Assert.Equal(A("2001:200:1b9:ffff:ffff:ffff:ffff:ffff"), v6num.Ranges[0].End);
    }

    [Fact]
    public void Read_IpLocationDbCountry_IsCountryKind()
    {
        using var t = new TempFiles();
        var f = RangeFileReader.Read(t.Write("asn-country-ipv6.csv", "2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,JP\n2001:208::,2001:208:ffff:ffff:ffff:ffff:ffff:ffff,sg\n"));
        Assert.Equal(RangeFormat.IpLocationDbCountryCsv, f.Format);
        Assert.Equal(RangeKind.Country, f.Kind);
        Assert.Equal(["JP", "SG"], f.Ranges.Select(r => r.Country));
        Assert.All(f.Ranges, r => Assert.Null(r.Asn));
    }

    [Fact]
    public void Read_GeoLite2AsnBlocks_ReadsNetworks()
    {
        using var t = new TempFiles();
        var f = RangeFileReader.Read(t.Write("GeoLite2-ASN-Blocks-IPv4.csv",
            "network,autonomous_system_number,autonomous_system_organization\n" +
            "1.0.0.0/24,13335,CLOUDFLARENET\n" +
            "1.0.64.0/18,18144,\"Enecom,Inc.\"\n"));
        Assert.Equal(RangeFormat.GeoLite2AsnCsv, f.Format);
        Assert.Equal(new IpRange(A("1.0.64.0"), A("1.0.127.255"), 18144u, "Enecom,Inc.", null), f.Ranges[1]);
        Assert.Contains("GeoLite2", f.Attribution);
    }

    [Fact]
    public void Read_BadRows_AreCountedWithLineNumbers()
    {
        using var t = new TempFiles();
        var f = RangeFileReader.Read(t.Write("asn-ipv4.csv",
            "1.0.0.0,1.0.0.255,13335,Cloudflare\n" +      // 1 ok
            "1.0.4.0,1.0.7.999,38803,Gtelecom\n" +         // 2 bad end
            "\n" +                                          // 3 empty line
            "1.0.16.0,1.0.16.255,ASX,Arteria\n" +          // 4 bad asn
            "1.0.32.0,1.0.31.0,4134,Chinanet\n" +          // 5 end before start
            "1.0.64.0,2001:db8::,4134,Chinanet\n" +        // 6 mixed families
            "1.0.128.0,1.0.255.255,4134,\"Chinanet\n" +    // 7 unterminated quote
            "1.1.0.0,1.1.0.255,4134,Chinanet\n"));         // 8 ok
        Assert.Equal(2, f.Ranges.Count);
        Assert.Equal(5, f.BadRowCount);
        Assert.Equal([2L, 4, 5, 6, 7], f.BadRows.Select(b => b.Line).Order());
        Assert.Contains(f.BadRows, b => b.Line == 2 && b.Reason.Contains("1.0.7.999"));
        Assert.Contains(f.BadRows, b => b.Line == 4 && b.Reason.Contains("AS number"));
    }

    [Fact]
    public void Read_UnknownFormat_ThrowsOneLineError()
    {
        using var t = new TempFiles();
        var e = Assert.Throws<RangeFormatException>(() => RangeFileReader.Read(t.Write("notes.txt", "hello world\nthis is not a range file\n")));
        Assert.Contains("notes.txt", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Throws<RangeFormatException>(() => RangeFileReader.Read(t.WriteBytes("random.bin", [0, 1, 2, 3, 0, 0, 7, 8])));
        Assert.Throws<RangeFormatException>(() => RangeFileReader.Read(t.Write("empty.csv", "")));
        var g = Assert.Throws<RangeFormatException>(() => RangeFileReader.Read(t.Write("GeoLite2-Country-Blocks-IPv4.csv",
            "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,is_anycast\n1.0.0.0/24,2077456,2077456,,0,0,\n")));
        Assert.Contains("mmdb", g.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Read_CommittedExcerpt_ParsesWithoutBadRows()
    {
        foreach (var name in new[] { "asn-ipv4.csv", "asn-ipv6.csv", "asn-country-ipv4.csv", "asn-country-ipv6.csv" })
        {
            var f = RangeFileReader.Read(Path.Combine(RepoPaths.AsnSamples, name));
            Assert.Equal(0, f.BadRowCount);
            Assert.True(f.Ranges.Count > 100, name);
        }
        var v4 = RangeFileReader.Read(Path.Combine(RepoPaths.AsnSamples, "asn-ipv4.csv"));
        Assert.Contains(v4.Ranges, r => r.Asn == 12389);
        Assert.Contains(v4.Ranges, r => r.Asn == 4766);
        Assert.Contains(v4.Ranges, r => r.Asn == 4134);
    }
}
