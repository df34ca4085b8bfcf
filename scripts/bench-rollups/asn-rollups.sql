-- `report asn --days 30` as SQL over the daily rollups (this `seen`, then asn-report.sql) (pcapdht_store.addr_day, the contract of
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
