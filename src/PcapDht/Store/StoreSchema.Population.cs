using System.Globalization;
using System.Text;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Store;

/// <summary>
/// The relations behind the population reports (docs/analysis.md, "How big is the DHT?"): lookups
/// with their answers, the contacts those answers carry, and BEP 42 checks in SQL. Kept in their
/// own file so the storage views above and these change independently.
/// </summary>
public static partial class StoreSchema
{
    /// <summary>The KRPC methods whose answers carry the nodes closest to a target (BEP 5, 44, 51).</summary>
    internal const string LookupMethodCodes = "2, 3, 5, 7"; // find_node, get_peers, get, sample_infohashes

    // A property, not a field: StoreSchema.Views (in the other file) reads it while its own static fields
    // initialize, and the order of field initializers across partial files is not defined.
    internal static string PopulationViews => Bep42Macros + PopulationTemplate.Replace("{{LOOKUP_METHODS}}", LookupMethodCodes);

    /// <summary>The BEP 42 macros alone (a lake's reader defines them over its own relations).</summary>
    internal static string Bep42Macros => Bep42Template
        .Replace("{{BEP42_V4}}", Bep42Parity(v4: true))
        .Replace("{{BEP42_V6}}", Bep42Parity(v4: false));

    private const string Bep42Template = """

        -- BEP 42 in SQL. The first 21 bits of a conforming id are the top 21 bits of CRC32-C over the masked
        -- address with 3 random bits r (the id's last byte & 7). For a fixed input length CRC32-C is affine
        -- over GF(2), so each of those 21 bits is the parity of (input AND a constant mask), XOR a constant:
        -- 21 bit_count()s instead of a table-driven CRC loop. The masks are derived from Bep42.ExpectedPrefix
        -- when the views are built, and a test compares this macro with it on random addresses and ids.
        CREATE OR REPLACE MACRO pcapdht_bep42_exempt(ip_num) AS CASE
            WHEN ip_num BETWEEN 281470681743360 AND 281474976710655 THEN
                (ip_num & 4294967295) >> 24 IN (10, 127) OR (ip_num & 4294967295) >> 20 = 2753
                OR (ip_num & 4294967295) >> 16 IN (49320, 43518)
            ELSE ip_num = 1 OR ip_num >> 121 = 126 OR ip_num >> 118 = 1018 END;
        CREATE OR REPLACE MACRO pcapdht_bep42_word(ip_num, r) AS CASE
            WHEN ip_num BETWEEN 281470681743360 AND 281474976710655
            THEN ((ip_num & 51331071)::UBIGINT) | ((r::UBIGINT & 7) << 29)
            ELSE ((ip_num >> 64)::UBIGINT & 72909780498219007) | ((r::UBIGINT & 7) << 61) END;
        -- The 21-bit id prefix BEP 42 expects for an address and r.
        CREATE OR REPLACE MACRO pcapdht_bep42_prefix(ip_num, r) AS CASE
            WHEN ip_num BETWEEN 281470681743360 AND 281474976710655
            THEN {{BEP42_V4}}
            ELSE {{BEP42_V6}} END;
        -- Numeric form: id_a = the id's first 8 bytes, id_last = its last byte (or any integer ending in it).
        CREATE OR REPLACE MACRO pcapdht_bep42_ok(ip_num, id_a, id_last) AS
            CASE WHEN pcapdht_bep42_exempt(ip_num) THEN NULL
                 ELSE (id_a::UBIGINT >> 43) = pcapdht_bep42_prefix(ip_num, id_last::UBIGINT & 7) END;
        -- True when node_id (20 bytes) conforms to BEP 42 for ip_num; NULL for addresses BEP 42 exempts
        -- (loopback, private, link-local, unique-local); false for ids of another length.
        CREATE OR REPLACE MACRO pcapdht_bep42_valid(ip_num, node_id) AS CASE
            WHEN node_id IS NULL OR ip_num IS NULL THEN NULL
            WHEN pcapdht_bep42_exempt(ip_num) THEN NULL
            WHEN octet_length(node_id) <> 20 THEN false
            ELSE pcapdht_bep42_ok(ip_num, ('0x' || left(hex(node_id), 16))::UBIGINT, ('0x' || right(hex(node_id), 2))::UBIGINT) END;
        """;

