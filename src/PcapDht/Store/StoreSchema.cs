namespace PcapDht.Store;

/// <summary>
/// The DuckDB schema. Storage tables live in schema <c>pcapdht_store</c> (not <c>pcapdht</c>: DuckDB names the catalog after the file, and the default file is pcapdht.duckdb) and are narrow, numeric and
/// fixed-width because that is what the writer can append fast (see docs/schema.md, "Why the storage
/// looks like this"); the relations users query are the views in <c>main</c>, which turn numbers into
/// text addresses and BLOB ids. The view column lists are the public API: add, never rename.
/// </summary>
public static partial class StoreSchema
{
    /// <summary>
    /// Bumped when storage changes: a file of <see cref="UpgradableFrom"/> is upgraded on open (3 added the daily
    /// rollups, filled from the detail rows; 4 moved the node lists' contacts into node_dim; 5 the messages' endpoints into
    /// endpoint_dim), an older or newer one is refused with a clear message.
    /// </summary>
    public const int Version = 5;

    /// <summary>The oldest schema an open upgrades to <see cref="Version"/> (additive: new tables filled from the stored rows).</summary>
    public const int UpgradableFrom = 2;

    /// <summary>The storage tables that hold a capture's detail rows (keyed by capture_id).</summary>
    internal static readonly string[] DataTables = [.. Pipeline.StoreColumns.All.Select(t => t.Table)];

    /// <summary>Every table with rows of a capture: the detail rows and the daily rollups (deleted together).</summary>
    internal static readonly string[] CaptureTables = [.. DataTables, .. RollupSchema.Tables];

    internal static readonly string Tables = CaptureTable + CaptureCounterColumns()
        + string.Concat(Pipeline.StoreColumns.All.Select(t => t.CreateTableSql())) + RollupSchema.CreateTables;

