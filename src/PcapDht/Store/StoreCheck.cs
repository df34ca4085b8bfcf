using DuckDB.NET.Data;

namespace PcapDht.Store;

/// <summary>What kind of problem a check found.</summary>
public enum CheckProblem
{
    /// <summary>The file does not read: a block fails its checksum, the file is cut short, metadata does not deserialize.</summary>
    Damaged,
    /// <summary>The file reads but breaks the store's invariants (counters that disagree with rows, rows of no capture).</summary>
    Inconsistent,
    /// <summary>A capture is still <c>running</c> although its writer died: a crash, settled by the next write or by --compact.</summary>
    Unfinished,
}

public sealed record CheckFinding(CheckProblem Kind, string Message);

/// <summary>What <see cref="StoreCheck"/> read and found.</summary>
public sealed class StoreCheckReport
{
    public required string Path { get; init; }
    /// <summary>Every table of the file with the rows read from it (every column of every row, so every block).</summary>
    public List<(string Table, long Rows)> Tables { get; } = [];
    public List<CheckFinding> Findings { get; } = [];
    public int CapturesChecked { get; internal set; }
    /// <summary>Size of the file (and its WAL) when the check began.</summary>
    public long FileBytes { get; internal set; }
    /// <summary>After <see cref="StoreCheck.Compact"/>: whether the address index was rebuilt because it disagreed with the rollups.</summary>
    public bool IndexRebuilt { get; internal set; }
    /// <summary>After <see cref="StoreCheck.Compact"/>: the size of the rewritten file.</summary>
    public long? CompactedBytes { get; internal set; }
    public bool Damaged => Findings.Exists(f => f.Kind == CheckProblem.Damaged);
    public bool Inconsistent => Findings.Exists(f => f.Kind == CheckProblem.Inconsistent);
    public bool Healthy => Findings.Count == 0;
}

/// <summary>
/// <c>pcapdht check</c>: reads every block of a database (a full scan of every column of every table: DuckDB
/// verifies each block's checksum as it reads it) and verifies the store's invariants — each capture's counters
/// equal its rows, no rows without a capture, no <c>running</c> capture without a live writer. It opens the file
/// read-only and changes nothing. <see cref="Compact"/> then rewrites the file without its free blocks: after a
/// crash the space of uncommitted rows stays in the file (DuckDB reuses it but never gives it back).
/// </summary>
public static class StoreCheck
{
    private const string CompactAlias = "pcapdht_compact";
    /// <summary>How the finding that the address index disagrees with the rollups starts (compact rebuilds the index).</summary>
    private const string IndexMismatch = "the address index disagrees with the daily rollups";

    /// <summary>The finding that the address index disagrees with the rollups (derived data: <see cref="Compact"/> rebuilds it).</summary>
    public static bool IsIndexMismatch(CheckFinding f) => f.Kind == CheckProblem.Inconsistent && f.Message.StartsWith(IndexMismatch, StringComparison.Ordinal);

