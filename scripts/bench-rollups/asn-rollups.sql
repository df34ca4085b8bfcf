-- `report asn --days 30` as one SQL statement over the daily rollups (pcapdht_store.addr_day, the contract of
-- src/PcapDht/Store/RollupSchema.cs): the same window (newest sighting back exactly 30 x 86 400 s, both ends
-- inclusive), the same counting (node sightings and message senders; direct = sent a message), the same ASOF
-- lookup as Reports.Enriched. A row is in the window when it holds a sighting in it: on the window's first day
-- when its last sighting is at or after the start, on its last day when its first is at or before the end
-- (exact for windows spanning two or more calendar days). Kinds: 0 reported, 1 sender, 2 other sender (3 = peer, not counted).
-- scripts/bench-rollups.sh times it until `report` reads the rollups itself.
-- {until_us}: the newest sighting in µs (asn-rollups.span.sql), substituted by run-sql.sh, as the report
-- puts its window into the SQL as constants (a scalar subquery there makes DuckDB misjudge the ASOF join's sides).
WITH
seen AS (
    SELECT r.ip, r.kind IN (1, 2) AS direct FROM pcapdht_store.addr_day r
    WHERE r.kind IN (0, 1, 2) AND r.last_us >= {until_us} - 30 * 86400000000 AND r.first_us <= {until_us}),
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
