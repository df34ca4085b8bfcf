using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Enrich;

namespace PcapDht.Export;

/// <summary>
/// <c>report --lake DIR</c>: an in-memory DuckDB whose relations have the names and columns of a database's
/// (docs/schema.md) but read the lake's committed Parquet files, so every report runs its one SQL over a lake
/// as over a database. What differs, and why the numbers are still the same:
/// <list type="bullet">
/// <item>All sensors are read together; <c>capture_id</c> is made unique across them by adding, for each sensor
/// after the first (in name order), the largest capture id of the sensors before it. A <c>sensor</c> column says
/// whose a row is.</item>
/// <item>ASN and country were looked up at export (each row carries them). The lake's <c>asn_ranges</c> and
/// <c>country_ranges</c> are rebuilt from those rows: runs of consecutive sighted addresses with the same
/// answer, each run reaching down to just above the previous one. Every sighted address therefore gets
/// exactly the answer of its export; an IPv6 prefix (<c>--ipv6-prefix</c>) gets the answer of its lowest
/// sighted address, which equals a database's lookup of the prefix unless a data set's range boundary falls
/// inside the prefix.</item>
/// <item>Only files listed in committed batch manifests are read: an export in progress (or one that crashed)
/// is invisible.</item>
/// </list>
/// The connection may read files under the lake's directory and nothing else (DuckDB's
/// <c>allowed_directories</c> with external access off, configuration locked).
/// </summary>
public static class LakeReader
{
    /// <param name="Rollups">Every batch exported the daily rollups (a lake with a batch of an older build, or of a database without them, has none to read).</param>
    /// <param name="DetailPrunedBeforeUs">The latest instant before which a sensor's database had pruned its detail rows when it exported (the lake lacks them).</param>
    public sealed record LakeContents(LakeInfo Info, IReadOnlyList<string> Sensors, IReadOnlyDictionary<string, List<string>> Files, int Batches,
        bool Rollups = false, long? DetailPrunedBeforeUs = null);

    /// <summary>The committed files of every sensor of a lake, checked to exist.</summary>
    public static LakeContents Inspect(string dir)
    {
        string lake = Path.GetFullPath(dir);
        if (!Directory.Exists(lake)) throw new LakeException($"no lake at {dir} (write one with pcapdht export {dir} --db FILE)");
        var info = LakeFiles.ReadLakeInfo(lake)
                   ?? throw new LakeException($"{dir} is not a PcapDht lake (it has no {LakeLayout.LakeFile}; write one with pcapdht export {dir} --db FILE)");
        if (info.Format > LakeInfo.CurrentFormat) throw new LakeException($"{dir} was written by a newer pcapdht (lake format {info.Format}); upgrade pcapdht");
        var files = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var sensors = LakeFiles.Sensors(lake);
        int batches = 0;
        bool rollups = true;
        long? pruned = null;
        foreach (var sensor in sensors)
        {
            foreach (var m in LakeFiles.ReadManifests(lake, sensor))
            {
                batches++;
                rollups &= LakeLayout.RollupRelations.All(m.Rows.ContainsKey);
                if (m.DetailPrunedBeforeUs is { } p && !(pruned >= p)) pruned = p;
                foreach (var (relation, list) in m.Files)
                {
                    foreach (var rel in list)
                    {
                        string path = Path.Combine(lake, rel);
                        if (!File.Exists(path))
                            throw new LakeException($"the lake {dir} is damaged: {rel}, written by batch {m.Batch} of sensor '{sensor}', is missing (restore it, or remove that batch's manifest and export again)");
                        (files.TryGetValue(relation, out var l) ? l : files[relation] = []).Add(path);
                    }
                }
            }
        }
        return new LakeContents(info, sensors, files, batches, rollups && batches > 0, pruned);
    }

