using PcapDht.Net;
using PcapDht.Synth;

namespace PcapDht.Tests.Synth;

public class AsnRangeTableTests
{
    [Fact]
    public void Parse_IpLocationDbRows_SortsBothFamiliesAndLooksUp()
    {
        var table = AsnRangeTable.Parse(new StringReader("""
            2a00:1000::,2a00:10ff:ffff:ffff:ffff:ffff:ffff:ffff,3320,Deutsche Telekom AG
            1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."
            1.0.4.0,1.0.7.255,38803,Gtelecom, Pty Ltd
            """), "t.csv");
        Assert.Equal(3, table.Ranges.Count);
        Assert.Equal(13335u, table.Ranges[0].Asn);
        Assert.Equal("Cloudflare, Inc.", table.Ranges[0].Org);
        Assert.Equal("Gtelecom, Pty Ltd", table.Ranges[1].Org);
        Assert.Equal(1, table.IndexOf(IpAddr.Parse("1.0.5.9")));
        Assert.Equal(-1, table.IndexOf(IpAddr.Parse("1.0.1.0")));
        Assert.Equal(2, table.IndexOf(IpAddr.Parse("2a00:10ff::1")));
        Assert.Equal(-1, table.IndexOf(IpAddr.Parse("2a00:1100::")));
        Assert.Equal((UInt128)256, table.Ranges[0].Size);
    }

    [Theory]
    [InlineData("1.0.0.0,1.0.0.255", "t.csv:1: expected start_ip,end_ip,asn,as_org")]
    [InlineData("1.0.0.0,1.0.0.x,5,A", "t.csv:1: '1.0.0.0' or '1.0.0.x' is not an IP address")]
    [InlineData("1.0.0.9,1.0.0.1,5,A", "t.csv:1: start 1.0.0.9 is after end 1.0.0.1")]
    [InlineData("1.0.0.0,::1,5,A", "t.csv:1: start and end are of different address families")]
    [InlineData("1.0.0.0,1.0.0.1,five,A", "t.csv:1: 'five' is not an AS number")]
    [InlineData("1.0.0.0,1.0.0.9,5,A\n1.0.0.8,1.0.0.20,6,B", "ranges 1.0.0.0-1.0.0.9 and 1.0.0.8-1.0.0.20 overlap")]
    [InlineData("", "the ASN range file holds no ranges")]
    public void Parse_BadInput_ThrowsOneLineMessage(string text, string message)
    {
        var ex = Assert.Throws<AsnRangeFormatException>(() => AsnRangeTable.Parse(new StringReader(text), "t.csv"));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void BuiltIn_And_Fixture_Load()
    {
        Assert.True(AsnRangeTable.BuiltIn().Ranges.Count > 10);
        var fixture = SynthTestSupport.LoadFixture();
        Assert.Contains(fixture.Ranges, r => !r.IsV4);
        Assert.Contains(fixture.Ranges, r => r.Org == "Fictional Fibre, Ltd.");
    }
}

public class CountryRangeTableTests
{
    [Fact]
    public void Load_CountryRows_LooksUpBothFamilies_AndRejectsBadRows()
    {
        var dir = SynthTestSupport.TempDir();
        try
        {
            string good = Path.Combine(dir, "c.csv"), bad = Path.Combine(dir, "bad.csv");
            File.WriteAllText(good, "1.0.0.0,1.0.0.255,AU\n2a00:1000::,2a00:10ff:ffff:ffff:ffff:ffff:ffff:ffff,DE\n");
            var t = CountryRangeTable.Load(good);
            Assert.Equal("AU", t.Lookup(IpAddr.Parse("1.0.0.9").Value));
            Assert.Equal("DE", t.Lookup(IpAddr.Parse("2a00:1001::1").Value));
            Assert.Null(t.Lookup(IpAddr.Parse("1.0.1.0").Value));
            File.WriteAllText(bad, "1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.1.255,13335,Cloudflare\n");
            var ex = Assert.Throws<AsnRangeFormatException>(() => CountryRangeTable.Load(bad));
            Assert.Equal("bad.csv:2: expected start_ip,end_ip,country_code", ex.Message);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
