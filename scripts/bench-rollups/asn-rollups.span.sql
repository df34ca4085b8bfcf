-- The window's end for asn-rollups.sql: the newest sighting (µs), as WindowCoverage.Span.
SELECT max(last_us) FROM pcapdht_store.addr_day WHERE kind IN (0, 1, 2);
