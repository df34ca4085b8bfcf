-- `report asn --days 30` as SQL over the detail rows (this `seen`, then asn-report.sql): the relations and predicates of
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
