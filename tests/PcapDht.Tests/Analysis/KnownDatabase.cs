using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Enrich;
using PcapDht.Net;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// A DuckDB file with the store's user-facing relations (columns as in the brief's contract)
/// and a small, hand-counted set of sightings, so reports can be checked to the unit.
/// Day d means 2026-03-01T12:00:00Z + d days; the newest sighting is on day 29.
/// </summary>
public sealed class KnownDatabase : IDisposable
{
    public static readonly DateTimeOffset Base = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempFiles _temp = new();
    public string Path { get; }
    public DuckDBConnection Db { get; }
    private long _frame;

    public const string AsnCsv =
        "1.80.0.0,1.95.255.255,4134,CHINANET-BACKBONE\n" +
        "2.56.0.0,2.56.255.255,12389,Rostelecom\n" +
        "175.192.0.0,175.223.255.255,4766,Korea Telecom\n" +
        "2a01:540::,2a01:540:ffff:ffff:ffff:ffff:ffff:ffff,12389,Rostelecom\n";

    public const string CountryCsv =
        "1.80.0.0,1.95.255.255,CN\n" +
        "2.56.0.0,2.56.255.255,RU\n" +
        "175.192.0.0,175.223.255.255,KR\n" +
        "2a01:540::,2a01:540:ffff:ffff:ffff:ffff:ffff:ffff,RU\n";

    public KnownDatabase(bool withRanges = true, bool withSightings = true)
    {
        Path = _temp.Path("known.duckdb");
        Db = new DuckDBConnection($"Data Source={Path}");
        Db.Open();
        if (withSightings)
        {
            CreateStoreRelations(Db);
            Node(29, "2.56.0.1", "sender");
            Node(29, "2.56.0.2", "nodes");
            Node(10, "2.56.0.3", "nodes");
            Node(28, "2.56.0.1", "nodes");
            Node(20, "2a01:540::1", "nodes6");
            Node(20, "2a01:540::2", "nodes6");
            Node(20, "2a01:540:0:1::1", "nodes6");
            Node(29, "175.192.0.1", "sender");
            Node(5, "175.192.0.2", "nodes");
            Node(-10, "175.192.0.9", "nodes");
            Node(15, "1.80.0.1", "nodes");
            Node(15, "8.8.8.8", "nodes");
            Message(29, "2.56.0.1", "q", "get_peers", [(byte)'L', (byte)'T', 1, 2], 0x11);
            Message(28, "2.56.0.1", "r", null, [(byte)'L', (byte)'T', 1, 2], 0x11);
            Message(29, "175.192.0.1", "q", "find_node", [(byte)'U', (byte)'T', 0x0d, 0x1e], 0x22);
            Message(20, "175.192.0.50", "r", null, null, 0x33);
            Peer(29, "5.6.7.8");
            Exec("INSERT INTO captures VALUES (1, 'known.pcap', 'file', 'x', 'ok', 100, 90, 4, 1, NULL, NULL, NULL, NULL)");
            Exec($"INSERT INTO malformed_krpc VALUES (1, 99, {Ts(3)}, '9.9.9.9', 6881, '10.0.0.1', 6881, 'truncated', 12, NULL)");
        }
        if (withRanges)
        {
            var asn = RangeFileReader.Read(_temp.Write("asn-ipv4.csv", AsnCsv));
            var cc = RangeFileReader.Read(_temp.Write("asn-country-ipv4.csv", CountryCsv));
            RangeStore.Import(Db, [asn, cc], Base);
        }
    }

    /// <summary>The relations and columns of the store contract (docs/schema.md), as plain tables.</summary>
    public static void CreateStoreRelations(DuckDBConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE captures(capture_id INTEGER, source VARCHAR, kind VARCHAR, sha256 VARCHAR, status VARCHAR,
                frames BIGINT, udp_datagrams BIGINT, krpc_messages BIGINT, malformed_krpc BIGINT,
                first_ts TIMESTAMPTZ, last_ts TIMESTAMPTZ, ingested_at TIMESTAMPTZ, error VARCHAR);
            CREATE TABLE messages(capture_id INTEGER, frame_no BIGINT, ts TIMESTAMPTZ, src_ip VARCHAR, src_ip_num UHUGEINT,
                src_port INTEGER, dst_ip VARCHAR, dst_ip_num UHUGEINT, dst_port INTEGER, y VARCHAR, method VARCHAR,
                tx_id BLOB, node_id BLOB, target BLOB, version BLOB, client VARCHAR, read_only BOOLEAN, token BLOB,
                port INTEGER, implied_port BOOLEAN, error_code INTEGER, error_msg VARCHAR, external_ip VARCHAR,
                nodes_count INTEGER, nodes6_count INTEGER, values_count INTEGER, samples_count INTEGER, rtt_us BIGINT, flags INTEGER);
            CREATE TABLE node_sightings(capture_id INTEGER, frame_no BIGINT, ts TIMESTAMPTZ, ip VARCHAR, ip_num UHUGEINT,
                port INTEGER, node_id BLOB, source VARCHAR, reporter_ip VARCHAR, reporter_port INTEGER);
            CREATE TABLE peer_sightings(capture_id INTEGER, frame_no BIGINT, ts TIMESTAMPTZ, info_hash BLOB, ip VARCHAR,
                ip_num UHUGEINT, port INTEGER, source VARCHAR, reporter_ip VARCHAR);
            CREATE TABLE malformed_krpc(capture_id INTEGER, frame_no BIGINT, ts TIMESTAMPTZ, src_ip VARCHAR, src_port INTEGER,
                dst_ip VARCHAR, dst_port INTEGER, reason VARCHAR, byte_offset INTEGER, payload BLOB);
            """;
        cmd.ExecuteNonQuery();
    }

    public static string Ts(int day) =>
        $"'{Base.AddDays(day).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}+00'::TIMESTAMPTZ";

    public static string Num(string ip) => $"{IpAddr.Parse(ip).Value}::UHUGEINT";

    private static string Blob(byte[]? b) => b is null ? "NULL" : $"from_hex('{Convert.ToHexString(b)}')";

    private static byte[] NodeId(byte seed) => Enumerable.Repeat(seed, 20).ToArray();

    public void Node(int day, string ip, string source) =>
        Exec($"INSERT INTO node_sightings VALUES (1, {++_frame}, {Ts(day)}, '{ip}', {Num(ip)}, 6881, {Blob(NodeId((byte)(ip.GetHashCode() & 0xff)))}, '{source}', '10.0.0.1', 6881)");

    public void Message(int day, string src, string y, string? method, byte[]? version, byte nodeSeed) =>
        Exec($"""
            INSERT INTO messages (capture_id, frame_no, ts, src_ip, src_ip_num, src_port, dst_ip, dst_ip_num, dst_port, y, method, node_id, version)
            VALUES (1, {++_frame}, {Ts(day)}, '{src}', {Num(src)}, 6881, '10.0.0.1', {Num("10.0.0.1")}, 6881, '{y}', {(method is null ? "NULL" : $"'{method}'")}, {Blob(NodeId(nodeSeed))}, {Blob(version)})
            """);

    public void Peer(int day, string ip) =>
        Exec($"INSERT INTO peer_sightings VALUES (1, {++_frame}, {Ts(day)}, {Blob(NodeId(7))}, '{ip}', {Num(ip)}, 51413, 'values', '2.56.0.1')");

    public void Exec(string sql)
    {
        using var cmd = Db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        Db.Dispose();
        _temp.Dispose();
    }
}
