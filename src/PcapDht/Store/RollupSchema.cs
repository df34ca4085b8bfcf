using System.Globalization;

namespace PcapDht.Store;

/// <summary>
/// The daily rollups (docs/schema.md, "Daily rollups"): per capture and UTC day, one row per address (and kind
/// of sighting), per node id, per message sender (address, id, <c>v</c>), per message type, per malformed
/// reason — each with its count and the first and last time (µs) it was seen that day. They are the contract
/// between the writer (rows computed by the SQL below from the rows just appended, in the same transaction)
/// and the reports (which read the public views).
/// <para>
/// Why first/last: a report window rarely starts at midnight. A row of the window's first day is in the window
/// exactly when its last sighting is at or after the start; a row of its last day exactly when its first sighting
/// is at or before the end (when start and end fall on different days; rows of the days between are inside).
/// So distinct counts over any window of two or more calendar days are exact from rollups alone; counts of
/// rows (messages, sightings) are exact on every day the window holds whole, and on a cut day a row is exact
/// when it lies wholly inside or outside the window — otherwise that day needs the detail rows.
/// </para>
/// <para>
/// Rows are <em>partials</em>: one commit writes the aggregate of its own rows, so the same key may have several
/// rows per capture and day (merged by <c>pcapdht prune</c> / compaction). Readers always aggregate by key.
/// Every row carries its capture, so a capture's rollups go with its detail rows when it is deleted.
/// </para>
/// </summary>
public static class RollupSchema
{
    /// <summary>The rollup storage tables (in <c>pcapdht_store</c>), for the capture deletions and exports.</summary>
    public static readonly string[] Tables = ["addr_day", "id_day", "sender_day", "msg_day", "malformed_day"];

    /// <summary><c>addr_day.kind</c>: an entry of another node's <c>nodes</c>/<c>nodes6</c> list (a node sighting, reported).</summary>
    public const int Reported = 0;
    /// <summary><c>addr_day.kind</c>: the sender of a query or response with a 20-byte id (a node sighting, direct).</summary>
    public const int Sender = 1;
    /// <summary><c>addr_day.kind</c>: the sender of any other message (an error, or an id that is not 20 bytes): direct, not a node sighting.</summary>
    public const int OtherSender = 2;
    /// <summary><c>addr_day.kind</c>: a BitTorrent peer (a <c>values</c> entry, or an announce_peer querier's address).</summary>
    public const int Peer = 3;

    /// <summary>The names the <c>address_days</c> view gives the kinds, by number.</summary>
    public static readonly string[] KindNames = ["reported", "sender", "other_sender", "peer"];

    /// <summary>CREATE statements of the storage tables (idempotent).</summary>
    public const string CreateTables = """
        CREATE TABLE IF NOT EXISTS pcapdht_store.addr_day (
            capture_id INTEGER NOT NULL, day DATE NOT NULL, ip UHUGEINT NOT NULL, kind UTINYINT NOT NULL,
            sightings UBIGINT NOT NULL, first_us BIGINT NOT NULL, last_us BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS pcapdht_store.id_day (
            capture_id INTEGER NOT NULL, day DATE NOT NULL, id_a UBIGINT NOT NULL, id_b UBIGINT NOT NULL, id_lo UINTEGER NOT NULL,
            sender BOOLEAN NOT NULL, sightings UBIGINT NOT NULL, first_us BIGINT NOT NULL, last_us BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS pcapdht_store.sender_day (
            capture_id INTEGER NOT NULL, day DATE NOT NULL, ip UHUGEINT NOT NULL,
            id_a UBIGINT, id_b UBIGINT, id_lo UINTEGER, odd_id BLOB,
            version UBIGINT, version_len UTINYINT NOT NULL, odd_version BLOB,
            messages UBIGINT NOT NULL, first_us BIGINT NOT NULL, last_us BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS pcapdht_store.msg_day (
            capture_id INTEGER NOT NULL, day DATE NOT NULL, y UTINYINT NOT NULL, method UTINYINT NOT NULL, method_name VARCHAR,
            messages UBIGINT NOT NULL, first_us BIGINT NOT NULL, last_us BIGINT NOT NULL);
        CREATE TABLE IF NOT EXISTS pcapdht_store.malformed_day (
            capture_id INTEGER NOT NULL, day DATE NOT NULL, reason VARCHAR,
            datagrams UBIGINT NOT NULL, first_us BIGINT NOT NULL, last_us BIGINT NOT NULL);
        """;

