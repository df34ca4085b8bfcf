namespace PcapDht.Enrich;

/// <summary>
/// The <c>ip_profiles</c> relation (docs/schema.md): one row per address seen anywhere in the store, the
/// record per-IP data sets publish, enriched like the <c>*_enriched</c> views. Created with them.
/// </summary>
public static class IpProfiles
{
    public const string Relation = "ip_profiles";

    /// <summary>
    /// The view over <paramref name="messages"/> (what an address sent) and <paramref name="contacts"/> (where
    /// others listed it). Aggregating a UNION ALL by address, rather than joining per-source aggregates, lets
    /// a filter on ip_num (report ip ADDRESS) reach both scans.
    /// </summary>
    public static string ViewSql(string messages = "messages", string contacts = "reply_contacts") => $"""
        CREATE OR REPLACE VIEW {Relation} AS
        WITH events AS (
            SELECT src_ip_num AS ip_num, ts, src_port AS port, node_id, 1 AS sent, 0 AS reported,
                CASE WHEN y <> 'e' THEN node_id END AS own_id, client, version, read_only
            FROM {messages}
            UNION ALL
            SELECT ip_num, ts, port, node_id, 0, 1, NULL, NULL, NULL, NULL FROM {contacts}),
        per_ip AS (
            SELECT ip_num, min(ts) AS first_seen, max(ts) AS last_seen,
                count(DISTINCT epoch_us(ts) // 86400000000) AS days_seen,
                sum(sent)::BIGINT AS messages, sum(reported)::BIGINT AS reported_by_others,
                count(DISTINCT port) AS ports, count(DISTINCT node_id) AS node_ids,
                count(DISTINCT own_id) AS sent_ids,
                count(DISTINCT own_id) FILTER (WHERE pcapdht_bep42_valid(ip_num, own_id)) AS bep42_valid_ids,
                count(DISTINCT own_id) FILTER (WHERE NOT pcapdht_bep42_valid(ip_num, own_id)) AS bep42_invalid_ids,
                string_agg(DISTINCT client, ',' ORDER BY client) AS clients,
                string_agg(DISTINCT hex(version), ',' ORDER BY hex(version)) AS versions,
                coalesce(bool_or(read_only), false) AS read_only
            FROM events WHERE ip_num IS NOT NULL GROUP BY ip_num)
        SELECT pcapdht_ip_text(p.ip_num) AS ip, p.ip_num,
            CASE WHEN p.ip_num <= a.end_num THEN a.asn END AS asn,
            CASE WHEN p.ip_num <= a.end_num THEN a.as_name END AS as_name,
            coalesce(CASE WHEN p.ip_num <= c.end_num THEN c.country END, CASE WHEN p.ip_num <= a.end_num THEN a.country END) AS country,
            p.first_seen, p.last_seen, p.days_seen, p.messages, p.reported_by_others, p.ports, p.node_ids, p.sent_ids,
            p.bep42_valid_ids, p.bep42_invalid_ids,
            CASE WHEN pcapdht_bep42_exempt(p.ip_num) THEN 'exempt'
                 WHEN p.sent_ids = 0 THEN NULL
                 WHEN p.bep42_invalid_ids = 0 THEN 'compliant'
                 WHEN p.bep42_valid_ids = 0 THEN 'non-compliant'
                 ELSE 'mixed' END AS bep42,
            p.clients, p.versions, p.read_only
        FROM per_ip p
        ASOF LEFT JOIN asn_ranges a ON p.ip_num >= a.start_num
        ASOF LEFT JOIN country_ranges c ON p.ip_num >= c.start_num
        """;
}
