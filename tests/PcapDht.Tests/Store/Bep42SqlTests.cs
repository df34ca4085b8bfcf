using DuckDB.NET.Data;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Store;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Store;

/// <summary>The store's BEP 42 SQL macros agree with the library's reference implementation (Krpc/Bep42.cs).</summary>
public class Bep42SqlTests
{
    [Fact]
    public void Bep42Valid_MatchesTheReference_ForRandomConformingAndOtherIds()
    {
        using var t = new TempFiles();
        using var store = PcapDhtDatabase.Open(t.Path("bep42.duckdb"));
        var db = store.Connection;
        using (var create = db.CreateCommand())
        {
            create.CommandText = "CREATE TABLE pairs(n INTEGER, ip_num UHUGEINT, node_id BLOB)";
            create.ExecuteNonQuery();
        }
        var rng = new Random(42);
        var expected = new Dictionary<int, bool?>();
        using (var appender = db.CreateAppender("pairs"))
        {
            for (int n = 0; n < 4000; n++)
            {
                IpAddr ip = (n % 4) switch
                {
                    0 => IpAddr.FromV4((uint)rng.NextInt64(0x0b000000, 0xdf000000)),
                    1 => new IpAddr(((UInt128)(0x2000UL << 48 | (ulong)rng.NextInt64()) << 64) | (ulong)rng.NextInt64()),
                    2 => IpAddr.Parse(rng.Next(3) switch { 0 => "10.1.2.3", 1 => "192.168.7.9", _ => "fd00::1" }),
                    _ => IpAddr.FromV4((uint)rng.NextInt64(0x01000000, 0xe0000000)),
                };
                var id = new byte[n % 97 == 0 ? 19 : 20];
                rng.NextBytes(id);
                if (n % 2 == 0 && id.Length == 20)
                {
                    // Conforming: 21 CRC bits first, the random byte last.
                    uint crc = Bep42.ExpectedPrefix(ip, id[^1]);
                    id[0] = (byte)(crc >> 24);
                    id[1] = (byte)(crc >> 16);
                    id[2] = (byte)(((crc >> 8) & 0xf8) | (id[2] & 7u));
                }
                expected[n] = Bep42.IsExempt(ip) ? null : Bep42.IsValidNodeId(ip, id);
                appender.CreateRow().AppendValue(n).AppendValue(ip.Value).AppendValue(id).EndRow();
            }
        }
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT n, pcapdht_bep42_valid(ip_num, node_id), pcapdht_bep42_exempt(ip_num) FROM pairs ORDER BY n";
        using var r = cmd.ExecuteReader();
        int valid = 0, rows = 0;
        while (r.Read())
        {
            int n = r.GetInt32(0);
            bool? got = r.IsDBNull(1) ? null : r.GetBoolean(1);
            Assert.True(expected[n] == got, $"pair {n}: expected {expected[n]}, SQL says {got}");
            Assert.Equal(expected[n] is null, r.GetBoolean(2));
            if (got == true) valid++;
            rows++;
        }
        Assert.Equal(4000, rows);
        Assert.InRange(valid, 950, 1000); // the conforming quarter that is not exempt (n % 4 == 0), less the 19-byte ids
    }
}