    /// <summary>
    /// Per capture, every network-level counter (<see cref="Pipeline.NetCounterColumns"/>), the frames pcapdht
    /// could not look into and the link types seen, so a capture of an unsupported link type says why it has
    /// no messages. Added to older files of this schema version on open (the values of captures ingested
    /// before are 0 / NULL).
    /// </summary>
    private static string CaptureCounterColumns()
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("ALTER TABLE pcapdht_store.capture ADD COLUMN IF NOT EXISTS unsupported_frames BIGINT DEFAULT 0;\n");
        sb.Append("ALTER TABLE pcapdht_store.capture ADD COLUMN IF NOT EXISTS link_types VARCHAR;\n");
        foreach (var (column, _) in Pipeline.NetCounterColumns.All)
            sb.Append($"ALTER TABLE pcapdht_store.capture ADD COLUMN IF NOT EXISTS {column} BIGINT DEFAULT 0;\n");
        return sb.ToString();
    }

    private const string CaptureTable = """
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
        """;

    /// <summary>
    /// An INSERT of a dimension table (node_dim, endpoint_dim) from the rows <paramref name="source"/> selects (capture_id,
    /// frame_no, ts, ip_hi, ip_lo, port, id_a, id_b, id_lo): one row per distinct (address, port, id) of a capture, with its
    /// first frame and time, keyed in order of first sighting (ties within a frame by value, where the encoder goes by position).
    /// </summary>
    private static string NumberedDimension(string table, string source) => $"""
        INSERT INTO pcapdht_store.{table}
        SELECT capture_id, frame_no, ts, struct_pack(k := (row_number() OVER (ORDER BY frame_no, ip_hi, ip_lo, port, id_a, id_b, id_lo) - 1)::UINTEGER,
            ip_hi := ip_hi, ip_lo := ip_lo, port := port, id_a := id_a, id_b := id_b, id_lo := id_lo)
        FROM (SELECT capture_id, min(frame_no) AS frame_no, min(ts) AS ts, ip_hi, ip_lo, port, id_a, id_b, id_lo FROM ({source})
            GROUP BY capture_id, ip_hi, ip_lo, port, id_a, id_b, id_lo);

        """;

    /// <summary>
    /// The upgrade from schema 3 for one capture: its distinct contacts of node_v3/node6_v3 (the old node tables, which
    /// held each contact's address, port and id on every row) become node_dim rows, numbered in order of first sighting,
    /// and each old row becomes a node/node6 row with its contact's key, in frame order.
    /// </summary>
    internal static string ContactsFromV3(int captureId)
    {
        string id = captureId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        const string v4 = "0::UBIGINT AS ip_hi, 281470681743360::UBIGINT | (n.ep >> 16) AS ip_lo, (n.ep & 65535)::USMALLINT AS port";
        const string same = "d.n.id_a = o.id_a AND d.n.id_b = o.id_b AND d.n.id_lo = o.id_lo AND d.n.ip_hi = o.ip_hi AND d.n.ip_lo = o.ip_lo AND d.n.port = o.port";
        return NumberedDimension("node_dim", $"""
            SELECT capture_id, frame_no, ts, {v4}, n.id_a AS id_a, n.id_b AS id_b, n.id_lo AS id_lo FROM pcapdht_store.node_v3 WHERE capture_id = {id}
            UNION ALL SELECT capture_id, frame_no, ts, n.ip_hi, n.ip_lo, n.port, n.id_a, n.id_b, n.id_lo FROM pcapdht_store.node6_v3 WHERE capture_id = {id}
            """) + $"""
            INSERT INTO pcapdht_store.node
            SELECT o.capture_id, o.frame_no, o.ts, struct_pack(k := d.n.k)
            FROM (SELECT capture_id, frame_no, ts, {v4}, n.id_a AS id_a, n.id_b AS id_b, n.id_lo AS id_lo FROM pcapdht_store.node_v3 WHERE capture_id = {id}) o
            JOIN pcapdht_store.node_dim d ON d.capture_id = o.capture_id AND {same} ORDER BY o.frame_no;
            INSERT INTO pcapdht_store.node6
            SELECT o.capture_id, o.frame_no, o.ts, struct_pack(k := d.n.k)
            FROM (SELECT capture_id, frame_no, ts, n.ip_hi AS ip_hi, n.ip_lo AS ip_lo, n.port AS port, n.id_a AS id_a, n.id_b AS id_b, n.id_lo AS id_lo
                FROM pcapdht_store.node6_v3 WHERE capture_id = {id}) o
            JOIN pcapdht_store.node_dim d ON d.capture_id = o.capture_id AND {same} ORDER BY o.frame_no;

            """;
    }

    /// <summary>
    /// The upgrade from schema 4 for one capture: the distinct endpoints of msg_v4 (the old msg, which held both endpoints'
    /// addresses and ports and the sender's id on every row) become endpoint_dim rows, numbered in order of first message:
    /// each sender as address, port and id (an id that is not 20 bytes stays in extra: no id), each destination as address
    /// and port. Each old row becomes a msg row with the two keys, in frame order. The two joins name no capture_id column:
    /// equal capture_ids on both would let the optimizer join the senders to the destinations first (36 500 × 36 500 rows
    /// for the 2M-packet capture: 321 s and 20 GB).
    /// </summary>
    internal static string EndpointsFromV4(int captureId)
    {
        string id = captureId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        const string idLo = "CASE WHEN o.d.id_a IS NOT NULL THEN (o.d.lo >> 32)::UINTEGER END";
        return NumberedDimension("endpoint_dim", $"""
            SELECT o.capture_id, o.frame_no, o.ts, o.d.src_hi AS ip_hi, o.d.src_lo AS ip_lo, (o.d.ports >> 48)::USMALLINT AS port,
                o.d.id_a AS id_a, o.d.id_b AS id_b, {idLo} AS id_lo FROM pcapdht_store.msg_v4 o WHERE o.capture_id = {id}
            UNION ALL SELECT o.capture_id, o.frame_no, o.ts, o.d.dst_hi, o.d.dst_lo, ((o.d.ports >> 32) & 65535)::USMALLINT,
                NULL::UBIGINT, NULL::UBIGINT, NULL::UINTEGER FROM pcapdht_store.msg_v4 o WHERE o.capture_id = {id}
            """) + $"""
            INSERT INTO pcapdht_store.msg
            SELECT o.capture_id, o.frame_no, o.ts, struct_pack(src_k := s.e.k, dst_k := t.e.k, ports := (o.d.ports & 4294967295)::UINTEGER,
                info := o.d.info, sizes := o.d.sizes, counts := o.d.counts, tx := o.d.tx, key_a := o.d.key_a, key_b := o.d.key_b,
                key_lo := (o.d.lo & 4294967295)::UINTEGER, version := o.d.version, tok_hi := o.d.tok_hi, tok_lo := o.d.tok_lo,
                ext_hi := o.d.ext_hi, ext_lo := o.d.ext_lo, rtt_us := o.d.rtt_us, extra := o.d.extra)
            FROM pcapdht_store.msg_v4 o
            JOIN (SELECT e FROM pcapdht_store.endpoint_dim WHERE capture_id = {id}) s ON s.e.ip_hi = o.d.src_hi AND s.e.ip_lo = o.d.src_lo
                AND s.e.port = (o.d.ports >> 48) AND s.e.id_a IS NOT DISTINCT FROM o.d.id_a AND s.e.id_b IS NOT DISTINCT FROM o.d.id_b
                AND s.e.id_lo IS NOT DISTINCT FROM {idLo}
            JOIN (SELECT e FROM pcapdht_store.endpoint_dim WHERE capture_id = {id} AND e.id_a IS NULL) t ON t.e.ip_hi = o.d.dst_hi
                AND t.e.ip_lo = o.d.dst_lo AND t.e.port = ((o.d.ports >> 32) & 65535)
            WHERE o.capture_id = {id} ORDER BY o.frame_no;

            """;
    }

    // Macros and views are recreated on every open so a newer build fixes them in old files.
    // The population relations (lookups, BEP 42 macros) are kept apart in StoreSchema.Population.cs.
    /// <summary>
    /// The predicate on a msg row that makes its sender a node sighting: a query or response (y is not 'e', 101) with a
    /// 20-byte id. The views, rollups, retention counts and check all count senders by it.
    /// </summary>
    internal const string NodeSender = "d.id_a IS NOT NULL AND d.info & 255 <> 101";

    /// <summary>
    /// msg rows with what <see cref="NodeSender"/> reads (<c>id_a</c> from endpoint_dim, <c>info</c>), as the relation
    /// <c>d</c>, for the writers' statements (retention, check): those must not read a view, which a new or upgraded
    /// file's ingest creates in the background and may not have committed yet.
    /// </summary>
    internal const string SenderRows = "(SELECT m.capture_id, m.frame_no, m.ts, s.e.id_a AS id_a, m.d.info AS info FROM " + SenderJoin + ") d";

    /// <summary>A msg row <c>m</c> with its sender <c>s</c> from endpoint_dim: for <see cref="SenderRows"/> and the msg_sender view.</summary>
    private const string SenderJoin =
        "pcapdht_store.msg m LEFT JOIN pcapdht_store.endpoint_dim s ON s.capture_id = m.capture_id AND s.e.k = m.d.src_k";

    internal static readonly string Views = ViewsTemplate.Replace("{{NODE_SENDER}}", NodeSender).Replace("{{SENDER_JOIN}}", SenderJoin).Replace("{{IP6_TEMPLATES}}", Ip6Templates())
        .Replace("{{NET_COLUMNS}}", string.Concat(Pipeline.NetCounterColumns.All.Select(c => ", " + c.Column))) + PopulationViews
        + RollupSchema.Views;

    /// <summary>The address and id macros alone (the start of <see cref="Views"/>): a lake's reader defines them for its views.</summary>
    internal static string AddressMacros => Views[..Views.IndexOf("CREATE OR REPLACE VIEW", StringComparison.Ordinal)];

    /// <summary>
    /// The 256 RFC 5952 format templates for pcapdht_ip6_text, indexed by which of the 8 groups are zero
    /// (bit 7 = first group): the first longest run of two or more zero groups becomes '::'.
    /// </summary>
    internal static string Ip6Templates()
    {
        var items = new string[256];
        for (int mask = 0; mask < 256; mask++)
        {
            int bestStart = -1, bestLen = 1;
            for (int i = 0; i < 8;)
            {
                if ((mask >> (7 - i) & 1) == 0) { i++; continue; }
                int j = i;
                while (j < 8 && (mask >> (7 - j) & 1) == 1) j++;
                if (j - i > bestLen) { bestStart = i; bestLen = j - i; }
                i = j;
            }
            var sb = new System.Text.StringBuilder("'");
            for (int g = 0; g < 8; g++)
            {
                if (g == bestStart) { sb.Append("::"); g += bestLen - 1; continue; }
                if (g > 0 && g != bestStart + bestLen) sb.Append(':');
                sb.Append('{').Append(g).Append(":x}");
            }
            items[mask] = sb.Append('\'').ToString();
        }
        return "[" + string.Join(", ", items) + "]";
    }

    private const string ViewsTemplate = """
        -- RFC 5952 text for an IPv6 address given as two 64-bit halves: lower-case hex groups without
        -- leading zeros, the first longest run (>= 2) of zero groups as '::'. Which groups are zero (8 bits)
        -- picks one of 256 precomputed format() templates with positional groups, e.g. '{0:x}:{1:x}::{7:x}'.
        -- (A string-searching form costs ~1 µs per address and, written with nested macros, seconds to bind.)
        CREATE OR REPLACE MACRO pcapdht_ip6_zeros(hi, lo) AS ((hi >> 48) = 0)::INTEGER * 128 + (((hi >> 32) & 65535) = 0)::INTEGER * 64
            + (((hi >> 16) & 65535) = 0)::INTEGER * 32 + ((hi & 65535) = 0)::INTEGER * 16 + ((lo >> 48) = 0)::INTEGER * 8
            + (((lo >> 32) & 65535) = 0)::INTEGER * 4 + (((lo >> 16) & 65535) = 0)::INTEGER * 2 + ((lo & 65535) = 0)::INTEGER;
        -- Most global addresses have no run of two zero groups: a constant template is ~4x faster to apply.
        CREATE OR REPLACE MACRO pcapdht_ip6_text(hi, lo) AS CASE
            WHEN pcapdht_ip6_zeros(hi, lo) & (pcapdht_ip6_zeros(hi, lo) >> 1) = 0 THEN format('{0:x}:{1:x}:{2:x}:{3:x}:{4:x}:{5:x}:{6:x}:{7:x}',
                hi >> 48, (hi >> 32) & 65535, (hi >> 16) & 65535, hi & 65535, lo >> 48, (lo >> 32) & 65535, (lo >> 16) & 65535, lo & 65535)
            ELSE format({{IP6_TEMPLATES}}[1 + pcapdht_ip6_zeros(hi, lo)],
                hi >> 48, (hi >> 32) & 65535, (hi >> 16) & 65535, hi & 65535, lo >> 48, (lo >> 32) & 65535, (lo >> 16) & 65535, lo & 65535) END;
        -- An address stored as two UBIGINT halves; IPv4-mapped (::ffff:0:0/96) shows as a dotted quad.
        CREATE OR REPLACE MACRO pcapdht_ip_text2(hi, lo) AS CASE
            WHEN hi IS NULL THEN NULL
            WHEN hi = 0 AND (lo >> 32) = 65535 THEN format('{}.{}.{}.{}', (lo >> 24) & 255, (lo >> 16) & 255, (lo >> 8) & 255, lo & 255)
            ELSE pcapdht_ip6_text(hi, lo) END;
        -- The same for one UHUGEINT (the views' *_ip_num columns).
        CREATE OR REPLACE MACRO pcapdht_ip_text(n) AS pcapdht_ip_text2((n >> 64)::UBIGINT, (n & 18446744073709551615::UHUGEINT)::UBIGINT);
        -- A 20-byte id stored as hi (first 16 bytes, big-endian) and lo (last 4 bytes).
        CREATE OR REPLACE MACRO pcapdht_id20(hi, lo) AS
            CASE WHEN hi IS NULL THEN NULL ELSE unhex(lpad(hex(hi), 32, '0') || lpad(hex(lo), 8, '0')) END;
        -- Up to 8 (or 16) bytes stored big-endian in an integer plus the byte length.
        CREATE OR REPLACE MACRO pcapdht_short_blob(v, len) AS
            CASE WHEN v IS NULL THEN NULL WHEN len = 0 THEN ''::BLOB ELSE unhex(lpad(hex(v), 2 * len::INTEGER, '0')) END;
        CREATE OR REPLACE MACRO pcapdht_ts_ns(ts, frac) AS epoch_us(ts) * 1000 + frac;
        CREATE OR REPLACE MACRO pcapdht_u128(hi, lo) AS (hi::UHUGEINT << 64) | lo::UHUGEINT;
        -- A 20-byte id stored as a (bytes 0-7), b (bytes 8-15), lo (bytes 16-19), all big-endian.
        CREATE OR REPLACE MACRO pcapdht_id3(a, b, lo) AS
            CASE WHEN a IS NULL THEN NULL ELSE unhex(lpad(hex(pcapdht_u128(a, b)), 32, '0') || lpad(hex(lo::UINTEGER), 8, '0')) END;

        -- A msg row with its sender from endpoint_dim, flat, in the columns msg had up to schema 4 (ports without the
        -- destination's bits): what the views, rollups and retention read. msg_wide adds the destination (one join more).
        CREATE OR REPLACE VIEW pcapdht_store.msg_sender AS SELECT m.capture_id, m.frame_no, m.ts,
            s.e.ip_hi AS src_hi, s.e.ip_lo AS src_lo, s.e.port AS src_port, (s.e.port::UBIGINT << 48) | m.d.ports AS ports,
            m.d.info AS info, m.d.sizes AS sizes, m.d.counts AS counts, m.d.tx AS tx,
            s.e.id_a AS id_a, s.e.id_b AS id_b, s.e.id_lo AS id_lo, (coalesce(s.e.id_lo, 0)::UBIGINT << 32) | m.d.key_lo AS lo,
            m.d.key_a AS key_a, m.d.key_b AS key_b, m.d.key_lo AS key_lo, m.d.version AS version, m.d.tok_hi AS tok_hi, m.d.tok_lo AS tok_lo,
            m.d.ext_hi AS ext_hi, m.d.ext_lo AS ext_lo, m.d.rtt_us AS rtt_us, m.d.extra AS extra, m.d.src_k AS src_k, m.d.dst_k AS dst_k
            FROM {{SENDER_JOIN}};
        CREATE OR REPLACE VIEW pcapdht_store.msg_wide AS SELECT w.* REPLACE (w.ports | (t.e.port::UBIGINT << 32) AS ports),
            t.e.ip_hi AS dst_hi, t.e.ip_lo AS dst_lo, t.e.port AS dst_port
            FROM pcapdht_store.msg_sender w LEFT JOIN pcapdht_store.endpoint_dim t ON t.capture_id = w.capture_id AND t.e.k = w.dst_k;

        CREATE OR REPLACE VIEW main.captures AS SELECT
            capture_id, source, kind, sha256, status, frames, udp_datagrams, krpc_messages, malformed_krpc,
            make_timestamptz(first_ts_ns // 1000) AS first_ts, make_timestamptz(last_ts_ns // 1000) AS last_ts,
            ingested_at, error, queries, responses, errors, not_krpc, node_sightings, peer_sightings,
            file_size, first_ts_ns, last_ts_ns, started_at, damage_frame, damage_offset, tool_version,
            pcap_received, pcap_dropped, if_dropped, pid, host, unsupported_frames, link_types{{NET_COLUMNS}}
            FROM pcapdht_store.capture;

        -- Columns of msg_wide (docs/schema.md). d.info: y (bits 0-7, ASCII), method (8-15), tx_len (16-23), version_len (24-31), token_len (32-39),
        -- want (40-47), then flags: 48 read_only, 49 key is `target`, 50 key is `info_hash`,
        -- 51 port in ports, 52 implied_port present, 53 implied_port, 54 external port in ports.
        -- d.ports: src_port << 48 | dst_port << 32 | external port << 16 | announce port (msg itself keeps the low 32 bits). d.sizes: decoder
        -- flags << 32 | payload length << 16 | sub-microsecond ns. d.counts: nodes, nodes6, values, samples (16 bits each).
        -- d.lo: the last 4 bytes of id << 32 | of key. d.extra: JSON with what does not fit (rare): method,
        -- tx, id, target, info_hash, version, token (hex), port, error_code, error_msg.
        CREATE OR REPLACE VIEW main.messages AS SELECT
            capture_id, frame_no, ts, epoch_us(ts) * 1000 + (d.sizes & 65535)::BIGINT AS ts_ns,
            pcapdht_ip_text2(d.src_hi, d.src_lo) AS src_ip, pcapdht_u128(d.src_hi, d.src_lo) AS src_ip_num, d.src_port AS src_port,
            pcapdht_ip_text2(d.dst_hi, d.dst_lo) AS dst_ip, pcapdht_u128(d.dst_hi, d.dst_lo) AS dst_ip_num, d.dst_port AS dst_port,
            chr((d.info & 255)::INTEGER) AS y,
            CASE (d.info >> 8) & 255 WHEN 1 THEN 'ping' WHEN 2 THEN 'find_node' WHEN 3 THEN 'get_peers'
                WHEN 4 THEN 'announce_peer' WHEN 5 THEN 'get' WHEN 6 THEN 'put'
                WHEN 7 THEN 'sample_infohashes' WHEN 255 THEN json_extract_string(d.extra, '$.method') END AS method,
            CASE WHEN d.tx IS NOT NULL THEN pcapdht_short_blob(d.tx, (d.info >> 16) & 255)
                ELSE unhex(json_extract_string(d.extra, '$.tx')) END AS tx_id,
            CASE WHEN d.id_a IS NOT NULL THEN pcapdht_id3(d.id_a, d.id_b, d.id_lo)
                ELSE unhex(json_extract_string(d.extra, '$.id')) END AS node_id,
            CASE WHEN (d.info >> 49) & 1 = 1 THEN pcapdht_id3(d.key_a, d.key_b, d.key_lo)
                ELSE unhex(json_extract_string(d.extra, '$.target')) END AS target,
            CASE WHEN (d.info >> 50) & 1 = 1 THEN pcapdht_id3(d.key_a, d.key_b, d.key_lo)
                ELSE unhex(json_extract_string(d.extra, '$.info_hash')) END AS info_hash,
            CASE WHEN d.version IS NOT NULL THEN pcapdht_short_blob(d.version, (d.info >> 24) & 255)
                ELSE unhex(json_extract_string(d.extra, '$.version')) END AS version,
            CASE WHEN d.version IS NOT NULL AND (d.info >> 24) & 255 >= 2
                THEN pcapdht_client_code(d.version >> (8 * (((d.info >> 24) & 255) - 2))) END AS client,
            (d.info >> 48) & 1 = 1 AS read_only,
            CASE WHEN d.tok_hi IS NOT NULL THEN pcapdht_short_blob(pcapdht_u128(d.tok_hi, d.tok_lo), (d.info >> 32) & 255)
                ELSE unhex(json_extract_string(d.extra, '$.token')) END AS token,
            CASE WHEN (d.info >> 51) & 1 = 1 THEN (d.ports & 65535)::INTEGER
                ELSE TRY_CAST(json_extract_string(d.extra, '$.port') AS INTEGER) END AS port,
            CASE WHEN (d.info >> 52) & 1 = 1 THEN (d.info >> 53) & 1 = 1 END AS implied_port,
            json_extract_string(d.extra, '$.error_code')::BIGINT AS error_code,
            json_extract_string(d.extra, '$.error_msg') AS error_msg,
            pcapdht_ip_text2(d.ext_hi, d.ext_lo) AS external_ip, pcapdht_u128(d.ext_hi, d.ext_lo) AS external_ip_num,
            CASE WHEN (d.info >> 54) & 1 = 1 THEN ((d.ports >> 16) & 65535)::USMALLINT END AS external_port,
            (d.counts >> 48)::USMALLINT AS nodes_count, ((d.counts >> 32) & 65535)::USMALLINT AS nodes6_count,
            ((d.counts >> 16) & 65535)::USMALLINT AS values_count, (d.counts & 65535)::USMALLINT AS samples_count,
            d.rtt_us AS rtt_us, (d.sizes >> 32)::UINTEGER AS flags, ((d.sizes >> 16) & 65535)::USMALLINT AS length,
            CASE WHEN (d.info >> 40) & 255 <> 0 THEN ((d.info >> 40) & 255)::UTINYINT END AS want
            FROM pcapdht_store.msg_wide d;

        -- Every entry of a `nodes` (family 4) or `nodes6` (family 6) list with its contact from node_dim (as stored).
        CREATE OR REPLACE VIEW pcapdht_store.contacts AS
            SELECT nd.capture_id, nd.frame_no, nd.ts, 4::UTINYINT AS family, k.n.ip_hi AS ip_hi, k.n.ip_lo AS ip_lo, k.n.port AS port,
                k.n.id_a AS id_a, k.n.id_b AS id_b, k.n.id_lo AS id_lo
            FROM pcapdht_store.node nd JOIN pcapdht_store.node_dim k ON k.capture_id = nd.capture_id AND k.n.k = nd.n.k
            UNION ALL
            SELECT nd.capture_id, nd.frame_no, nd.ts, 6::UTINYINT, k.n.ip_hi, k.n.ip_lo, k.n.port, k.n.id_a, k.n.id_b, k.n.id_lo
            FROM pcapdht_store.node6 nd JOIN pcapdht_store.node_dim k ON k.capture_id = nd.capture_id AND k.n.k = nd.n.k;

        -- Every node seen: the sender of a query or response (from msg), and the contacts in `nodes` /
        -- `nodes6` joined to the response that carried them (its sender is the reporter).
        CREATE OR REPLACE VIEW main.node_sightings AS
            SELECT capture_id, frame_no, ts, pcapdht_ip_text2(d.src_hi, d.src_lo) AS ip, pcapdht_u128(d.src_hi, d.src_lo) AS ip_num,
                d.src_port AS port, pcapdht_id3(d.id_a, d.id_b, d.id_lo) AS node_id, 'sender' AS source,
                NULL::VARCHAR AS reporter_ip, NULL::USMALLINT AS reporter_port, NULL::UHUGEINT AS reporter_ip_num
            FROM pcapdht_store.msg_sender d WHERE {{NODE_SENDER}}
            UNION ALL
            SELECT c.capture_id, c.frame_no, c.ts, pcapdht_ip_text2(c.ip_hi, c.ip_lo) AS ip, pcapdht_u128(c.ip_hi, c.ip_lo) AS ip_num, c.port AS port,
                pcapdht_id3(c.id_a, c.id_b, c.id_lo) AS node_id, CASE c.family WHEN 4 THEN 'nodes' ELSE 'nodes6' END AS source,
                pcapdht_ip_text2(m.src_hi, m.src_lo) AS reporter_ip, m.src_port AS reporter_port, pcapdht_u128(m.src_hi, m.src_lo) AS reporter_ip_num
            FROM pcapdht_store.contacts c JOIN pcapdht_store.msg_sender m ON m.capture_id = c.capture_id AND m.frame_no = c.frame_no;

        -- node_sightings without the reporter columns, so without the join to msg (5x cheaper to scan):
        -- what the reports count. id_key is the 20-byte id as numbers (a, b, lo), for fast DISTINCT.
        CREATE OR REPLACE VIEW pcapdht_store.node_ips AS
            SELECT capture_id, ts, pcapdht_u128(d.src_hi, d.src_lo) AS ip_num, true AS direct, (d.id_a, d.id_b, d.id_lo::UBIGINT) AS id_key
            FROM pcapdht_store.msg_sender d WHERE {{NODE_SENDER}}
            UNION ALL
            SELECT capture_id, ts, pcapdht_u128(ip_hi, ip_lo), false, (id_a, id_b, id_lo::UBIGINT) FROM pcapdht_store.contacts;

        CREATE OR REPLACE VIEW main.peer_sightings AS SELECT
            p.capture_id, p.frame_no, p.ts, pcapdht_id3(p.p.ih_a, p.p.ih_b, p.p.ih_lo) AS info_hash,
            pcapdht_ip_text2(p.p.ip_hi, p.p.ip_lo) AS ip, pcapdht_u128(p.p.ip_hi, p.p.ip_lo) AS ip_num, p.p.port AS port,
            CASE p.p.source WHEN 0 THEN 'values' ELSE 'announce_peer' END AS source,
            pcapdht_ip_text2(m.src_hi, m.src_lo) AS reporter_ip, m.src_port AS reporter_port, pcapdht_u128(m.src_hi, m.src_lo) AS reporter_ip_num
            FROM pcapdht_store.peer p JOIN pcapdht_store.msg_sender m ON m.capture_id = p.capture_id AND m.frame_no = p.frame_no;

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
