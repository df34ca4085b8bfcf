using DuckDB.NET.Data;
using PcapDht.Enrich;
using PcapDht.Net;

namespace PcapDht.Tests.Enrich;

public class RangeStoreTests
{
    private static IpRange R(string start, string end, uint asn) => new(IpAddr.Parse(start), IpAddr.Parse(end), asn, "AS" + asn, null);

    private static long Count(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar());
    }

    [Fact]
    public void Import_SecondAsnImport_ReplacesOnlyTheAsnDataSet()
    {
        using var t = new TempFiles();
        using var db = new DuckDBConnection($"Data Source={t.Path("r.duckdb")}");
        db.Open();
        var a = RangeFileReader.Read(t.Write("a.csv", "1.0.0.0,1.0.0.255,13335,Cloudflare\n1.0.4.0,1.0.7.255,38803,Gtelecom\n"));
        var cc = RangeFileReader.Read(t.Write("cc.csv", "1.0.0.0,1.0.0.255,AU\n"));
        RangeStore.Import(db, [a, cc], DateTimeOffset.UnixEpoch);
        Assert.Equal(2, RangeStore.RangeCount(db, RangeKind.Asn));
        Assert.Equal(1, RangeStore.RangeCount(db, RangeKind.Country));

        var b = RangeFileReader.Read(t.Write("b.tsv", "5.0.0.0\t5.0.0.255\t3320\tDE\tDTAG\n"));
        var summary = RangeStore.Import(db, [b], DateTimeOffset.UnixEpoch.AddDays(1));
        Assert.Equal(1, summary.RangesStored[RangeKind.Asn]);
        Assert.Equal(1, Count(db, "SELECT count(*) FROM asn_ranges WHERE asn = 3320"));
        Assert.Equal(0, Count(db, "SELECT count(*) FROM asn_ranges WHERE asn <> 3320"));
        Assert.Equal(1, RangeStore.RangeCount(db, RangeKind.Country));
        var sets = RangeStore.Datasets(db);
        Assert.Equal(["b.tsv", "cc.csv"], sets.Select(s => s.FileName));
        Assert.Equal(RangeKind.Asn, sets[0].Kind);
        Assert.Contains("PDDL", sets[0].Attribution);
        Assert.Equal(DateTimeOffset.UnixEpoch.AddDays(1), sets[0].ImportedAt);
    }

    [Fact]
    public void Import_StoresIpv4MappedAndIpv6Numbers()
    {
        using var t = new TempFiles();
        using var db = new DuckDBConnection($"Data Source={t.Path("r.duckdb")}");
        db.Open();
        var f = RangeFileReader.Read(t.Write("a.csv", "1.0.0.0,1.0.0.255,13335,Cloudflare\n2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,2500,WIDE\n"));
        RangeStore.Import(db, [f], DateTimeOffset.UnixEpoch);
        using var cmd = db.CreateCommand();
        // ::ffff:1.0.0.0 = 0xffff_0100_0000; 2001:200:: = 0x2001_0200 << 96.
        cmd.CommandText = "SELECT count(*) FROM asn_ranges WHERE (start_num = 281470698520576 AND end_num = 281470698520831) OR start_num = (42540528726795050063891204319802818560::UHUGEINT)";
        Assert.Equal(2L, Convert.ToInt64(cmd.ExecuteScalar()));
    }

    [Fact]
    public void Normalize_DropsDuplicatesAndOverlaps_KeepsNarrowestAtEqualStart()
    {
        var list = new List<IpRange>
        {
            R("1.0.0.0", "1.0.0.255", 1),
            R("1.0.0.0", "1.0.0.127", 2),   // same start, narrower: wins
            R("1.0.0.64", "1.0.1.0", 3),    // overlaps the kept range
            R("1.0.2.0", "1.0.2.255", 4),
            R("1.0.2.0", "1.0.2.255", 4),   // duplicate
            R("2001:db8::", "2001:db8::ffff", 5),
        };
        var kept = RangeStore.Normalize(list, out long dropped);
        Assert.Equal([2u, 4u, 5u], kept.Select(r => r.Asn!.Value));
        Assert.Equal(3, dropped);
    }

    [Fact]
    public void EnsureEnrichedViews_WithoutStoreRelations_CreatesNothingAndDoesNotFail()
    {
        using var t = new TempFiles();
        using var db = new DuckDBConnection($"Data Source={t.Path("r.duckdb")}");
        db.Open();
        Assert.Empty(RangeStore.EnsureEnrichedViews(db));
        Assert.True(RangeStore.RelationExists(db, "asn_ranges"));
        Assert.True(RangeStore.RelationExists(db, "datasets"));
    }
}