    /// <summary>Opens the lake for reading as a PcapDht database: the relations, the enriched views, the data sets.</summary>
    public static DuckDBConnection Open(string dir)
    {
        var contents = Inspect(dir);
        string lake = Path.GetFullPath(dir);
        var db = new DuckDBConnection("Data Source=:memory:");
        try
        {
            db.Open();
            Execute(db, "CREATE SCHEMA pcapdht_lake");
            string offsets = CaptureIdOffsets(lake, contents.Sensors);
            foreach (var (relation, files) in contents.Files)
            {
                if (LakeLayout.RollupRelations.Contains(relation) && !contents.Rollups) continue; // partial rollups would count part of the lake
                bool days = relation is not (LakeLayout.CapturesRelation or LakeLayout.DatasetsRelation);
                string source = $"read_parquet([{string.Join(", ", files.Select(LakeColumns.Literal))}], hive_partitioning = true, union_by_name = true, "
                    + $"hive_types = {{'sensor': 'VARCHAR'{(days ? ", 'day': 'DATE'" : "")}}})";
                var columns = LakeColumns.Describe(db, $"SELECT * FROM {source}");
                if (relation == LakeLayout.DatasetsRelation)
                {
                    // Each data set once: the same file imported by two sensors (or twice) is one data set, last imported then.
                    // A table (a few rows), not a view: the range store adds the columns a lake of an older export lacks.
                    Execute(db, $"CREATE TABLE main.datasets AS SELECT * EXCLUDE (sensor, imported_at), max(imported_at) AS imported_at FROM {source} GROUP BY ALL");
                    continue;
                }
                var replace = new Dictionary<string, string>(StringComparer.Ordinal);
                if (offsets.Length > 0 && columns.Exists(c => c.Name == "capture_id"))
                    replace["capture_id"] = $"CAST(capture_id + {offsets} AS INTEGER)";
                // node_id_days' id_key (the id as numbers) is not exported: the id itself counts the same distinct ids.
                string extra = relation == "node_id_days" && !columns.Exists(c => c.Name == "id_key") ? ", node_id AS id_key" : "";
                Execute(db, $"CREATE VIEW pcapdht_lake.{relation} AS SELECT {LakeColumns.ReadList(columns, replace)}{extra} FROM {source}");
                var hidden = new[] { "asn", "as_name", "country" }.Where(c => columns.Exists(x => x.Name == c)).ToList();
                Execute(db, $"CREATE VIEW main.{relation} AS SELECT * {(hidden.Count > 0 ? $"EXCLUDE ({string.Join(", ", hidden)})" : "")} FROM pcapdht_lake.{relation}");
            }
            if (contents.Rollups) AddEmptyRollups(db, contents);
            if (contents.DetailPrunedBeforeUs is { } cutoff)
                Execute(db, $"CREATE SCHEMA pcapdht_store; CREATE TABLE pcapdht_store.meta (key VARCHAR PRIMARY KEY, value VARCHAR); " +
                            $"INSERT INTO pcapdht_store.meta VALUES ('{Store.StoreRetention.MetaKey}', '{cutoff.ToString(CultureInfo.InvariantCulture)}')");
            BuildRanges(db, contents);
            DefineBep42(db, contents);
            RangeStore.EnsureEnrichedViews(db);
            // Times in UTC, as the CLI's database connections (a date_trunc or cast must not depend on the machine).
            try { Execute(db, "SET TimeZone = 'UTC'"); }
            catch (DuckDBException) { } // a build without ICU is UTC already
            // Reading needs the lake's files and nothing else.
            Execute(db, $"SET allowed_directories = [{LakeColumns.Literal(lake.TrimEnd('/') + "/")}]; SET enable_external_access = false; SET lock_configuration = true");
            return db;
        }
        catch (DuckDBException ex)
        {
            db.Dispose();
            throw new LakeException($"cannot read the lake {dir}: {Store.PcapDhtDatabase.FirstLine(ex.Message)}", ex);
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>The columns of each rollup view (RollupSchema.Views), for a lake in which no batch wrote a row of one.</summary>
    private static readonly Dictionary<string, string> EmptyRollups = new(StringComparer.Ordinal)
    {
        ["address_days"] = "NULL::INTEGER AS capture_id, NULL::DATE AS day, NULL::VARCHAR AS ip, NULL::UHUGEINT AS ip_num, NULL::VARCHAR AS kind, "
            + "NULL::BOOLEAN AS direct, NULL::BOOLEAN AS node, NULL::UBIGINT AS sightings, NULL::BIGINT AS first_us, NULL::BIGINT AS last_us",
        ["node_id_days"] = "NULL::INTEGER AS capture_id, NULL::DATE AS day, NULL::BLOB AS node_id, NULL::BLOB AS id_key, NULL::BOOLEAN AS sender, "
            + "NULL::UBIGINT AS sightings, NULL::BIGINT AS first_us, NULL::BIGINT AS last_us",
        ["sender_days"] = "NULL::INTEGER AS capture_id, NULL::DATE AS day, NULL::VARCHAR AS ip, NULL::UHUGEINT AS ip_num, NULL::BLOB AS node_id, "
            + "NULL::BLOB AS version, NULL::UBIGINT AS messages, NULL::BIGINT AS first_us, NULL::BIGINT AS last_us",
        ["message_days"] = "NULL::INTEGER AS capture_id, NULL::DATE AS day, NULL::VARCHAR AS y, NULL::VARCHAR AS method, NULL::UBIGINT AS messages, "
            + "NULL::BIGINT AS first_us, NULL::BIGINT AS last_us",
        ["malformed_days"] = "NULL::INTEGER AS capture_id, NULL::DATE AS day, NULL::VARCHAR AS reason, NULL::UBIGINT AS datagrams, "
            + "NULL::BIGINT AS first_us, NULL::BIGINT AS last_us",
    };

    /// <summary>An empty view for each rollup no batch wrote a row of (e.g. no malformed datagram anywhere): zero is the answer, not the detail path.</summary>
    private static void AddEmptyRollups(DuckDBConnection db, LakeContents contents)
    {
        foreach (var (relation, columns) in EmptyRollups)
            if (!contents.Files.ContainsKey(relation)) Execute(db, $"CREATE VIEW main.{relation} AS SELECT {columns} WHERE false");
    }

    /// <summary>The SQL term that makes a sensor's capture ids unique in the lake ("" with one sensor).</summary>
    private static string CaptureIdOffsets(string lake, IReadOnlyList<string> sensors)
    {
        if (sensors.Count < 2) return "";
        var sb = new StringBuilder("CASE sensor");
        long offset = 0;
        foreach (var sensor in sensors)
        {
            sb.Append(CultureInfo.InvariantCulture, $" WHEN {LakeColumns.Literal(sensor)} THEN {offset}");
            var ids = LakeFiles.ReadManifests(lake, sensor).SelectMany(m => m.Captures).Select(c => (long)c.CaptureId).ToList();
            offset += ids.Count == 0 ? 0 : ids.Max();
        }
        return sb.Append(" END").ToString();
    }

    /// <summary>
    /// The lake's <c>asn_ranges</c> and <c>country_ranges</c>, rebuilt from the answers its rows carry (see the class
    /// summary). Where sensors' data sets disagree on an address, the answer with an ASN wins, then the smallest.
    /// </summary>
    private static void BuildRanges(DuckDBConnection db, LakeContents contents)
    {
        var parts = new List<string>();
        foreach (var (relation, ip) in LakeLayout.EnrichedRelations)
        {
            if (!contents.Files.ContainsKey(relation) || (LakeLayout.RollupRelations.Contains(relation) && !contents.Rollups)) continue;
            var columns = LakeColumns.Describe(db, $"pcapdht_lake.{relation}");
            if (columns.Exists(c => c.Name == "asn"))
                parts.Add($"SELECT {ip} AS ip, asn, as_name, country FROM pcapdht_lake.{relation}");
        }
        if (parts.Count == 0) return;
        Execute(db, $$"""
            CREATE TEMP TABLE pcapdht_lake_addresses AS
            SELECT ip, min({'missing': asn IS NULL, 'asn': asn, 'as_name': as_name, 'country': country}) AS e
            FROM ({{string.Join(" UNION ALL ", parts)}}) WHERE ip IS NOT NULL GROUP BY ip;
            CREATE TABLE asn_ranges AS {{Runs("{'asn': e.asn, 'as_name': e.as_name, 'country': e.country}", "e.asn IS NOT NULL", "e.asn, e.as_name, e.country")}};
            CREATE TABLE country_ranges AS {{Runs("e.country", "e.country IS NOT NULL", "e.country")}};
            DROP TABLE pcapdht_lake_addresses;
            """);
        // A lake whose sensors had a data set of a kind has that kind of data even when none of its addresses is in
        // a range (as a database with the data set has): one range no address can fall into says so.
        if (RangeStore.RelationExists(db, LakeLayout.DatasetsRelation))
            Execute(db, """
                INSERT INTO asn_ranges SELECT 340282366920938463463374607431768211455::UHUGEINT, 340282366920938463463374607431768211455::UHUGEINT, NULL, NULL, NULL
                WHERE EXISTS (SELECT 1 FROM datasets WHERE kind = 'asn') AND NOT EXISTS (SELECT 1 FROM asn_ranges);
                INSERT INTO country_ranges SELECT 340282366920938463463374607431768211455::UHUGEINT, 340282366920938463463374607431768211455::UHUGEINT, NULL
                WHERE EXISTS (SELECT 1 FROM datasets WHERE kind = 'country') AND NOT EXISTS (SELECT 1 FROM country_ranges);
                """);
    }

    /// <summary>
    /// The macros the store's views and the population reports call: address text, and BEP 42. A plain lake checks
    /// ids against its addresses as a database does. An anonymized lake cannot (its addresses are mapped, its ids
    /// maybe hashed), so there BEP 42 is looked up in the <c>bep42_valid</c> column the export computed from the real
    /// address and id (NULL: an exempt address).
    /// </summary>
    private static void DefineBep42(DuckDBConnection db, LakeContents contents)
    {
        Execute(db, Store.StoreSchema.AddressMacros);
        Execute(db, Store.StoreSchema.Bep42Macros);
        if (!contents.Info.Anonymized) return;
        var parts = new List<string>();
        foreach (var (relation, ip, id) in LakeAnonymizer.Bep42Pairs)
        {
            if (!contents.Files.ContainsKey(relation)) continue;
            var columns = LakeColumns.Describe(db, $"pcapdht_lake.{relation}");
            if (columns.Exists(c => c.Name == "bep42_valid") && columns.Exists(c => c.Name == ip) && columns.Exists(c => c.Name == id))
                parts.Add($"SELECT {ip} AS lake_ip, {id} AS lake_id, bep42_valid AS lake_valid FROM pcapdht_lake.{relation} WHERE {ip} IS NOT NULL AND {id} IS NOT NULL");
        }
        Execute(db, parts.Count == 0
            ? "CREATE TABLE pcapdht_lake_bep42(lake_ip UHUGEINT, lake_id BLOB, lake_valid BOOLEAN)"
            : $"CREATE TABLE pcapdht_lake_bep42 AS SELECT DISTINCT * FROM ({string.Join(" UNION ALL ", parts)})");
        Execute(db, """
            CREATE OR REPLACE MACRO pcapdht_bep42_valid(ip_num, node_id) AS
                (SELECT any_value(lake_valid) FROM pcapdht_lake_bep42 WHERE lake_ip = ip_num AND lake_id = node_id);
            CREATE OR REPLACE MACRO pcapdht_bep42_exempt(ip_num) AS
                coalesce((SELECT bool_and(lake_valid IS NULL) FROM pcapdht_lake_bep42 WHERE lake_ip = ip_num), false);
            """);
    }

    /// <summary>Runs of consecutive addresses with the same <paramref name="key"/>, kept where <paramref name="keep"/>.</summary>
    private static string Runs(string key, string keep, string columns) => $"""
        WITH marked AS (
            SELECT ip, e, CASE WHEN {key} IS NOT DISTINCT FROM lag({key}) OVER (ORDER BY ip) THEN 0 ELSE 1 END AS brk
            FROM pcapdht_lake_addresses),
        runs AS (SELECT ip, e, sum(brk) OVER (ORDER BY ip ROWS UNBOUNDED PRECEDING) AS run FROM marked),
        grouped AS (SELECT run, max(ip) AS end_num, any_value(e) AS e FROM runs GROUP BY run),
        ranged AS (SELECT coalesce(lag(end_num) OVER (ORDER BY run) + 1, 0::UHUGEINT) AS start_num, end_num, e FROM grouped)
        SELECT start_num, end_num, {columns} FROM ranged WHERE {keep} ORDER BY start_num
        """;

    private static void Execute(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
