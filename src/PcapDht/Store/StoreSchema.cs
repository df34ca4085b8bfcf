namespace PcapDht.Store;

/// <summary>
/// The DuckDB schema. Storage tables live in schema <c>pcapdht_store</c> (not <c>pcapdht</c>: DuckDB names the catalog after the file, and the default file is pcapdht.duckdb) and are narrow, numeric and
/// fixed-width because that is what the writer can append fast (see docs/schema.md, "Why the storage
/// looks like this"); the relations users query are the views in <c>main</c>, which turn numbers into
/// text addresses and BLOB ids. The view column lists are the public API: add, never rename.
/// </summary>
public static class StoreSchema
{
    /// <summary>Bumped when storage changes incompatibly; an older file is refused with a clear message.</summary>
    public const int Version = 1;

    internal const string Tables = """
        CREATE SCHEMA IF NOT EXISTS pcapdht_store;
        CREATE TABLE IF NOT EXISTS pcapdht_store.meta (key VARCHAR PRIMARY KEY, value VARCHAR);
        CREATE SEQUENCE IF NOT EXISTS pcapdht_store.capture_ids START 1;
        CREATE TABLE IF NOT EXISTS pcapdht_store.capture (
            capture_id      INTEGER PRIMARY KEY,
            source          VARCHAR NOT NULL,
            kind            VARCHAR NOT NULL,
            sha256          VARCHAR,
            file_size       BIGINT,
            status          VARCHAR NOT NULL,
            frames          BIGINT NOT NULL DEFAULT 0,
            udp_datagrams   BIGINT NOT NULL DEFAULT 0,
            krpc_messages   BIGINT NOT NULL DEFAULT 0,
            queries         BIGINT NOT NULL DEFAULT 0,
            responses       BIGINT NOT NULL DEFAULT 0,
            errors          BIGINT NOT NULL DEFAULT 0,
            malformed_krpc  BIGINT NOT NULL DEFAULT 0,
            not_krpc        BIGINT NOT NULL DEFAULT 0,
            node_sightings  BIGINT NOT NULL DEFAULT 0,
            peer_sightings  BIGINT NOT NULL DEFAULT 0,
            first_ts_ns     BIGINT,
            last_ts_ns      BIGINT,
            started_at      TIMESTAMPTZ NOT NULL,
            ingested_at     TIMESTAMPTZ,
            error           VARCHAR,
            damage_frame    BIGINT,
            damage_offset   BIGINT,
            tool_version    VARCHAR
        );
        -- Live capture (sniff): libpcap's pcap_stats counters and the process that writes the capture, so a
        -- later open can tell a running sniffer (it closes the file between flushes) from one that died.
        ALTER TABLE pcapdht_store.capture ADD COLUMN IF NOT EXISTS pcap_received BIGINT;
        ALTER TABLE pcapdht_store.capture ADD COLUMN IF NOT EXISTS pcap_dropped BIGINT;
        ALTER TABLE pcapdht_store.capture ADD COLUMN IF NOT EXISTS if_dropped BIGINT;
        ALTER TABLE pcapdht_store.capture ADD COLUMN IF NOT EXISTS pid INTEGER;
        ALTER TABLE pcapdht_store.capture ADD COLUMN IF NOT EXISTS host VARCHAR;
        CREATE TABLE IF NOT EXISTS pcapdht_store.msg (
            capture_id      INTEGER NOT NULL,
            frame_no        BIGINT NOT NULL,
            ts              TIMESTAMPTZ NOT NULL,
            ts_ns_frac      USMALLINT NOT NULL,
            src_ip          UHUGEINT NOT NULL,
            src_port        USMALLINT NOT NULL,
            dst_ip          UHUGEINT NOT NULL,
            dst_port        USMALLINT NOT NULL,
            length          USMALLINT NOT NULL,
            y               UTINYINT NOT NULL,
            method          UTINYINT NOT NULL,
            method_name     VARCHAR,
            tx              UBIGINT,
            tx_len          UTINYINT NOT NULL,
            tx_blob         BLOB,
            id_hi           UHUGEINT,
            id_lo           UINTEGER,
            id_blob         BLOB,
            target_hi       UHUGEINT,
            target_lo       UINTEGER,
            target_blob     BLOB,
            info_hash_hi    UHUGEINT,
            info_hash_lo    UINTEGER,
            info_hash_blob  BLOB,
            version         UBIGINT,
            version_len     UTINYINT,
            version_blob    BLOB,
            read_only       BOOLEAN NOT NULL,
            token           UHUGEINT,
            token_len       UTINYINT,
            token_blob      BLOB,
            port            INTEGER,
            implied_port    BOOLEAN,
            error_code      BIGINT,
            error_msg       VARCHAR,
            ext_ip          UHUGEINT,
            ext_port        USMALLINT,
            nodes_count     USMALLINT NOT NULL,
            nodes6_count    USMALLINT NOT NULL,
            values_count    USMALLINT NOT NULL,
            samples_count   USMALLINT NOT NULL,
            want            UTINYINT,
            rtt_us          BIGINT,
            flags           UINTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS pcapdht_store.node (
            capture_id      INTEGER NOT NULL,
            frame_no        BIGINT NOT NULL,
            ts              TIMESTAMPTZ NOT NULL,
            ip              UHUGEINT NOT NULL,
            port            USMALLINT NOT NULL,
            id_hi           UHUGEINT,
            id_lo           UINTEGER,
            source          UTINYINT NOT NULL,
            reporter_ip     UHUGEINT,
            reporter_port   USMALLINT
        );
        CREATE TABLE IF NOT EXISTS pcapdht_store.peer (
            capture_id      INTEGER NOT NULL,
            frame_no        BIGINT NOT NULL,
            ts              TIMESTAMPTZ NOT NULL,
            info_hash_hi    UHUGEINT,
            info_hash_lo    UINTEGER,
            ip              UHUGEINT NOT NULL,
            port            USMALLINT NOT NULL,
            source          UTINYINT NOT NULL,
            reporter_ip     UHUGEINT NOT NULL,
            reporter_port   USMALLINT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS pcapdht_store.malformed (
            capture_id      INTEGER NOT NULL,
            frame_no        BIGINT NOT NULL,
            ts              TIMESTAMPTZ NOT NULL,
            ts_ns_frac      USMALLINT NOT NULL,
            src_ip          UHUGEINT NOT NULL,
            src_port        USMALLINT NOT NULL,
            dst_ip          UHUGEINT NOT NULL,
            dst_port        USMALLINT NOT NULL,
            reason          VARCHAR NOT NULL,
            byte_offset     INTEGER NOT NULL,
            payload         BLOB NOT NULL
        );
        """;