    /// <summary>
    /// The public views over the rollups (recreated with the other views). Unaggregated: one row per stored
    /// partial, so <c>GROUP BY</c> the key. A lake defines the same views over its Parquet files.
    /// </summary>
    public const string Views = """
        -- The UTC day of a timestamp, independent of the session's TimeZone.
        CREATE OR REPLACE MACRO pcapdht_day(ts) AS (DATE '1970-01-01' + CAST(epoch_us(ts) // 86400000000 AS INTEGER));
        CREATE OR REPLACE MACRO pcapdht_day_us(us) AS (DATE '1970-01-01' + CAST(us // 86400000000 AS INTEGER));

        CREATE OR REPLACE VIEW main.address_days AS SELECT
            capture_id, day, pcapdht_ip_text(ip) AS ip, ip AS ip_num,
            CASE kind WHEN 0 THEN 'reported' WHEN 1 THEN 'sender' WHEN 2 THEN 'other_sender' ELSE 'peer' END AS kind,
            kind IN (1, 2) AS direct, kind IN (0, 1) AS node, sightings, first_us, last_us,
            make_timestamptz(first_us) AS first_ts, make_timestamptz(last_us) AS last_ts
            FROM pcapdht_store.addr_day;

        CREATE OR REPLACE VIEW main.node_id_days AS SELECT
            capture_id, day, pcapdht_id3(id_a, id_b, id_lo) AS node_id, (id_a, id_b, id_lo::UBIGINT) AS id_key, sender,
            sightings, first_us, last_us FROM pcapdht_store.id_day;

        CREATE OR REPLACE VIEW main.sender_days AS SELECT
            capture_id, day, pcapdht_ip_text(ip) AS ip, ip AS ip_num,
            CASE WHEN id_a IS NOT NULL THEN pcapdht_id3(id_a, id_b, id_lo) ELSE odd_id END AS node_id,
            CASE WHEN version IS NOT NULL THEN pcapdht_short_blob(version, version_len) ELSE odd_version END AS version,
            messages, first_us, last_us FROM pcapdht_store.sender_day;

        CREATE OR REPLACE VIEW main.message_days AS SELECT
            capture_id, day, chr(y::INTEGER) AS y,
            CASE method WHEN 1 THEN 'ping' WHEN 2 THEN 'find_node' WHEN 3 THEN 'get_peers' WHEN 4 THEN 'announce_peer'
                WHEN 5 THEN 'get' WHEN 6 THEN 'put' WHEN 7 THEN 'sample_infohashes' WHEN 255 THEN method_name END AS method,
            messages, first_us, last_us FROM pcapdht_store.msg_day;

        CREATE OR REPLACE VIEW main.malformed_days AS SELECT
            capture_id, day, reason, datagrams, first_us, last_us FROM pcapdht_store.malformed_day;
        """;

