-- The rest of `report asn` after its `seen` relation (Reports.Enriched and the per-ASN query, as one statement),
-- shared by asn-rollups.sql and asn-detail.sql: run-sql.sh appends it to either.
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