    // Macros and views are recreated on every open so a newer build fixes them in old files.
    internal const string Views = """
        CREATE OR REPLACE MACRO pcapdht_ip6_trim(s) AS
            CASE WHEN s = '::' THEN s ELSE
                (CASE WHEN starts_with(s, '::') THEN ':' ELSE '' END) ||
                s[2:-2] ||
                (CASE WHEN ends_with(s, '::') THEN ':' ELSE '' END) END;
        CREATE OR REPLACE MACRO pcapdht_ip6_compress(s) AS pcapdht_ip6_trim(CASE
            WHEN contains(s, ':0:0:0:0:0:0:0:0:') THEN '::'
            WHEN contains(s, ':0:0:0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:0:0:', '::')
            WHEN contains(s, ':0:0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:0:', '::')
            WHEN contains(s, ':0:0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:0:', '::')
            WHEN contains(s, ':0:0:0:0:') THEN regexp_replace(s, ':0:0:0:0:', '::')
            WHEN contains(s, ':0:0:0:') THEN regexp_replace(s, ':0:0:0:', '::')
            WHEN contains(s, ':0:0:') THEN regexp_replace(s, ':0:0:', '::')
            ELSE s END);
        -- IPv4-mapped (::ffff:0:0/96) shows as a dotted quad; everything else as RFC 5952 text:
        -- lower-case hex, no leading zeros, the first longest run (>= 2) of zero groups as '::'.
        CREATE OR REPLACE MACRO pcapdht_ip_text(n) AS CASE
            WHEN n IS NULL THEN NULL
            WHEN (n >> 32) = 65535::UHUGEINT THEN
                ((n >> 24) & 255::UHUGEINT)::VARCHAR || '.' || ((n >> 16) & 255::UHUGEINT)::VARCHAR || '.' ||
                ((n >> 8) & 255::UHUGEINT)::VARCHAR || '.' || (n & 255::UHUGEINT)::VARCHAR
            ELSE pcapdht_ip6_compress(':' || concat_ws(':',
                lower(hex(((n >> 112) & 65535::UHUGEINT)::USMALLINT)), lower(hex(((n >> 96) & 65535::UHUGEINT)::USMALLINT)),
                lower(hex(((n >> 80) & 65535::UHUGEINT)::USMALLINT)), lower(hex(((n >> 64) & 65535::UHUGEINT)::USMALLINT)),
                lower(hex(((n >> 48) & 65535::UHUGEINT)::USMALLINT)), lower(hex(((n >> 32) & 65535::UHUGEINT)::USMALLINT)),
                lower(hex(((n >> 16) & 65535::UHUGEINT)::USMALLINT)), lower(hex((n & 65535::UHUGEINT)::USMALLINT))) || ':')
            END;
        -- A 20-byte id stored as hi (first 16 bytes, big-endian) and lo (last 4 bytes).
        CREATE OR REPLACE MACRO pcapdht_id20(hi, lo) AS
            CASE WHEN hi IS NULL THEN NULL ELSE unhex(lpad(hex(hi), 32, '0') || lpad(hex(lo), 8, '0')) END;
        -- Up to 8 (or 16) bytes stored big-endian in an integer plus the byte length.
        CREATE OR REPLACE MACRO pcapdht_short_blob(v, len) AS
            CASE WHEN v IS NULL THEN NULL WHEN len = 0 THEN ''::BLOB ELSE unhex(lpad(hex(v), 2 * len, '0')) END;
        CREATE OR REPLACE MACRO pcapdht_ts_ns(ts, frac) AS epoch_us(ts) * 1000 + frac;

        CREATE OR REPLACE VIEW main.captures AS SELECT
            capture_id, source, kind, sha256, status, frames, udp_datagrams, krpc_messages, malformed_krpc,
            make_timestamptz(first_ts_ns // 1000) AS first_ts, make_timestamptz(last_ts_ns // 1000) AS last_ts,
            ingested_at, error, queries, responses, errors, not_krpc, node_sightings, peer_sightings,
            file_size, first_ts_ns, last_ts_ns, started_at, damage_frame, damage_offset, tool_version,
            pcap_received, pcap_dropped, if_dropped, pid, host
            FROM pcapdht_store.capture;

        CREATE OR REPLACE VIEW main.messages AS SELECT
            capture_id, frame_no, ts, pcapdht_ts_ns(ts, ts_ns_frac) AS ts_ns,
            pcapdht_ip_text(src_ip) AS src_ip, src_ip AS src_ip_num, src_port,
            pcapdht_ip_text(dst_ip) AS dst_ip, dst_ip AS dst_ip_num, dst_port,
            chr(y::INTEGER) AS y,
            CASE method WHEN 1 THEN 'ping' WHEN 2 THEN 'find_node' WHEN 3 THEN 'get_peers'
                WHEN 4 THEN 'announce_peer' WHEN 5 THEN 'get' WHEN 6 THEN 'put'
                WHEN 7 THEN 'sample_infohashes' WHEN 255 THEN method_name END AS method,
            coalesce(tx_blob, pcapdht_short_blob(tx, tx_len)) AS tx_id,
            coalesce(id_blob, pcapdht_id20(id_hi, id_lo)) AS node_id,
            coalesce(target_blob, pcapdht_id20(target_hi, target_lo)) AS target,
            coalesce(info_hash_blob, pcapdht_id20(info_hash_hi, info_hash_lo)) AS info_hash,
            coalesce(version_blob, pcapdht_short_blob(version, version_len)) AS version,
            CASE WHEN version_len >= 2 THEN pcapdht_client_code(version >> (8 * (version_len - 2))) END AS client,
            read_only,
            coalesce(token_blob, pcapdht_short_blob(token, token_len)) AS token,
            port, implied_port, error_code, error_msg,
            pcapdht_ip_text(ext_ip) AS external_ip, ext_ip AS external_ip_num, ext_port AS external_port,
            nodes_count, nodes6_count, values_count, samples_count, rtt_us, flags, length, want
            FROM pcapdht_store.msg;

        CREATE OR REPLACE VIEW main.node_sightings AS SELECT
            capture_id, frame_no, ts, pcapdht_ip_text(ip) AS ip, ip AS ip_num, port,
            pcapdht_id20(id_hi, id_lo) AS node_id,
            CASE source WHEN 0 THEN 'sender' WHEN 1 THEN 'nodes' ELSE 'nodes6' END AS source,
            pcapdht_ip_text(reporter_ip) AS reporter_ip, reporter_port, reporter_ip AS reporter_ip_num
            FROM pcapdht_store.node;

        CREATE OR REPLACE VIEW main.peer_sightings AS SELECT
            capture_id, frame_no, ts, pcapdht_id20(info_hash_hi, info_hash_lo) AS info_hash,
            pcapdht_ip_text(ip) AS ip, ip AS ip_num, port,
            CASE source WHEN 0 THEN 'values' ELSE 'announce_peer' END AS source,
            pcapdht_ip_text(reporter_ip) AS reporter_ip, reporter_port, reporter_ip AS reporter_ip_num
            FROM pcapdht_store.peer;

        CREATE OR REPLACE VIEW main.malformed_krpc AS SELECT
            capture_id, frame_no, ts, pcapdht_ts_ns(ts, ts_ns_frac) AS ts_ns,
            pcapdht_ip_text(src_ip) AS src_ip, src_port, pcapdht_ip_text(dst_ip) AS dst_ip, dst_port,
            reason, byte_offset, payload, src_ip AS src_ip_num, dst_ip AS dst_ip_num
            FROM pcapdht_store.malformed;
        """;

    // `client` is the two-letter client code at the start of `v` (e.g. LT libtorrent, UT uTorrent),
    // shown only when both bytes are printable ASCII; naming clients is the analysis stage's job.
    internal const string ClientMacro = """
        CREATE OR REPLACE MACRO pcapdht_client_code(code) AS CASE
            WHEN (code >> 8) BETWEEN 32 AND 126 AND (code & 255::UBIGINT) BETWEEN 32 AND 126
            THEN chr((code >> 8)::INTEGER) || chr((code & 255::UBIGINT)::INTEGER) END;
        """;
}
