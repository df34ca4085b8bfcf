using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Anonymize;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Export;

/// <summary>
/// What <c>export --anonymize</c> changes, as lookup tables in the export connection's temporary schema
/// that the export's SELECT joins: every address number to its Crypto-PAn mapping
/// (<see cref="AddressAnonymizer"/>, the mapping <c>pcapdht anonymize</c> applies to captures), every
/// malformed payload rewritten by <see cref="KrpcAddressRewriter"/> (as in an anonymized capture), BEP 42
/// compliance of every (address, node id) pair computed on the real address, and with
/// <c>--anonymize-ids</c> every node id to its keyed hash. The tables hold one batch's distinct values only.
/// </summary>
internal sealed class LakeAnonymizer : IDisposable
{
    public const string AddressTable = "pcapdht_anon_addr";
    public const string IdTable = "pcapdht_anon_id";
    public const string Bep42Table = "pcapdht_anon_bep42";
    public const string PayloadTable = "pcapdht_anon_payload";

    /// <summary>Columns that hold a node id (replaced with <c>--anonymize-ids</c>); the population relations name theirs so.</summary>
    public static readonly IReadOnlySet<string> IdColumns = new HashSet<string>(StringComparer.Ordinal) { "node_id", "querier_id", "responder_id" };

    /// <summary>Columns that hold the first 8 bytes of an id as a number, and the id they come from.</summary>
    public static readonly IReadOnlyDictionary<string, string> IdPrefixColumns = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["id_prefix"] = "node_id", ["querier_id_prefix"] = "querier_id", ["responder_id_prefix"] = "responder_id",
    };

    /// <summary>The relations whose rows pair a sender's (or contact's) address with the id it gave: BEP 42 applies.</summary>
    public static readonly IReadOnlyList<(string Relation, string Ip, string Id)> Bep42Pairs =
    [
        ("messages", "src_ip_num", "node_id"), ("node_sightings", "ip_num", "node_id"), ("reply_contacts", "ip_num", "node_id"),
        ("lookup_queries", "querier_ip_num", "querier_id"),
    ];

    private readonly AddressAnonymizer _addresses;
    private readonly byte[] _idKey;
    private readonly bool _hashIds;

    public LakeAnonymizer(AnonymizationKey key, bool hashIds)
    {
        _addresses = new AddressAnonymizer(key);
        _idKey = HMACSHA256.HashData(key.Bytes, "pcapdht node id hash v1"u8);
        _hashIds = hashIds;
    }

    public bool HashIds => _hashIds;

    /// <summary>A public name for a key: 16 hex digits of an HMAC of a fixed text under it (reveals nothing of the key).</summary>
    public static string Fingerprint(AnonymizationKey key) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key.Bytes, "pcapdht lake key fingerprint v1"u8).AsSpan(0, 8));

    /// <summary>
    /// A node id's replacement: HMAC-SHA256 under a key derived from the anonymization key, cut to the id's length
    /// (at most 32 bytes). Equal ids stay equal (distinct counts hold); XOR distances and BEP 42 prefixes are gone.
    /// </summary>
    public byte[] HashId(ReadOnlySpan<byte> id)
    {
        if (id.Length == 0) return [];
        var mac = HMACSHA256.HashData(_idKey, id);
        return mac.AsSpan(0, Math.Min(id.Length, mac.Length)).ToArray();
    }

    /// <summary>
    /// Fills the lookup tables for the rows a batch exports: <paramref name="sources"/> maps each relation to the
    /// parenthesised query of its rows (with its columns).
    /// </summary>
    public void Prepare(DuckDBConnection db, IReadOnlyDictionary<string, (string Rows, List<LakeColumn> Columns)> sources)
    {
        Execute(db, $"""
            CREATE OR REPLACE TEMP TABLE {AddressTable}(real UHUGEINT, anon UHUGEINT);
            CREATE OR REPLACE TEMP TABLE {IdTable}(real BLOB, hashed BLOB, prefix UBIGINT);
            CREATE OR REPLACE TEMP TABLE {Bep42Table}(ip UHUGEINT, id BLOB, valid BOOLEAN);
            CREATE OR REPLACE TEMP TABLE {PayloadTable}(capture_id INTEGER, frame_no BIGINT, payload BLOB);
            """);

        var addressParts = new List<string>();
        var idParts = new List<string>();
        foreach (var (_, (rows, columns)) in sources)
        {
            foreach (var c in columns)
            {
                if (LakeColumns.IsAddressNumber(c)) addressParts.Add($"SELECT {LakeColumns.Quote(c.Name)} AS v FROM {rows} x");
                if (_hashIds && IdColumns.Contains(c.Name) && c.Type == "BLOB") idParts.Add($"SELECT {LakeColumns.Quote(c.Name)} AS v FROM {rows} x");
            }
        }
        if (addressParts.Count > 0)
        {
            using var appender = db.CreateAppender("temp", "main", AddressTable);
            foreach (var value in Distinct(db, addressParts))
            {
                var real = ToUInt128(value);
                appender.CreateRow().AppendValue(real).AppendValue(_addresses.Map(real)).EndRow();
            }
        }
        if (idParts.Count > 0)
        {
            using var appender = db.CreateAppender("temp", "main", IdTable);
            foreach (var value in Distinct(db, idParts))
            {
                byte[] id = Bytes(value);
                byte[] hashed = HashId(id);
                var row = appender.CreateRow().AppendValue(id).AppendValue(hashed);
                if (hashed.Length >= 8) row.AppendValue(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hashed)); else row.AppendNullValue();
                row.EndRow();
            }
        }
        using (var appender = db.CreateAppender("temp", "main", Bep42Table))
        {
            foreach (var (relation, ipColumn, idColumn) in Bep42Pairs)
            {
                if (!sources.TryGetValue(relation, out var s) || !Has(s.Columns, ipColumn) || !Has(s.Columns, idColumn)) continue;
                using var cmd = db.CreateCommand();
                cmd.CommandText = $"SELECT DISTINCT {ipColumn}, {idColumn} FROM {s.Rows} x WHERE {ipColumn} IS NOT NULL AND {idColumn} IS NOT NULL";
                using var r = cmd.ExecuteReader();
                while (r.Read())
                {
                    var ip = new IpAddr(ToUInt128(r.GetValue(0)));
                    byte[] id = Bytes(r.GetValue(1));
                    // BEP 42: exempt (local) addresses have no rule to break: NULL, as the population issue's SQL macro says.
                    var row = appender.CreateRow().AppendValue(ip.Value).AppendValue(id);
                    if (Bep42.IsExempt(ip) && id.Length == 20) row.AppendNullValue(); else row.AppendValue(Bep42.IsValidNodeId(ip, id));
                    row.EndRow();
                }
            }
        }
        // A pair seen in several relations (a sender's id in messages and node_sightings) must join once.
        Execute(db, $"CREATE OR REPLACE TEMP TABLE {Bep42Table} AS SELECT DISTINCT * FROM {Bep42Table}");
        if (sources.TryGetValue("malformed_krpc", out var malformed) && Has(malformed.Columns, "payload"))
        {
            using var appender = db.CreateAppender("temp", "main", PayloadTable);
            using var cmd = db.CreateCommand();
            cmd.CommandText = $"SELECT capture_id, frame_no, payload FROM {malformed.Rows} x WHERE payload IS NOT NULL";
            using var r = cmd.ExecuteReader();
            var counters = new AnonymizeCounters();
            while (r.Read())
            {
                byte[] payload = Bytes(r.GetValue(2));
                KrpcAddressRewriter.Rewrite(payload, _addresses, counters);
                appender.CreateRow().AppendValue(r.GetInt32(0)).AppendValue(r.GetInt64(1)).AppendValue(payload).EndRow();
            }
        }
    }

    private static IEnumerable<object> Distinct(DuckDBConnection db, List<string> parts)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT DISTINCT v FROM ({string.Join(" UNION ALL ", parts)}) WHERE v IS NOT NULL";
        using var r = cmd.ExecuteReader();
        while (r.Read()) yield return r.GetValue(0);
    }

    private static bool Has(List<LakeColumn> columns, string name) => columns.Exists(c => c.Name == name);

    internal static UInt128 ToUInt128(object value) => value switch
    {
        UInt128 u => u,
        BigInteger b => (UInt128)b,
        _ => UInt128.Parse(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!, System.Globalization.CultureInfo.InvariantCulture),
    };

    internal static byte[] Bytes(object value)
    {
        switch (value)
        {
            case byte[] b: return b;
            case Stream s:
                using (var ms = new MemoryStream())
                {
                    s.CopyTo(ms);
                    return ms.ToArray();
                }
            case string text: return Encoding.UTF8.GetBytes(text);
            default: throw new InvalidCastException($"a BLOB column returned {value.GetType().Name}");
        }
    }

    private static void Execute(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose() => _addresses.Dispose();
}
