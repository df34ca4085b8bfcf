using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Anonymize;
using PcapDht.Enrich;
using PcapDht.Store;

namespace PcapDht.Export;

public sealed record ExportOptions
{
    public required string Lake { get; init; }
    public required string Database { get; init; }
    public required string Sensor { get; init; }
    /// <summary>Only rows with ts at or after this (inclusive); null: from the start.</summary>
    public DateTimeOffset? Since { get; init; }
    /// <summary>Only rows with ts at or before this (inclusive); null: to the end.</summary>
    public DateTimeOffset? Until { get; init; }
    /// <summary>Anonymize every address with this key (Crypto-PAn); null: a plain export.</summary>
    public AnonymizationKey? Key { get; init; }
    /// <summary>Replace node ids by a keyed hash (needs <see cref="Key"/>).</summary>
    public bool AnonymizeIds { get; init; }
}

public sealed record ExportSummary
{
    public required string Lake { get; init; }
    public required string Sensor { get; init; }
    /// <summary>The batch written; null when there was nothing new to export.</summary>
    public string? Batch { get; init; }
    public IReadOnlyList<ExportedCapture> Captures { get; init; } = [];
    public IReadOnlyDictionary<string, long> Rows { get; init; } = new Dictionary<string, long>();
    public int Files { get; init; }
    /// <summary>Captures not exported and why (still running, a file exported before under another id).</summary>
    public IReadOnlyList<string> Skipped { get; init; } = [];
    /// <summary>Batches of an earlier export that crashed before it committed, removed now.</summary>
    public int RolledBack { get; init; }
    public bool Anonymized { get; init; }
    public bool Enriched { get; init; }
}

/// <summary>
/// <c>pcapdht export</c>: writes a database's captures not yet in the lake as one batch of Parquet files
/// (DuckDB's own writer, through the public relations of docs/schema.md, so a new storage layout does not
/// change the lake), enriched with ASN and country, optionally anonymized. A batch becomes part of the lake
/// in one step, the rename of its manifest; until then its files carry the batch id, and the next export
/// removes what a crashed one left (docs/scale.md, "export").
/// </summary>
public static class LakeExporter
{
    public static ExportSummary Run(ExportOptions options, CancellationToken cancel = default)
    {
        if (LakeLayout.SensorNameError(options.Sensor) is { } bad) throw new LakeException(bad);
        if (options.AnonymizeIds && options.Key is null) throw new LakeException("--anonymize-ids needs --anonymize KEYFILE");
        string lake = Path.GetFullPath(options.Lake);
        string tool = typeof(LakeExporter).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        var now = DateTimeOffset.UtcNow;
        try
        {
            Directory.CreateDirectory(lake);
            var wanted = new LakeInfo
            {
                Anonymized = options.Key is not null,
                KeyFingerprint = options.Key is null ? null : LakeAnonymizer.Fingerprint(options.Key),
                IdsHashed = options.AnonymizeIds,
                Created = now,
                ToolVersion = tool,
            };
            var info = LakeFiles.EnsureLakeInfo(lake, wanted);
            if (wanted.MismatchWith(info, options.Lake) is { } why) throw new LakeException(why);
            string sensorDir = LakeLayout.SensorDir(lake, options.Sensor);
            Directory.CreateDirectory(sensorDir);
            using var held = Lock(sensorDir, options);
            int rolledBack = Recover(lake, options.Sensor);
            var manifests = LakeFiles.ReadManifests(lake, options.Sensor);
            using var db = PcapDhtDatabase.OpenConnection(options.Database, readOnly: true);
            var plan = Plan(db, options, manifests);
            if (plan.Work.Count == 0)
                return new ExportSummary { Lake = lake, Sensor = options.Sensor, Skipped = plan.Skipped, RolledBack = rolledBack, Anonymized = wanted.Anonymized };
            cancel.ThrowIfCancellationRequested();
            string batch = LakeLayout.NewBatchId(now);
            return WriteBatch(db, lake, options, batch, plan, manifests, tool, now, cancel) with { RolledBack = rolledBack, Skipped = plan.Skipped };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LakeException(IoMessage(ex, options.Lake), ex);
        }
    }