    /// <summary>
    /// INSERT statements that add the rollups of the detail rows matching <paramref name="where"/> (a predicate on
    /// the storage tables' <c>capture_id</c>, <c>frame_no</c> and <c>ts</c>, e.g. one capture's frames of one commit).
    /// <paramref name="sightings"/> covers the tables of the sightings lane (node, node6, peer), <paramref name="messages"/>
    /// those of the messages lane (msg, malformed): each lane adds its part in its own transaction.
    /// </summary>
    public static string InsertFromStore(string where, bool messages = true, bool sightings = true)
    {
        var sb = new System.Text.StringBuilder();
        if (messages)
        {
            sb.Append($"""
                INSERT INTO pcapdht_store.addr_day
                SELECT capture_id, {Day}, {U128("d.src_hi", "d.src_lo")},
                    CASE WHEN {StoreSchema.NodeSender} THEN 1 ELSE 2 END,
                    count(*), min(epoch_us(ts)), max(epoch_us(ts))
                FROM pcapdht_store.msg_sender d WHERE {where} GROUP BY ALL;
                INSERT INTO pcapdht_store.id_day
                SELECT capture_id, {Day}, d.id_a, d.id_b, d.id_lo, true,
                    count(*), min(epoch_us(ts)), max(epoch_us(ts))
                FROM pcapdht_store.msg_sender d WHERE {StoreSchema.NodeSender} AND {where} GROUP BY ALL;
                INSERT INTO pcapdht_store.sender_day
                SELECT capture_id, {Day}, {U128("d.src_hi", "d.src_lo")},
                    d.id_a, d.id_b, d.id_lo,
                    CASE WHEN d.id_a IS NULL THEN unhex(json_extract_string(d.extra, '$.id')) END,
                    d.version, CASE WHEN d.version IS NOT NULL THEN (d.info >> 24) & 255 ELSE 0 END::UTINYINT,
                    CASE WHEN d.version IS NULL THEN unhex(json_extract_string(d.extra, '$.version')) END,
                    count(*), min(epoch_us(ts)), max(epoch_us(ts))
                FROM pcapdht_store.msg_sender d WHERE {where} GROUP BY ALL;
                INSERT INTO pcapdht_store.msg_day
                SELECT capture_id, {Day}, (d.info & 255)::UTINYINT, ((d.info >> 8) & 255)::UTINYINT,
                    CASE WHEN (d.info >> 8) & 255 = 255 THEN json_extract_string(d.extra, '$.method') END,
                    count(*), min(epoch_us(ts)), max(epoch_us(ts))
                FROM pcapdht_store.msg_sender d WHERE {where} GROUP BY ALL;
                INSERT INTO pcapdht_store.malformed_day
                SELECT capture_id, {Day}, reason, count(*), min(epoch_us(ts)), max(epoch_us(ts))
                FROM pcapdht_store.malformed WHERE {where} GROUP BY ALL;

                """);
        }
        if (sightings)
        {
            sb.Append($"""
                INSERT INTO pcapdht_store.addr_day
                SELECT capture_id, day, ip, kind, count(*), min(us), max(us) FROM (
                    SELECT capture_id, {Day} AS day, {U128("ip_hi", "ip_lo")} AS ip, 0 AS kind, epoch_us(ts) AS us
                        FROM pcapdht_store.contacts WHERE {where}
                    UNION ALL SELECT capture_id, {Day}, {U128("p.ip_hi", "p.ip_lo")}, 3, epoch_us(ts)
                        FROM pcapdht_store.peer WHERE {where})
                GROUP BY ALL;
                INSERT INTO pcapdht_store.id_day
                SELECT capture_id, {Day} AS day, id_a, id_b, id_lo, false, count(*), min(epoch_us(ts)), max(epoch_us(ts))
                FROM pcapdht_store.contacts WHERE {where} GROUP BY ALL;

                """);
        }
        return sb.ToString();
    }

