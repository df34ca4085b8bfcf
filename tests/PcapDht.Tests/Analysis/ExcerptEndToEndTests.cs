using PcapDht.Analysis;
using PcapDht.Enrich;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>The committed @ip-location-db excerpt, imported for real, against contract-shaped sightings.</summary>
public class ExcerptEndToEndTests
{
    [Fact]
    public void ReportAsn_WithCommittedExcerpt_AttributesRealRanges()
    {
        using var k = new KnownDatabase(withRanges: false, withSightings: true);
        k.Node(29, "2.60.1.7", "sender");                        // PJSC Rostelecom, RU
        k.Node(29, "1.96.1.1", "nodes");                         // Korea Telecom
        k.Node(29, "2400:9380:8000::1", "nodes6");               // Chinanet
        k.Node(29, "2001:558::42", "nodes6");                    // Comcast
        var files = new[] { "asn-ipv4.csv", "asn-ipv6.csv", "asn-country-ipv4.csv", "asn-country-ipv6.csv" }
            .Select(n => RangeFileReader.Read(Path.Combine(RepoPaths.AsnSamples, n))).ToList();
        var summary = RangeStore.Import(k.Db, files, DateTimeOffset.UnixEpoch);
        Assert.Equal(0, summary.OverlapsDropped[RangeKind.Asn]);

        var t = Reports.Asn(k.Db, new ReportOptions { Days = 1 });
        var rows = t.Rows.ToDictionary(r => (long)r[1]!, r => (Name: (string?)r[2], Country: (string?)r[3], Ips: (long)r[4]!));
        // 2.56.0.0/16 of the hand-made set is not Rostelecom's in the real data: only 2.60.1.7 counts.
        Assert.Equal(("PJSC Rostelecom", "RU", 1L), rows[12389]);
        Assert.Equal(("Korea Telecom", "KR", 2L), rows[4766]);   // 1.96.1.1 and 175.192.0.1
        Assert.Equal("Chinanet", rows[4134].Name);
        Assert.Equal("Comcast Cable Communications, LLC", rows[7922].Name);
        Assert.Equal("US", rows[7922].Country);
    }
}