    private sealed record Work(ExportedCapture Capture, bool New, string Predicate);

    private sealed record ExportPlan(List<Work> Work, List<string> Skipped);

    /// <summary>Which captures (and which of their rows) this export writes.</summary>
    private static ExportPlan Plan(DuckDBConnection db, ExportOptions options, List<BatchManifest> manifests)
    {
        var work = new List<Work>();
        var skipped = new List<string>();
        if (!RangeStore.RelationExists(db, LakeLayout.CapturesRelation))
            throw new LakeException($"{options.Database} holds no captures (pcapdht ingest or sniff writes them)");
        var exported = manifests.SelectMany(m => m.Captures).ToList();
        long? since = options.Since is { } s ? Analysis.Reports.ToMicros(s) : null;
        long? until = options.Until is { } u ? Analysis.Reports.ToMicros(u) : null;
        using var cmd = db.CreateCommand();
        cmd.CommandText = """
            SELECT capture_id, sha256, source, kind, status, epoch_us(started_at), first_ts_ns // 1000, last_ts_ns // 1000
            FROM captures ORDER BY capture_id
            """;
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            var capture = new ExportedCapture
            {
                CaptureId = r.GetInt32(0),
                Sha256 = r.IsDBNull(1) ? null : r.GetString(1),
                Source = r.GetString(2),
                Kind = r.GetString(3),
                StartedAtUs = r.GetInt64(5),
                SinceUs = since,
                UntilUs = until,
            };
            string status = r.GetString(4);
            long? first = r.IsDBNull(6) ? null : r.GetInt64(6), last = r.IsDBNull(7) ? null : r.GetInt64(7);
            string name = $"capture {capture.CaptureId} ({Path.GetFileName(capture.Source)})";
            var before = exported.Where(e => e.CaptureId == capture.CaptureId).ToList();
            if (before.Find(e => !e.IsSameCapture(capture)) is { } other)
                throw new LakeException($"sensor '{options.Sensor}' in {options.Lake} already holds a capture {other.CaptureId} ({Path.GetFileName(other.Source)}) that is not capture {capture.CaptureId} of {options.Database}: export each database under its own --sensor");
            if (status == "running")
            {
                skipped.Add($"{name} is still being written: it is exported once it ends");
                continue;
            }
            if (before.Count == 0 && capture.Sha256 is not null && exported.Find(e => e.Sha256 == capture.Sha256) is { } same)
            {
                skipped.Add($"{name} holds the same file as capture {same.CaptureId}, exported before (pcapdht ingest --force gave it a new id): skipped, the lake only grows");
                continue;
            }
            // The rows still to write: in the window, and not in any window exported before. A capture without
            // frames (failed, empty) is written once, as its captures row.
            var done = before.Select(e => (Lo: e.SinceUs ?? long.MinValue, Hi: e.UntilUs ?? long.MaxValue)).ToList();
            long lo = Math.Max(since ?? long.MinValue, first ?? long.MinValue), hi = Math.Min(until ?? long.MaxValue, last ?? long.MaxValue);
            bool hasRows = first is not null && lo <= hi;
            if (before.Count > 0 && (!hasRows || Covered(done, lo, hi))) continue;
            if (before.Count == 0 && !hasRows && first is not null) continue; // frames, but none in the window
            var sql = new StringBuilder($"capture_id = {capture.CaptureId}");
            if (since is not null) sql.Append(CultureInfo.InvariantCulture, $" AND epoch_us(ts) >= {since}");
            if (until is not null) sql.Append(CultureInfo.InvariantCulture, $" AND epoch_us(ts) <= {until}");
            foreach (var (a, b) in done) sql.Append(CultureInfo.InvariantCulture, $" AND NOT (epoch_us(ts) BETWEEN {a} AND {b})");
            work.Add(new Work(capture, before.Count == 0, sql.ToString()));
        }
        return new ExportPlan(work, skipped);
    }

    /// <summary>Whether [lo, hi] lies inside the union of the intervals.</summary>
    private static bool Covered(List<(long Lo, long Hi)> intervals, long lo, long hi)
    {
        foreach (var (a, b) in intervals.OrderBy(i => i.Lo))
        {
            if (a > lo) return false;
            if (b >= hi) return true;
            lo = Math.Max(lo, b + 1);
        }
        return false;
    }

    private static ExportSummary WriteBatch(DuckDBConnection db, string lake, ExportOptions options, string batch, ExportPlan plan,
        List<BatchManifest> manifests, string tool, DateTimeOffset now, CancellationToken cancel)
    {
        string sensor = options.Sensor;
        string pending = LakeLayout.PendingPath(lake, sensor, batch);
        string staging = LakeLayout.StagingDir(lake, sensor, batch);
        File.WriteAllText(pending, batch + "\n");
        bool committed = false;
        try
        {
            Directory.CreateDirectory(staging);
            var files = new Dictionary<string, List<string>>(StringComparer.Ordinal);
            var rows = new Dictionary<string, long>(StringComparer.Ordinal);
            string rowFilter = string.Join(" OR ", plan.Work.Select(w => "(" + w.Predicate + ")"));
            // A rollup row (one capture, day and key) goes with the window that holds its first sighting: written once.
            string rollupFilter = rowFilter.Replace("epoch_us(ts)", "first_us", StringComparison.Ordinal);
            var sources = new Dictionary<string, (string Rows, List<LakeColumn> Columns)>(StringComparer.Ordinal);
            foreach (var relation in LakeLayout.DayRelations)
            {
                if (!RangeStore.RelationExists(db, relation)) continue;
                bool rollup = LakeLayout.RollupRelations.Contains(relation);
                var columns = LakeColumns.Describe(db, relation);
                // A rollup's day is its partition; node_id_days' id_key repeats node_id as numbers (which --anonymize-ids
                // could not hash): the reader rebuilds it from node_id.
                if (rollup) columns.RemoveAll(c => c.Name is "day" or "id_key");
                sources[relation] = ($"(SELECT * FROM {relation} WHERE {(rollup ? rollupFilter : rowFilter)})", columns);
            }
            bool enrich = RangeStore.RelationExists(db, "asn_ranges") && RangeStore.RelationExists(db, "country_ranges");
            using var anonymizer = options.Key is null ? null : new LakeAnonymizer(options.Key, options.AnonymizeIds);
            anonymizer?.Prepare(db, sources);
            foreach (var (relation, (source, columns)) in sources)
            {
                cancel.ThrowIfCancellationRequested();
                string enrichIp = LakeLayout.EnrichedRelations.FirstOrDefault(e => e.Relation == relation).IpColumn;
                string from = enrichIp is null ? source
                    : enrich ? $"({RangeStore.EnrichedSelect(source, enrichIp)})"
                    : $"(SELECT *, NULL::UINTEGER AS asn, NULL::VARCHAR AS as_name, NULL::VARCHAR AS country FROM {source} x)";
                var (list, joins) = SelectList(relation, columns, anonymizer);
                if (enrichIp is not null) list += ", e.asn, e.as_name, e.country";
                if (anonymizer is not null && LakeAnonymizer.Bep42Pairs.FirstOrDefault(p => p.Relation == relation) is { Relation: not null } pair
                    && columns.Exists(c => c.Name == pair.Ip) && columns.Exists(c => c.Name == pair.Id))
                {
                    list += ", b.valid AS bep42_valid";
                    joins += $" LEFT JOIN {LakeAnonymizer.Bep42Table} b ON b.ip = e.{pair.Ip} AND b.id = e.{pair.Id}";
                }
                string dir = Path.Combine(staging, relation);
                Copy(db, $"""
                    SELECT {list}, {(LakeLayout.RollupRelations.Contains(relation) ? "strftime(e.day, '%Y-%m-%d')" : "strftime(make_timestamp(epoch_us(e.ts)), '%Y-%m-%d')")} AS day FROM {from} e {joins}
                    """, dir, $"PARTITION_BY (day), FILENAME_PATTERN 'part-{batch}-{{i}}'");
                files[relation] = Place(lake, dir, Path.Combine(LakeLayout.RelationDir(lake, relation, sensor)));
                rows[relation] = RowsIn(db, lake, files[relation]);
            }
            var newCaptures = plan.Work.Where(w => w.New).Select(w => w.Capture.CaptureId).ToList();
            if (newCaptures.Count > 0)
            {
                var columns = LakeColumns.Describe(db, LakeLayout.CapturesRelation);
                var (list, _) = SelectList(LakeLayout.CapturesRelation, columns, anonymizer);
                rows[LakeLayout.CapturesRelation] = CopyOne(db, lake, staging, LakeLayout.CapturesRelation, sensor, batch,
                    $"SELECT {list} FROM captures e WHERE capture_id IN ({string.Join(", ", newCaptures)}) ORDER BY capture_id", files);
            }
            string? datasets = DatasetsHash(db);
            if (datasets is not null && datasets != manifests.LastOrDefault(m => m.DatasetsSha256 is not null)?.DatasetsSha256)
                rows[LakeLayout.DatasetsRelation] = CopyOne(db, lake, staging, LakeLayout.DatasetsRelation, sensor, batch,
                    "SELECT * FROM datasets ORDER BY kind, file_name", files);
            cancel.ThrowIfCancellationRequested();
            var manifest = new BatchManifest
            {
                Batch = batch,
                Sensor = sensor,
                Created = now,
                ToolVersion = tool,
                Database = Path.GetFileName(options.Database),
                Captures = plan.Work.Select(w => w.Capture).ToList(),
                Files = files,
                Rows = rows,
                DatasetsSha256 = datasets,
                DetailPrunedBeforeUs = Analysis.Reports.DetailPrunedBefore(db),
            };
            // The commit: from here on the batch is part of the lake.
            LakeFiles.WriteAtomically(LakeLayout.ManifestPath(lake, sensor, batch), manifest);
            committed = true;
            return new ExportSummary
            {
                Lake = lake, Sensor = sensor, Batch = batch, Captures = manifest.Captures, Rows = rows,
                Files = files.Values.Sum(f => f.Count), Anonymized = anonymizer is not null, Enriched = enrich,
            };
        }
        catch (DuckDBException ex)
        {
            throw new LakeException(DuckMessage(ex, options), ex);
        }
        finally
        {
            if (!committed) RemoveBatch(lake, sensor, batch);
            TryDelete(() => Directory.Delete(staging, recursive: true), staging);
            if (committed) TryDelete(() => File.Delete(pending), pending);
        }
    }

    /// <summary>
    /// The SELECT list of one relation over its rows <c>e</c>, and the joins it needs: address numbers as two halves
    /// (<see cref="LakeColumns"/>); when anonymizing, each address number and its text twin from the mapping, ids
    /// hashed with <c>--anonymize-ids</c>, the malformed payload rewritten, a capture's source without directories.
    /// </summary>
    private static (string List, string Joins) SelectList(string relation, List<LakeColumn> columns, LakeAnonymizer? anonymizer)
    {
        var mapped = new Dictionary<string, string>(StringComparer.Ordinal); // text column -> alias of its mapping
        var joins = new StringBuilder();
        int n = 0;
        if (anonymizer is not null)
        {
            foreach (var c in columns.Where(LakeColumns.IsAddressNumber))
            {
                string alias = "a" + n++;
                joins.Append(CultureInfo.InvariantCulture, $" LEFT JOIN {LakeAnonymizer.AddressTable} {alias} ON {alias}.real = e.{LakeColumns.Quote(c.Name)}");
                mapped[c.Name] = alias;
                mapped[LakeColumns.TextTwin(c.Name)] = alias;
            }
            if (anonymizer.HashIds)
                foreach (var c in columns.Where(c => LakeAnonymizer.IdColumns.Contains(c.Name) && c.Type == "BLOB"))
                {
                    string alias = "i" + n++;
                    joins.Append(CultureInfo.InvariantCulture, $" LEFT JOIN {LakeAnonymizer.IdTable} {alias} ON {alias}.real = e.{c.Name}");
                    mapped[c.Name] = alias;
                }
            if (relation == "malformed_krpc")
                joins.Append($" LEFT JOIN {LakeAnonymizer.PayloadTable} p ON p.capture_id = e.capture_id AND p.frame_no = e.frame_no");
        }
        var list = new StringBuilder();
        foreach (var c in columns)
        {
            string q = LakeColumns.Quote(c.Name);
            string item;
            if (LakeColumns.IsAddressNumber(c))
            {
                string value = mapped.TryGetValue(c.Name, out var a) ? $"{a}.anon" : $"e.{q}";
                item = $"{LakeColumns.Hi(value)} AS {LakeColumns.Quote(c.Name + LakeColumns.HiSuffix)}, {LakeColumns.Lo(value)} AS {LakeColumns.Quote(c.Name + LakeColumns.LoSuffix)}";
            }
            else if (anonymizer is null) item = $"e.{q}";
            else if (c.Type == "VARCHAR" && mapped.TryGetValue(c.Name, out var t)) item = $"pcapdht_ip_text({t}.anon) AS {q}";
            else if (anonymizer.HashIds && LakeAnonymizer.IdColumns.Contains(c.Name) && mapped.TryGetValue(c.Name, out var i)) item = $"{i}.hashed AS {q}";
            else if (anonymizer.HashIds && LakeAnonymizer.IdPrefixColumns.TryGetValue(c.Name, out var of) && mapped.TryGetValue(of, out var j)) item = $"{j}.prefix AS {q}";
            else if (relation == "malformed_krpc" && c.Name == "payload") item = $"p.payload AS {q}";
            else if (relation == LakeLayout.CapturesRelation && c.Name == "source")
                // A shared lake does not carry the sensor's local paths (user names, directory layout).
                item = $"CASE WHEN e.kind = 'file' THEN regexp_replace(e.source, '^.*/', '') ELSE e.source END AS {q}";
            else item = $"e.{q}";
            if (list.Length > 0) list.Append(", ");
            list.Append(item);
        }
        return (list.ToString(), joins.ToString());
    }

    private static void Copy(DuckDBConnection db, string select, string target, string options)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"COPY ({select}) TO {LakeColumns.Literal(target)} (FORMAT parquet, COMPRESSION zstd, {options})";
        cmd.ExecuteNonQuery();
    }

    /// <summary>The rows in written files, from their Parquet footers (what the manifest records is what a reader finds).</summary>
    private static long RowsIn(DuckDBConnection db, string lake, List<string> files)
    {
        if (files.Count == 0) return 0;
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT CAST(coalesce(sum(num_rows), 0) AS BIGINT) FROM parquet_file_metadata([{string.Join(", ", files.Select(f => LakeColumns.Literal(Path.Combine(lake, f))))}])";
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>A relation written as one file per batch (captures, datasets): DIR/RELATION/sensor=NAME/part-BATCH.parquet.</summary>
    private static long CopyOne(DuckDBConnection db, string lake, string staging, string relation, string sensor, string batch, string select,
        Dictionary<string, List<string>> files)
    {
        string name = $"part-{batch}.parquet";
        string staged = Path.Combine(staging, relation + "-" + name);
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"COPY ({select}) TO {LakeColumns.Literal(staged)} (FORMAT parquet, COMPRESSION zstd)";
            cmd.ExecuteNonQuery();
        }
        string dir = LakeLayout.RelationDir(lake, relation, sensor);
        Directory.CreateDirectory(dir);
        File.Move(staged, Path.Combine(dir, name));
        files[relation] = [Relative(lake, Path.Combine(dir, name))];
        return RowsIn(db, lake, files[relation]);
    }

    /// <summary>Moves DuckDB's partitioned output (day=D/part-…) under the sensor's directory of the relation; returns the lake-relative paths.</summary>
    private static List<string> Place(string lake, string staged, string target)
    {
        var placed = new List<string>();
        if (!Directory.Exists(staged)) return placed;
        foreach (var file in Directory.EnumerateFiles(staged, "*.parquet", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string rel = Path.GetRelativePath(staged, file);
            string dest = Path.Combine(target, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Move(file, dest);
            placed.Add(Relative(lake, dest));
        }
        return placed;
    }

    private static string Relative(string lake, string path) => Path.GetRelativePath(lake, path).Replace('\\', '/');

    /// <summary>
    /// A hash of the database's data set records (null without any): a batch writes them only when they differ from
    /// those the sensor's last batch recorded, so the lake holds each sensor's data sets once per change.
    /// </summary>
    private static string? DatasetsHash(DuckDBConnection db)
    {
        if (!RangeStore.RelationExists(db, LakeLayout.DatasetsRelation)) return null;
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT count(*), coalesce(string_agg(CAST(d AS VARCHAR), '\n' ORDER BY CAST(d AS VARCHAR)), '') FROM datasets d";
        using var r = cmd.ExecuteReader();
        r.Read();
        if (r.GetInt64(0) == 0) return null;
        return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(r.GetString(1))));
    }

    /// <summary>One export per sensor at a time (others may export other sensors into the same lake meanwhile).</summary>
    private static FileStream Lock(string sensorDir, ExportOptions options)
    {
        string path = Path.Combine(sensorDir, "lock");
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            throw new LakeLockedException($"another export of sensor '{options.Sensor}' into {options.Lake} is running; wait for it to finish");
        }
    }

    /// <summary>
    /// Removes what exports of this sensor that never committed left behind: their files (named by the batch id)
    /// and staging directories. Returns how many such batches there were.
    /// </summary>
    private static int Recover(string lake, string sensor)
    {
        string dir = LakeLayout.SensorDir(lake, sensor);
        int n = 0;
        foreach (var pending in Directory.EnumerateFiles(dir, "batch-*.pending"))
        {
            string batch = Path.GetFileNameWithoutExtension(pending)["batch-".Length..];
            if (!File.Exists(LakeLayout.ManifestPath(lake, sensor, batch)))
            {
                RemoveBatch(lake, sensor, batch);
                n++;
            }
            File.Delete(pending);
        }
        foreach (var staging in Directory.EnumerateDirectories(dir, "staging-*"))
            Directory.Delete(staging, recursive: true);
        foreach (var tmp in Directory.EnumerateFiles(dir, "*.tmp"))
            File.Delete(tmp);
        return n;
    }

    private static void RemoveBatch(string lake, string sensor, string batch)
    {
        foreach (var relation in LakeLayout.AllRelations)
        {
            string dir = LakeLayout.RelationDir(lake, relation, sensor);
            if (!Directory.Exists(dir)) continue;
            foreach (var file in Directory.EnumerateFiles(dir, "part-*", SearchOption.AllDirectories))
                if (LakeLayout.IsBatchFile(Path.GetFileName(file), batch)) TryDelete(() => File.Delete(file), file);
        }
        TryDelete(() => File.Delete(LakeLayout.PendingPath(lake, sensor, batch)), batch);
    }

    private static void TryDelete(Action delete, string what)
    {
        try { delete(); }
        catch (DirectoryNotFoundException) { }
        catch (FileNotFoundException) { }
        catch (IOException) { /* the next export's recovery removes it: its batch id marks it */ _ = what; }
    }

    private static string DuckMessage(DuckDBException ex, ExportOptions options)
    {
        string msg = PcapDhtDatabase.FirstLine(ex.Message);
        if (msg.Contains("No space left", StringComparison.OrdinalIgnoreCase))
            return $"no space left on the device holding {options.Lake}; nothing of this export was kept (free space and export again)";
        return $"export to {options.Lake} failed: {msg}; nothing of this export was kept";
    }

    private static string IoMessage(Exception ex, string lake)
    {
        if ((ex.HResult & 0xFFFF) == 28 || ex.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase))
            return $"no space left on the device holding {lake}; nothing of this export was kept (free space and export again)";
        return $"cannot write the lake {lake}: {ex.Message}";
    }
}