    /// <summary>
    /// What a writer's commit runs on the messages lane: the same rollups as <see cref="InsertFromStore"/> (which stays the
    /// reference: the tests compare the two), in one scan instead of one per table. It first aggregates the rows by the
    /// union of the keys its tables need, with the sender as its endpoint key, into a temporary table of the connection
    /// (a few hundred thousand groups for millions of rows); those groups are joined to their endpoints in endpoint_dim
    /// one slice of <see cref="KeySlice"/> keys at a time (as <see cref="InsertSightingsFromCommit"/> does for the
    /// contacts), and every table is a small aggregation of the result. Measured on a 2M-packet capture: the direct
    /// statements cost ~20 % of the ingest's CPU time (docs/benchmarks.md, "Daily rollups").
    /// </summary>
    public static void InsertMessagesFromCommit(DuckDB.NET.Data.DuckDBConnection c, string where)
    {
        // The commit's groups first: the slices are of their keys.
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            CREATE OR REPLACE TEMP TABLE pcapdht_rollup_k AS
            SELECT capture_id, {Day} AS day, d.src_k AS k, unhex(json_extract_string(d.extra, '$.id')) AS odd_id,
                d.version AS version, CASE WHEN d.version IS NOT NULL THEN (d.info >> 24) & 255 ELSE 0 END::UTINYINT AS version_len,
                CASE WHEN d.version IS NULL THEN unhex(json_extract_string(d.extra, '$.version')) END AS odd_version,
                (d.info & 255)::UTINYINT AS y, ((d.info >> 8) & 255)::UTINYINT AS method,
                CASE WHEN (d.info >> 8) & 255 = 255 THEN json_extract_string(d.extra, '$.method') END AS method_name,
                count(*) AS n, min(epoch_us(ts)) AS first_us, max(epoch_us(ts)) AS last_us
            FROM pcapdht_store.msg WHERE {where} GROUP BY ALL;
            CREATE OR REPLACE TEMP TABLE pcapdht_rollup_msg (capture_id INTEGER, day DATE, ip UHUGEINT, id_a UBIGINT, id_b UBIGINT,
                id_lo UINTEGER, odd_id BLOB, version UBIGINT, version_len UTINYINT, odd_version BLOB, y UTINYINT, method UTINYINT,
                method_name VARCHAR, n BIGINT, first_us BIGINT, last_us BIGINT);
            """;
        cmd.ExecuteNonQuery();
        var sb = new System.Text.StringBuilder();
        foreach (var (dim, from, to) in Slices(c, "SELECT min(k), max(k), min(capture_id), max(capture_id) FROM pcapdht_rollup_k", "e.k"))
        {
            sb.Append($"""
                INSERT INTO pcapdht_rollup_msg
                SELECT r.capture_id, r.day, {U128("s.e.ip_hi", "s.e.ip_lo")}, s.e.id_a, s.e.id_b, s.e.id_lo, r.odd_id, r.version, r.version_len,
                    r.odd_version, r.y, r.method, r.method_name, r.n, r.first_us, r.last_us
                FROM pcapdht_rollup_k r
                JOIN (SELECT capture_id, e FROM pcapdht_store.endpoint_dim WHERE {dim}) s ON s.capture_id = r.capture_id AND s.e.k = r.k
                WHERE r.k BETWEEN {from} AND {to};

                """);
        }
        sb.Append($"""
            DROP TABLE pcapdht_rollup_k;
            INSERT INTO pcapdht_store.addr_day
            SELECT capture_id, day, ip, CASE WHEN id_a IS NOT NULL AND y <> 101 THEN {Sender} ELSE {OtherSender} END,
                sum(n), min(first_us), max(last_us) FROM pcapdht_rollup_msg GROUP BY ALL;
            INSERT INTO pcapdht_store.id_day
            SELECT capture_id, day, id_a, id_b, id_lo, true, sum(n), min(first_us), max(last_us)
            FROM pcapdht_rollup_msg WHERE id_a IS NOT NULL AND y <> 101 GROUP BY ALL;
            INSERT INTO pcapdht_store.sender_day
            SELECT capture_id, day, ip, id_a, id_b, id_lo, odd_id, version, version_len, odd_version, sum(n), min(first_us), max(last_us)
            FROM pcapdht_rollup_msg GROUP BY ALL;
            INSERT INTO pcapdht_store.msg_day
            SELECT capture_id, day, y, method, method_name, sum(n), min(first_us), max(last_us) FROM pcapdht_rollup_msg GROUP BY ALL;
            DROP TABLE pcapdht_rollup_msg;
            INSERT INTO pcapdht_store.malformed_day
            SELECT capture_id, {Day}, reason, count(*), min(epoch_us(ts)), max(epoch_us(ts))
            FROM pcapdht_store.malformed WHERE {where} GROUP BY ALL;

            """);
        cmd.CommandText = sb.ToString();
        cmd.ExecuteNonQuery();
    }

    /// <summary>
    /// The slices of <see cref="KeySlice"/> keys that cover the range [min, max] of keys <paramref name="rangeSql"/> returns
    /// (none when it is NULL), each as a predicate on a dimension table's key column <paramref name="key"/> and its
    /// capture_id: every capture numbers its keys from 0, and dimension rows are appended in capture and key order, so
    /// the capture range lets the zone maps skip the other captures' rows. <paramref name="rangeSql"/> returns min and max
    /// key, then min and max capture_id.
    /// </summary>
    private static List<(string Dim, long From, long To)> Slices(DuckDB.NET.Data.DuckDBConnection c, string rangeSql, string key)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = rangeSql;
        var slices = new List<(string, long, long)>();
        using var r = cmd.ExecuteReader();
        if (!r.Read() || r.IsDBNull(0)) return slices;
        long Get(int i) => Convert.ToInt64(r.GetValue(i), CultureInfo.InvariantCulture);
        long lo = Get(0), hi = Get(1), c0 = Get(2), c1 = Get(3);
        for (long k = lo; k <= hi; k += KeySlice)
        {
            long to = Math.Min(hi, k + KeySlice - 1);
            slices.Add((string.Create(CultureInfo.InvariantCulture, $"capture_id BETWEEN {c0} AND {c1} AND {key} BETWEEN {k} AND {to}"), k, to));
        }
        return slices;
    }

    /// <summary>Both parts of a commit's rollups on one connection (a single writer lane, or the upgrade from schema 2).</summary>
    public static void InsertAllFromCommit(DuckDB.NET.Data.DuckDBConnection c, string where)
    {
        InsertMessagesFromCommit(c, where);
        InsertSightingsFromCommit(c, where);
    }

    /// <summary>Keys per slice of <see cref="InsertSightingsFromCommit"/> and <see cref="InsertMessagesFromCommit"/>: the join of a
    /// slice holds at most this many contacts or endpoints (tests lower it to make the samples' commits take many slices).</summary>
    internal static long KeySlice { get; set; } = 1 << 18;

    /// <summary>
    /// What a writer's commit runs on the sightings lane: the rollups of the node, node6 and peer rows matching
    /// <paramref name="where"/>, equal to <see cref="InsertFromStore"/>'s. The node lists' sightings are counted per
    /// contact key and day first, then joined to their contacts in node_dim (a key stands for ~30 bytes) one slice of
    /// <see cref="KeySlice"/> keys at a time, reading only the contacts of the commit's range of keys (node_dim is
    /// appended in key order, so its zone maps skip the rest). Why slices: a stream of 11 M distinct contacts makes
    /// ~1.5 M new contacts per commit, and one join of them all ran out of the ingest's 128 MB; joining the whole
    /// node_dim made each commit slower than the one before.
    /// </summary>
    public static void InsertSightingsFromCommit(DuckDB.NET.Data.DuckDBConnection c, string where)
    {
        var slices = Slices(c, $"""
            SELECT min(n.k), max(n.k), min(capture_id), max(capture_id)
            FROM (SELECT capture_id, n FROM pcapdht_store.node WHERE {where} UNION ALL SELECT capture_id, n FROM pcapdht_store.node6 WHERE {where})
            """, "n.k");
        using var cmd = c.CreateCommand();
        var sb = new System.Text.StringBuilder($"""
            CREATE OR REPLACE TEMP TABLE pcapdht_rollup_seen (capture_id INTEGER, day DATE, ip UHUGEINT, kind INTEGER,
                id_a UBIGINT, id_b UBIGINT, id_lo UINTEGER, n BIGINT, first_us BIGINT, last_us BIGINT);
            INSERT INTO pcapdht_rollup_seen
            SELECT capture_id, {Day}, {U128("p.ip_hi", "p.ip_lo")}, {Peer}, NULL, NULL, NULL, count(*), min(epoch_us(ts)), max(epoch_us(ts))
            FROM pcapdht_store.peer WHERE {where} GROUP BY ALL;

            """);
        foreach (var (dim, from, to) in slices)
        {
            string range = string.Create(CultureInfo.InvariantCulture, $"n.k BETWEEN {from} AND {to}");
            sb.Append($"""
                INSERT INTO pcapdht_rollup_seen
                SELECT s.capture_id, s.day, {U128("c.n.ip_hi", "c.n.ip_lo")}, {Reported}, c.n.id_a, c.n.id_b, c.n.id_lo, s.n, s.first_us, s.last_us
                FROM (SELECT capture_id, {Day} AS day, n.k AS k, count(*) AS n, min(epoch_us(ts)) AS first_us, max(epoch_us(ts)) AS last_us
                    FROM (SELECT capture_id, ts, n FROM pcapdht_store.node WHERE {where} AND {range}
                        UNION ALL SELECT capture_id, ts, n FROM pcapdht_store.node6 WHERE {where} AND {range})
                    GROUP BY ALL) s
                JOIN (SELECT capture_id, n FROM pcapdht_store.node_dim WHERE {dim}) c ON c.capture_id = s.capture_id AND c.n.k = s.k;

                """);
        }
        sb.Append($"""
            INSERT INTO pcapdht_store.addr_day
            SELECT capture_id, day, ip, kind, sum(n), min(first_us), max(last_us) FROM pcapdht_rollup_seen GROUP BY ALL;
            INSERT INTO pcapdht_store.id_day
            SELECT capture_id, day, id_a, id_b, id_lo, false, sum(n), min(first_us), max(last_us)
            FROM pcapdht_rollup_seen WHERE kind = {Reported} GROUP BY ALL;
            DROP TABLE pcapdht_rollup_seen;
            """);
        cmd.CommandText = sb.ToString();
        cmd.ExecuteNonQuery();
    }

    // The writer's (and prune's) statements spell out the views' pcapdht_day and pcapdht_u128 macros: a writer's transaction may begin
    // before an open that creates the macros in the background (ingest) has committed them, and would not see them.
    internal const string Day = "(DATE '1970-01-01' + CAST(epoch_us(ts) // 86400000000 AS INTEGER))";

    /// <summary>µs in a UTC day.</summary>
    internal const long MicrosPerDay = 86_400_000_000L;

    /// <summary>The day number (days since 1970, UTC) of an instant in µs (the <c>day</c> of a rollup row).</summary>
    internal static long DayOf(long us) => Math.DivRem(us, MicrosPerDay, out long rem) - (rem < 0 ? 1 : 0);

    private static string U128(string hi, string lo) => $"(({hi})::UHUGEINT << 64 | ({lo})::UHUGEINT)";

    /// <summary>
    /// DELETE statements for one capture's rollup rows (<paramref name="id"/> is SQL), split like
    /// <see cref="InsertFromStore"/>: the messages lane's part (its kinds of addr_day, the senders of id_day, and
    /// sender_day, msg_day, malformed_day) and the sightings lane's part, so two lanes deleting in two transactions
    /// never touch the same row.
    /// </summary>
    public static string DeleteSql(string id, bool messages = true, bool sightings = true)
    {
        if (messages && sightings)
            return string.Concat(Tables.Select(t => $"DELETE FROM pcapdht_store.{t} WHERE capture_id = {id}; "));
        if (messages)
            return $"""
                DELETE FROM pcapdht_store.addr_day WHERE capture_id = {id} AND kind IN ({Sender}, {OtherSender});
                DELETE FROM pcapdht_store.id_day WHERE capture_id = {id} AND sender;
                DELETE FROM pcapdht_store.sender_day WHERE capture_id = {id};
                DELETE FROM pcapdht_store.msg_day WHERE capture_id = {id};
                DELETE FROM pcapdht_store.malformed_day WHERE capture_id = {id};

                """;
        if (sightings)
            return $"""
                DELETE FROM pcapdht_store.addr_day WHERE capture_id = {id} AND kind IN ({Reported}, {Peer});
                DELETE FROM pcapdht_store.id_day WHERE capture_id = {id} AND NOT sender;

                """;
        return "";
    }

    /// <summary>A predicate on one capture's frames after <paramref name="afterFrame"/> (the rows one commit added).</summary>
    public static string CaptureFrames(int captureId, long afterFrame) =>
        string.Create(CultureInfo.InvariantCulture, $"capture_id = {captureId} AND frame_no > {afterFrame}");
}