    private const string PopulationTemplate = """

        -- Lookups: every find_node, get_peers, get and sample_infohashes query that names a 20-byte target,
        -- with the response matched to it when there is one. The match is the one messages.rtt_us records
        -- (same capture, same transaction id, endpoints swapped): the response's ts_ns minus its rtt_us
        -- lands within the microsecond after its query's ts_ns.
        CREATE OR REPLACE VIEW main.lookup_queries AS
            WITH q AS (
                SELECT capture_id, frame_no, ts, epoch_us(ts) * 1000 + (d.sizes & 65535)::BIGINT AS ts_ns,
                    d.src_hi, d.src_lo, d.dst_hi, d.dst_lo, d.src_port, d.dst_port,
                    coalesce(d.tx, hash(json_extract_string(d.extra, '$.tx'))) AS tx, (d.info >> 16) & 255 AS tx_len,
                    (d.info >> 8) & 255 AS method_code, d.key_a, d.key_b, d.key_lo,
                    d.id_a, d.id_b, d.id_lo, (d.info >> 48) & 1 = 1 AS read_only
                FROM pcapdht_store.msg_wide d
                WHERE d.info & 255 = 113 AND (d.info >> 8) & 255 IN ({{LOOKUP_METHODS}}) AND (d.info >> 49) & 3 <> 0),
            r AS (
                SELECT capture_id, frame_no, ts, epoch_us(ts) * 1000 + (d.sizes & 65535)::BIGINT AS ts_ns, d.rtt_us,
                    d.src_hi, d.src_lo, d.dst_hi, d.dst_lo, d.src_port, d.dst_port,
                    coalesce(d.tx, hash(json_extract_string(d.extra, '$.tx'))) AS tx, (d.info >> 16) & 255 AS tx_len,
                    d.id_a, d.id_b, d.id_lo
                FROM pcapdht_store.msg_wide d
                WHERE d.info & 255 = 114 AND d.rtt_us IS NOT NULL AND (d.info >> 8) & 255 IN ({{LOOKUP_METHODS}}))
            SELECT q.capture_id, q.frame_no, q.ts, q.ts_ns,
                pcapdht_ip_text2(q.src_hi, q.src_lo) AS querier_ip, pcapdht_u128(q.src_hi, q.src_lo) AS querier_ip_num, q.src_port AS querier_port,
                pcapdht_id3(q.id_a, q.id_b, q.id_lo) AS querier_id, q.id_a AS querier_id_prefix, q.read_only,
                pcapdht_ip_text2(q.dst_hi, q.dst_lo) AS node_ip, pcapdht_u128(q.dst_hi, q.dst_lo) AS node_ip_num, q.dst_port AS node_port,
                CASE q.method_code WHEN 2 THEN 'find_node' WHEN 3 THEN 'get_peers' WHEN 5 THEN 'get' ELSE 'sample_infohashes' END AS method,
                (CASE WHEN q.src_hi = 0 AND (q.src_lo >> 32) = 65535 THEN 4 ELSE 6 END)::UTINYINT AS family,
                pcapdht_id3(q.key_a, q.key_b, q.key_lo) AS target, q.key_a AS target_prefix,
                r.frame_no AS response_frame_no, r.ts AS response_ts, r.rtt_us,
                pcapdht_id3(r.id_a, r.id_b, r.id_lo) AS responder_id, r.id_a AS responder_id_prefix
            FROM q LEFT JOIN r ON r.capture_id = q.capture_id AND r.tx = q.tx AND r.tx_len = q.tx_len
                AND r.dst_hi = q.src_hi AND r.dst_lo = q.src_lo AND r.dst_port = q.src_port
                AND r.src_hi = q.dst_hi AND r.src_lo = q.dst_lo AND r.src_port = q.dst_port
                AND q.ts_ns BETWEEN r.ts_ns - r.rtt_us * 1000 - 999 AND r.ts_ns - r.rtt_us * 1000;

        -- Every entry of a `nodes` (BEP 5) or `nodes6` (BEP 32) list, without the join to its message that
        -- node_sightings makes for the reporter columns; id_prefix is the id's first 8 bytes as a number.
        CREATE OR REPLACE VIEW main.reply_contacts AS
            SELECT capture_id, frame_no, ts, family, pcapdht_ip_text2(ip_hi, ip_lo) AS ip, pcapdht_u128(ip_hi, ip_lo) AS ip_num,
                port, pcapdht_id3(id_a, id_b, id_lo) AS node_id, id_a AS id_prefix
            FROM pcapdht_store.contacts;
        """;

    /// <summary>
    /// The SQL expression of the 21-bit BEP 42 prefix of <c>pcapdht_bep42_word(ip_num, r)</c>: for each output
    /// bit, the parity of the input word under a mask, flipped by the constant part of the CRC.
    /// </summary>
    internal static string Bep42Parity(bool v4)
    {
        int inputBits = v4 ? 32 : 64;
        uint baseCrc = Crc(v4, 0);
        var columns = new uint[inputBits];
        for (int i = 0; i < inputBits; i++) columns[i] = Crc(v4, 1UL << i) ^ baseCrc;
        var sb = new StringBuilder("(");
        for (int j = 0; j < 21; j++)
        {
            ulong mask = 0;
            for (int i = 0; i < inputBits; i++)
                if ((columns[i] >> (11 + j) & 1) != 0) mask |= 1UL << i;
            uint flip = baseCrc >> (11 + j) & 1;
            if (j > 0) sb.Append(" | ");
            sb.Append("(((bit_count(pcapdht_bep42_word(ip_num, r) & ").Append(mask.ToString(CultureInfo.InvariantCulture))
              .Append("::UBIGINT) + ").Append(flip.ToString(CultureInfo.InvariantCulture)).Append(") % 2)::UBIGINT << ")
              .Append(j.ToString(CultureInfo.InvariantCulture)).Append(')');
        }
        return sb.Append(')').ToString();
    }

    /// <summary>The CRC32-C BEP 42 computes for the input word (address bits under the mask, r in the top bits).</summary>
    private static uint Crc(bool v4, ulong word)
    {
        if (v4) return Bep42.ExpectedPrefix(IpAddr.FromV4((uint)word & ~(7u << 29)), (byte)(word >> 29));
        var address = new IpAddr((UInt128)(word & ~(7UL << 61)) << 64);
        return Bep42.ExpectedPrefix(address, (byte)(word >> 61));
    }
}