    public static StoreCheckReport Run(string path, TimeSpan lockWait, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(path)) throw new StoreException($"no database at '{path}' (pass --db FILE)");
        var report = new StoreCheckReport { Path = path, FileBytes = FileBytes(path) };
        DuckDBConnection connection;
        try
        {
            connection = Open(path, readOnly: true, lockWait);
        }
        catch (CorruptDatabaseException e)
        {
            report.Findings.Add(new CheckFinding(CheckProblem.Damaged, $"the file does not open: {PcapDhtDatabase.FirstLine(e.InnerException!.Message)}"));
            return report;
        }
        try
        {
            try
            {
                VerifyLength(connection, path);
            }
            catch (CorruptDatabaseException e)
            {
                report.Findings.Add(new CheckFinding(CheckProblem.Damaged, PcapDhtDatabase.FirstLine(e.InnerException!.Message)));
                // A checksum error may invalidate the database instance: the tables are scanned on a fresh one.
                connection.Dispose();
                connection = Open(path, readOnly: true, lockWait);
            }
            ScanTables(ref connection, path, lockWait, report, cancellationToken);
            if (!report.Damaged) CheckInvariants(connection, report);
        }
        finally
        {
            connection.Dispose();
        }
        return report;
    }

    /// <summary>
    /// Checks, then rewrites the file into a fresh one (same tables, views, macros, sequences and constraints) and
    /// puts it in place of the old one; the database is held exclusively meanwhile. Refused for a damaged file
    /// (the copy would silently drop what does not read) and while a sniffer writes the file.
    /// </summary>
    public static StoreCheckReport Compact(string path, TimeSpan lockWait, CancellationToken cancellationToken = default)
    {
        var report = Run(path, lockWait, cancellationToken);
        if (report.Damaged) return report;
        string full = System.IO.Path.GetFullPath(path);
        string temp = full + ".compact";
        DeleteWithWal(temp);
        var connection = Open(full, readOnly: false, lockWait);
        try
        {
            // A dead writer's capture is settled first (as any open for writing does): its rows are not worth copying.
            int recovered = PcapDhtDatabase.RecoverInterruptedCaptures(connection);
            if (recovered > 0) report.Findings.RemoveAll(f => f.Kind == CheckProblem.Unfinished);
            if (LiveWriters(connection) is { Count: > 0 } live)
                throw new StoreException($"cannot compact {path}: a sniff is writing capture {live[0]} into it; stop it first");
            // An index that disagrees with its rollups is derived data: rebuilt from them before the copy.
            if (report.Findings.RemoveAll(IsIndexMismatch) > 0)
            {
                AddressIndex.Refresh(connection, cancellationToken, rebuild: true);
                report.IndexRebuilt = true;
            }
            string name = Scalar<string>(connection, "SELECT current_database()")!;
            var counts = TableCounts(connection);
            Execute(connection, "CHECKPOINT");
            cancellationToken.ThrowIfCancellationRequested();
            Execute(connection, $"ATTACH '{Sql(temp)}' AS {CompactAlias}; COPY FROM DATABASE \"{name.Replace("\"", "\"\"")}\" TO {CompactAlias}; DETACH {CompactAlias};");
            using (var copy = new DuckDBConnection($"Data Source={temp};ACCESS_MODE=READ_ONLY"))
            {
                copy.Open();
                var copied = TableCounts(copy);
                if (!counts.OrderBy(c => c.Key).SequenceEqual(copied.OrderBy(c => c.Key)))
                    throw new StoreException($"cannot compact {path}: the copy does not hold the same rows; the original is unchanged");
            }
            FlushToDisk(temp);
            // Still holding the database: no writer can commit into the old file between the copy and the swap.
            File.Move(temp, full, overwrite: true);
        }
        catch (Exception ex) when (ex is not StoreException and not OperationCanceledException)
        {
            DeleteWithWal(temp);
            throw PcapDhtDatabase.Translate(ex, $"cannot compact {path}");
        }
        catch
        {
            DeleteWithWal(temp);
            throw;
        }
        finally
        {
            connection.Dispose();
        }
        report.CompactedBytes = FileBytes(full);
        return report;
    }

    /// <summary>Files up to this size are checked exactly on every open (the block numbers take well under a second).</summary>
    public const long ExactReadBytes = 1L << 30;

    /// <summary>
    /// The cheap part of a check, for every open that is about to write: a file shorter than its last used block was
    /// cut (a copy that stopped, a full disk during a copy). DuckDB opens such a file for writing and appends to it;
    /// only reading the lost blocks fails, much later. Reads block numbers from the tables' storage metadata only.
    /// <para>
    /// That metadata is one row per column segment: ~5 s on a 15 GB store. A reader (<paramref name="exact"/> false) of a
    /// file over <see cref="ExactReadBytes"/> first compares the file with DuckDB's block counts: a file that holds all
    /// its blocks is whole, one that holds fewer blocks than are in use was cut (a file cut in half); only a file between
    /// the two (DuckDB leaves free blocks off the end of the file) needs the block numbers, and a reader skips them. A cut
    /// of no more blocks than are free then goes unnoticed until a read needs a lost block (an error, exit 4);
    /// <c>pcapdht check</c> and every writer still read the block numbers.
    /// </para>
    /// </summary>
    /// <exception cref="CorruptDatabaseException">The file is shorter than its blocks.</exception>
    public static void VerifyLength(DuckDBConnection connection, string path, bool exact = true)
    {
        string full = System.IO.Path.GetFullPath(path);
        if (path == ":memory:" || !File.Exists(full)) return;
        long actual = new FileInfo(full).Length;
        if (!exact && actual > ExactReadBytes)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "SELECT block_size, total_blocks, used_blocks FROM pragma_database_size() LIMIT 1";
            using var r = cmd.ExecuteReader();
            if (r.Read())
            {
                long size = Convert.ToInt64(r.GetValue(0)), used = Convert.ToInt64(r.GetValue(2));
                long held = size > 0 ? (actual - HeaderBytes) / size : 0;
                if (held < used)
                    throw new CorruptDatabaseException(
                        $"{path}: the database file is damaged (it is {actual:N0} bytes, room for {held:N0} blocks, but {used:N0} blocks are in use: the file was cut short); {PcapDhtDatabase.CorruptionAdvice}",
                        new IOException($"file shorter than its used blocks: {held} < {used}"));
                // Holds every block, or at least every one in use (the rest may be free blocks DuckDB left off the end).
                return;
            }
        }
        var tables = TableNames(connection);
        if (tables.Count == 0) return;
        string blocks = string.Join(" UNION ALL ", tables.Select(t =>
            $"SELECT max(greatest(block_id, coalesce(list_max(additional_block_ids), -1))) AS b FROM pragma_storage_info('{Sql(t)}')"));
        long maxBlock;
        try
        {
            maxBlock = Scalar<long>(connection, $"SELECT coalesce(max(b), -1) FROM ({blocks})");
        }
        catch (DuckDBException e) when (PcapDhtDatabase.IsCorruption(e.Message))
        {
            // The block list reads compressed segments' headers (bitpacking, dictionary): a damaged block fails here.
            throw new CorruptDatabaseException(
                $"{path}: the database file is damaged (a block does not read: {PcapDhtDatabase.FirstLine(e.Message)}); {PcapDhtDatabase.CorruptionAdvice}", e);
        }
        if (maxBlock < 0) return;
        long blockSize = Scalar<long>(connection, "SELECT block_size FROM pragma_database_size()");
        long needed = HeaderBytes + (maxBlock + 1) * blockSize;
        if (actual < needed)
            throw new CorruptDatabaseException(
                $"{path}: the database file is damaged (it is {actual:N0} bytes, but its block {maxBlock} ends at {needed:N0}: the file was cut short); {PcapDhtDatabase.CorruptionAdvice}",
                new IOException($"file shorter than its blocks: {actual} < {needed}"));
    }

    /// <summary>DuckDB's file starts with three 4 KiB headers (the main one and two alternating database headers).</summary>
    private const long HeaderBytes = 3 * 4096;

    private static void ScanTables(ref DuckDBConnection connection, string path, TimeSpan lockWait, StoreCheckReport report, CancellationToken ct)
    {
        foreach (string table in TableNames(connection))
        {
            ct.ThrowIfCancellationRequested();
            try
            {
                // hash() of the whole row reads every column: count(*) alone is answered from metadata.
                using var cmd = connection.CreateCommand();
                cmd.CommandText = $"SELECT count(*), sum(hash(t)) FROM {table} AS t";
                using var r = cmd.ExecuteReader();
                r.Read();
                report.Tables.Add((table.Replace("\"", ""), r.GetInt64(0)));
            }
            catch (DuckDBException e)
            {
                report.Findings.Add(new CheckFinding(CheckProblem.Damaged, $"table {table.Replace("\"", "")} does not read: {PcapDhtDatabase.FirstLine(e.Message)}"));
                // A checksum error may invalidate the database instance; the next table gets a fresh one.
                connection.Dispose();
                try
                {
                    connection = Open(path, readOnly: true, lockWait);
                }
                catch (StoreException reopen)
                {
                    report.Findings.Add(new CheckFinding(CheckProblem.Damaged, $"the file does not open again: {PcapDhtDatabase.FirstLine(reopen.Message)}"));
                    connection = new DuckDBConnection("Data Source=:memory:");
                    connection.Open();
                    return;
                }
            }
        }
    }

    private static void CheckInvariants(DuckDBConnection c, StoreCheckReport report)
    {
        if (Scalar<long>(c, "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'pcapdht_store' AND table_name = 'capture'") == 0)
            return; // no captures (an ASN-only database): nothing to hold together
        if (PcapDhtDatabase.SchemaMismatch(c, report.Path) is { } mismatch)
        {
            report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, $"{mismatch} (blocks were read; the store's invariants are those of its own version)"));
            return;
        }
        using (var cmd = c.CreateCommand())
        {
            // Node sightings: senders from msg (with their ids from endpoint_dim) plus the rows of node and node6 (as stored).
            // A pruned store (pcapdht prune, --keep-detail) counts per capture the rows it deleted: rows + pruned = counter.
            string pruned = StoreRetention.HasPrunedTable(c)
                ? "pcapdht_store.detail_pruned"
                : "(SELECT NULL::INTEGER AS capture_id, 0 AS msg, 0 AS sender, 0 AS node, 0 AS node6, 0 AS peer, 0 AS malformed WHERE false)";
            // Up to schema 4, msg held the sender's id itself (d.id_a); from 5 it is in endpoint_dim (no view: a file whose
            // ingest died before its views were committed is checked too).
            string senders = PcapDhtDatabase.StoredVersion(c) >= 5 ? StoreSchema.SenderRows : "pcapdht_store.msg";
            cmd.CommandText = $"""
                WITH m AS (SELECT capture_id, count(*) AS n FROM pcapdht_store.msg GROUP BY ALL),
                     b AS (SELECT capture_id, count(*) AS n FROM pcapdht_store.malformed GROUP BY ALL),
                     s AS (SELECT capture_id, count(*) AS n FROM (
                         SELECT capture_id FROM {senders} WHERE {StoreSchema.NodeSender}
                         UNION ALL SELECT capture_id FROM pcapdht_store.node UNION ALL SELECT capture_id FROM pcapdht_store.node6) GROUP BY ALL),
                     p AS (SELECT capture_id, count(*) AS n FROM pcapdht_store.peer GROUP BY ALL),
                     x AS (SELECT * FROM {pruned})
                SELECT c.capture_id, c.status, c.kind,
                       c.krpc_messages, (coalesce(m.n, 0) + coalesce(x.msg, 0))::BIGINT, c.malformed_krpc, (coalesce(b.n, 0) + coalesce(x.malformed, 0))::BIGINT,
                       c.node_sightings, (coalesce(s.n, 0) + coalesce(x.sender + x.node + x.node6, 0))::BIGINT, c.peer_sightings, (coalesce(p.n, 0) + coalesce(x.peer, 0))::BIGINT,
                       c.first_ts_ns, c.last_ts_ns
                FROM pcapdht_store.capture c
                LEFT JOIN m USING (capture_id) LEFT JOIN b USING (capture_id) LEFT JOIN s USING (capture_id) LEFT JOIN p USING (capture_id)
                LEFT JOIN x USING (capture_id)
                ORDER BY c.capture_id
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                report.CapturesChecked++;
                int id = r.GetInt32(0);
                string status = r.GetString(1);
                var pairs = new (string Name, long Counter, long Rows)[]
                {
                    ("krpc_messages", r.GetInt64(3), r.GetInt64(4)),
                    ("malformed_krpc", r.GetInt64(5), r.GetInt64(6)),
                    ("node_sightings", r.GetInt64(7), r.GetInt64(8)),
                    ("peer_sightings", r.GetInt64(9), r.GetInt64(10)),
                };
                foreach (var (name, counter, rows) in pairs)
                {
                    bool ok = status switch
                    {
                        "complete" or "partial" => counter == rows,
                        // A live capture that died between its two commits keeps that interval's sightings, not its messages.
                        "interrupted" => name is "node_sightings" or "peer_sightings" ? rows >= counter : counter == rows,
                        "failed" => rows == 0,
                        _ => true, // running: between commits (a dead writer is reported below)
                    };
                    if (!ok)
                        report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, status == "failed"
                            ? $"capture {id} failed but still has {rows} {name} rows"
                            : $"capture {id} ({status}) records {counter} {name} but has {rows} rows"));
                }
                if (status is not ("complete" or "partial" or "interrupted" or "failed" or "running"))
                    report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, $"capture {id} has unknown status '{status}'"));
                if (!r.IsDBNull(11) && !r.IsDBNull(12) && r.GetInt64(11) > r.GetInt64(12))
                    report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, $"capture {id} ends before it begins (first_ts_ns > last_ts_ns)"));
            }
        }
        bool rollups = PcapDhtDatabase.StoredVersion(c) >= 3; // an older store gets them when it is next opened for writing
        if (rollups) CheckRollups(c, report);
        if (rollups && AddressIndex.Mismatches(c) is { Count: > 0 } index)
            report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent,
                $"{IndexMismatch}: {index.Count} addresses differ (e.g. {index.Example}); reports read it, check --compact rebuilds it"));
        // An older store gets node_dim (4) and endpoint_dim (5) when next opened for writing.
        if (PcapDhtDatabase.StoredVersion(c) >= 4)
            CheckKeys(c, report, "node_dim", "n", "a contact", "node/node6",
                "SELECT capture_id, n.k AS k FROM pcapdht_store.node UNION ALL SELECT capture_id, n.k FROM pcapdht_store.node6");
        if (PcapDhtDatabase.StoredVersion(c) >= 5)
            CheckKeys(c, report, "endpoint_dim", "e", "an endpoint", "msg",
                "SELECT capture_id, d.src_k AS k FROM pcapdht_store.msg UNION ALL SELECT capture_id, d.dst_k FROM pcapdht_store.msg");
        // A table of a newer schema (node_dim, endpoint_dim) is not in an older store until it is next opened for writing.
        foreach (string table in (rollups ? StoreSchema.CaptureTables : StoreSchema.DataTables).Where(t => StoreRetention.TableExists(c, t)))
        {
            long orphans = Scalar<long>(c, $"SELECT count(*) FROM pcapdht_store.{table} WHERE capture_id NOT IN (SELECT capture_id FROM pcapdht_store.capture)");
            if (orphans > 0)
                report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, $"{orphans} rows of pcapdht_store.{table} belong to no capture"));
        }
        foreach (int id in PcapDhtDatabase.FindInterruptedCaptures(c))
            report.Findings.Add(new CheckFinding(CheckProblem.Unfinished,
                $"capture {id} is 'running' but no pcapdht process writes it: its writer died (check --compact, or the next ingest or sniff, marks it failed or interrupted)"));
    }

    /// <summary>
    /// Every key the rows (<paramref name="keys"/>: capture_id, k) name is held exactly once by the dimension table of its
    /// capture (node_dim for the node and node6 rows' contacts, endpoint_dim for msg's senders and destinations): a row whose
    /// key is missing would vanish from the views and the rollups, and a key held twice would count its rows twice.
    /// </summary>
    private static void CheckKeys(DuckDBConnection c, StoreCheckReport report, string dim, string s, string what, string rows, string keys)
    {
        long dangling = Scalar<long>(c, $"""
            SELECT count(*) FROM ({keys}) x ANTI JOIN pcapdht_store.{dim} d ON d.capture_id = x.capture_id AND d.{s}.k = x.k
            """);
        if (dangling > 0)
            report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, $"{dangling} keys in rows of pcapdht_store.{rows} name {what} that pcapdht_store.{dim} does not hold"));
        long doubled = Scalar<long>(c, $"SELECT count(*) - count(DISTINCT (capture_id, {s}.k)) FROM pcapdht_store.{dim}");
        if (doubled > 0)
            report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, $"{doubled} keys of pcapdht_store.{dim} are held more than once in their capture"));
    }

    /// <summary>
    /// Each capture's daily rollups against its counters, where they are equal by construction: the messages of
    /// msg_day, sender_day and the direct kinds of addr_day are its KRPC messages (by y: queries, responses, errors),
    /// malformed_day its malformed datagrams, the node kinds of addr_day and id_day its node sightings, the peer kind
    /// its peer sightings. A commit whose rollups were lost or doubled, or rows deleted without their rollups, shows
    /// here; so does a row whose times are not on its day. Detail rows removed by retention do not matter: the
    /// counters and rollups stay.
    /// </summary>
    private static void CheckRollups(DuckDBConnection c, StoreCheckReport report)
    {
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = """
                WITH m AS (SELECT capture_id, sum(messages)::BIGINT AS n, sum(messages) FILTER (y = 113)::BIGINT AS q,
                               sum(messages) FILTER (y = 114)::BIGINT AS r, sum(messages) FILTER (y NOT IN (113, 114))::BIGINT AS e
                           FROM pcapdht_store.msg_day GROUP BY ALL),
                     s AS (SELECT capture_id, sum(messages)::BIGINT AS n FROM pcapdht_store.sender_day GROUP BY ALL),
                     b AS (SELECT capture_id, sum(datagrams)::BIGINT AS n FROM pcapdht_store.malformed_day GROUP BY ALL),
                     a AS (SELECT capture_id, sum(sightings) FILTER (kind IN (1, 2))::BIGINT AS direct,
                               sum(sightings) FILTER (kind IN (0, 1))::BIGINT AS nodes, sum(sightings) FILTER (kind = 3)::BIGINT AS peers
                           FROM pcapdht_store.addr_day GROUP BY ALL),
                     i AS (SELECT capture_id, sum(sightings)::BIGINT AS n FROM pcapdht_store.id_day GROUP BY ALL)
                SELECT c.capture_id, c.status,
                    c.krpc_messages, coalesce(m.n, 0), c.krpc_messages, coalesce(s.n, 0), c.krpc_messages, coalesce(a.direct, 0),
                    c.queries, coalesce(m.q, 0), c.responses, coalesce(m.r, 0), c.errors, coalesce(m.e, 0),
                    c.malformed_krpc, coalesce(b.n, 0),
                    c.node_sightings, coalesce(a.nodes, 0), c.node_sightings, coalesce(i.n, 0), c.peer_sightings, coalesce(a.peers, 0)
                FROM pcapdht_store.capture c
                LEFT JOIN m USING (capture_id) LEFT JOIN s USING (capture_id) LEFT JOIN b USING (capture_id)
                LEFT JOIN a USING (capture_id) LEFT JOIN i USING (capture_id)
                ORDER BY c.capture_id
                """;
            string[] names = ["krpc_messages (msg_day)", "krpc_messages (sender_day)", "krpc_messages (addr_day senders)",
                "queries (msg_day)", "responses (msg_day)", "errors (msg_day)", "malformed_krpc (malformed_day)",
                "node_sightings (addr_day)", "node_sightings (id_day)", "peer_sightings (addr_day)"];
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                int id = r.GetInt32(0);
                string status = r.GetString(1);
                for (int k = 0; k < names.Length; k++)
                {
                    long counter = Convert.ToInt64(r.GetValue(2 + 2 * k), System.Globalization.CultureInfo.InvariantCulture);
                    long rolled = Convert.ToInt64(r.GetValue(3 + 2 * k), System.Globalization.CultureInfo.InvariantCulture);
                    bool ok = status switch
                    {
                        "complete" or "partial" => rolled == counter,
                        // As for the rows: a live capture that died between its two commits keeps that interval's sightings.
                        "interrupted" => k >= 7 ? rolled >= counter : rolled == counter,
                        "failed" => rolled == 0,
                        _ => true,
                    };
                    if (!ok)
                        report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, status == "failed"
                            ? $"capture {id} failed but its daily rollups still count {rolled} {names[k]}"
                            : $"capture {id} ({status}) records {counter} {names[k]} but its daily rollups count {rolled}"));
                }
            }
        }
        foreach (string table in RollupSchema.Tables)
        {
            long bad = Scalar<long>(c, $"""
                SELECT count(*) FROM pcapdht_store.{table} WHERE first_us > last_us
                    OR day <> DATE '1970-01-01' + CAST(first_us // 86400000000 AS INTEGER)
                    OR day <> DATE '1970-01-01' + CAST(last_us // 86400000000 AS INTEGER)
                """);
            if (bad > 0)
                report.Findings.Add(new CheckFinding(CheckProblem.Inconsistent, $"{bad} rows of pcapdht_store.{table} have first/last times outside their day"));
        }
    }

    /// <summary>Running live captures whose sniffer is alive.</summary>
    private static List<int> LiveWriters(DuckDBConnection c)
    {
        var dead = PcapDhtDatabase.FindInterruptedCaptures(c).ToHashSet();
        var live = new List<int>();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT capture_id FROM pcapdht_store.capture WHERE status = 'running'";
        try
        {
            using var r = cmd.ExecuteReader();
            while (r.Read()) if (!dead.Contains(r.GetInt32(0))) live.Add(r.GetInt32(0));
        }
        catch (DuckDBException)
        {
            // No store in this file.
        }
        return live;
    }

    private static Dictionary<string, long> TableCounts(DuckDBConnection c)
    {
        var counts = new Dictionary<string, long>();
        foreach (string t in TableNames(c)) counts[t] = Scalar<long>(c, $"SELECT count(*) FROM {t}");
        return counts;
    }

    /// <summary>Every table of the connection's database, as quoted "schema"."table", in name order.</summary>
    private static List<string> TableNames(DuckDBConnection c)
    {
        var names = new List<string>();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT '"' || replace(schema_name, '"', '""') || '"."' || replace(table_name, '"', '""') || '"'
            FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary ORDER BY schema_name, table_name
            """;
        using var r = cmd.ExecuteReader();
        while (r.Read()) names.Add(r.GetString(0));
        return names;
    }

    private static DuckDBConnection Open(string path, bool readOnly, TimeSpan lockWait)
    {
        var c = PcapDhtDatabase.OpenPlain(System.IO.Path.GetFullPath(path), readOnly, lockWait);
        try
        {
            // Check and compact stream through the file: at DuckDB's default the buffer pool grew to 20.7 GB of 23 GB.
            SetMemoryLimit(c, PcapDhtDatabase.MaintenanceMemoryLimit);
            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    private static long FileBytes(string path) =>
        new FileInfo(path).Length + (File.Exists(path + ".wal") ? new FileInfo(path + ".wal").Length : 0);

    private static void DeleteWithWal(string path)
    {
        File.Delete(path);
        File.Delete(path + ".wal");
    }

    private static void FlushToDisk(string path)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        f.Flush(flushToDisk: true);
    }

    private static string Sql(string s) => s.Replace("'", "''");

    /// <summary>
    /// Sets DuckDB's memory limit (per database instance, so for every connection of the process) to <paramref name="limit"/>
    /// until disposed, then back to <paramref name="restore"/> (<see cref="PcapDhtDatabase.MemoryLimit"/>: the exact value set
    /// before), else to what DuckDB shows now (rounded down to 0.1 MiB): for the statements after an ingest (a prune, the
    /// address index) that need more than the ingest's appends.
    /// </summary>
    internal static IDisposable MemoryLimitScope(DuckDBConnection c, string limit, string? restore = null)
    {
        string before = restore ?? Scalar<string>(c, "SELECT current_setting('memory_limit')")!;
        SetMemoryLimit(c, limit);
        return new Restore(c, before);
    }

    /// <summary>Sets DuckDB's memory limit (per database instance) to <paramref name="limit"/>, e.g. <c>2GB</c>.</summary>
    internal static void SetMemoryLimit(DuckDBConnection c, string limit) =>
        Execute(c, $"SET memory_limit = '{limit.Replace("'", "", StringComparison.Ordinal)}'");

    private sealed class Restore(DuckDBConnection c, string limit) : IDisposable
    {
        public void Dispose()
        {
            try { SetMemoryLimit(c, limit); }
            catch (DuckDBException) { /* the connection is gone with an error; the next open sets its own */ }
        }
    }

    internal static void Execute(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>The first column of the first row as <typeparamref name="T"/> (also a nullable type); default for NULL.</summary>
    internal static T? Scalar<T>(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        object? v = cmd.ExecuteScalar();
        if (v is null or DBNull) return default;
        return (T)Convert.ChangeType(v, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}
