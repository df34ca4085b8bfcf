-- `report asn --days 30` as one SQL statement over the detail rows: the relations and predicates of
-- Reports.Prepare/Enriched (pcapdht_store.node_ips and messages, epoch_us(ts) BETWEEN since AND until), the same
-- output as asn-rollups.sql. scripts/bench-rollups.sh times it next to that one, so the two differ only in
-- what they read.
-- {until_us}: the newest sighting in µs (asn-detail.span.sql), substituted by run-sql.sh, as the report
-- puts its window into the SQL as constants (a scalar subquery there makes DuckDB misjudge the ASOF join's sides).
WITH
seen AS (
    SELECT ip_num AS ip, direct FROM pcapdht_store.node_ips
    WHERE ip_num IS NOT NULL AND epoch_us(ts) BETWEEN {until_us} - 30 * 86400000000 AND {until_us}
    UNION ALL
    SELECT src_ip_num, true FROM messages
    WHERE src_ip_num IS NOT NULL AND epoch_us(ts) BETWEEN {until_us} - 30 * 86400000000 AND {until_us}),
keyed AS (SELECT ip AS k, bool_or(direct) AS direct FROM seen GROUP BY 1),
enriched AS (
    SELECT k.k, k.direct,
           CASE WHEN k.k <= a.end_num THEN a.asn END AS asn,
           CASE WHEN k.k <= a.end_num THEN a.as_name END AS as_name,
           coalesce(CASE WHEN k.k <= c.end_num THEN c.country END, CASE WHEN k.k <= a.end_num THEN a.country END) AS country
    FROM keyed k
    ASOF LEFT JOIN asn_ranges a ON k.k >= a.start_num
    ASOF LEFT JOIN country_ranges c ON k.k >= c.start_num),
totals AS (SELECT count(*) AS total, count(*) FILTER (WHERE asn IS NULL) AS unmatched FROM enriched),
per_asn AS (
    SELECT asn, min(as_name) AS as_name, mode(country) AS country, count(*) AS ips, count(*) FILTER (WHERE direct) AS direct_ips
    FROM enriched WHERE asn IS NOT NULL GROUP BY asn)
SELECT row_number() OVER (ORDER BY ips DESC, asn) AS rank, asn, as_name, country, ips, direct_ips,
       round(100.0 * ips / total, 2) AS share, total AS distinct_addresses, unmatched
FROM per_asn, totals ORDER BY ips DESC, asn;
