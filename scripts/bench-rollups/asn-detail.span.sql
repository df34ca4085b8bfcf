-- The window's end for asn-detail.sql: the newest sighting (µs), as WindowCoverage.Span.
SELECT max(hi) FROM (SELECT max(epoch_us(ts)) AS hi FROM pcapdht_store.node_ips UNION ALL SELECT max(epoch_us(ts)) FROM messages);
