using System.Globalization;
using System.Security.Cryptography;

namespace PcapDht.Export;

/// <summary>A lake could not be written or read; the message is one line that says what to do.</summary>
public class LakeException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Another export of the same sensor holds the lake's lock for that sensor.</summary>
public sealed class LakeLockedException(string message) : LakeException(message);

/// <summary>
/// Where everything of a lake lives (docs/scale.md). Data files are Hive-partitioned so Spark, Trino,
/// Polars and DuckDB find the partitions from the paths alone; the bookkeeping sits under names
/// starting with '_', which those engines skip:
/// <code>
/// DIR/_pcapdht_lake.json                                  what kind of lake (plain or anonymized, key fingerprint)
/// DIR/_pcapdht/sensor=NAME/batch-ID.json                  one committed export: captures, files, row counts
/// DIR/_pcapdht/sensor=NAME/batch-ID.pending               an export in progress (or one that crashed)
/// DIR/RELATION/sensor=NAME/day=YYYY-MM-DD/part-ID-N.parquet  messages, node_sightings, ...
/// DIR/captures/sensor=NAME/part-ID.parquet                one row per exported capture
/// DIR/datasets/sensor=NAME/part-ID.parquet                the ASN/country data sets that enriched the batch
/// </code>
/// </summary>
public static class LakeLayout
{
    public const string LakeFile = "_pcapdht_lake.json";
    public const string BookkeepingDir = "_pcapdht";
    public const string CapturesRelation = "captures";
    public const string DatasetsRelation = "datasets";

    /// <summary>
    /// The relations written per UTC day (the public relations of docs/schema.md, read through their views),
    /// in the order they are exported. A relation a database does not have (an older or newer store) is skipped.
    /// </summary>
    public static readonly IReadOnlyList<string> DayRelations =
        ["messages", "node_sightings", "peer_sightings", "malformed_krpc", "lookup_queries", "reply_contacts",
         "address_days", "node_id_days", "sender_days", "message_days", "malformed_days"];

    /// <summary>
    /// The daily rollups (Store/RollupSchema.cs, the public views of docs/schema.md): partitioned by their own <c>day</c>,
    /// and a row goes with the export whose window holds its first sighting (<c>first_us</c>), so each row is written once.
    /// </summary>
    public static readonly IReadOnlySet<string> RollupRelations = new HashSet<string>(Analysis.Reports.RollupViews, StringComparer.Ordinal);

    /// <summary>The relations exported with the ASN and country of their address (the lake's ranges are rebuilt from them).</summary>
    public static readonly IReadOnlyList<(string Relation, string IpColumn)> EnrichedRelations =
        [.. Enrich.RangeStore.EnrichedRelations, ("address_days", "ip_num")];

    /// <summary>Every relation a lake can hold, day-partitioned ones first.</summary>
    public static IEnumerable<string> AllRelations => DayRelations.Append(CapturesRelation).Append(DatasetsRelation);

    /// <summary>
    /// A sensor name goes into paths (sensor=NAME): letters, digits, '.', '-', '_', starting with a letter (a name of
    /// digits only would make Hive-style type inference read the partition as a number in some engines).
    /// </summary>
    public static string? SensorNameError(string name)
    {
        if (name.Length is 0 or > 64) return "a sensor name has 1 to 64 characters";
        if (!char.IsAsciiLetter(name[0])) return $"sensor name '{name}' must start with a letter";
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
                return $"sensor name '{name}' may only hold letters, digits, '.', '-' and '_'";
        return null;
    }

    /// <summary>The default sensor name: this machine's host name, reduced to the characters a path segment may hold.</summary>
    public static string DefaultSensor()
    {
        var chars = Environment.MachineName.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_').ToArray();
        string name = new string(chars).TrimStart('.', '_', '-');
        if (name.Length == 0 || !char.IsAsciiLetter(name[0])) name = "sensor-" + name;
        return name[..Math.Min(64, name.Length)];
    }

    /// <summary>A new batch id: the UTC time (sorts in export order) and 8 random hex digits (two machines never collide).</summary>
    public static string NewBatchId(DateTimeOffset now) =>
        now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));

    public static string SensorDir(string lake, string sensor) => Path.Combine(lake, BookkeepingDir, "sensor=" + sensor);

    public static string ManifestPath(string lake, string sensor, string batch) => Path.Combine(SensorDir(lake, sensor), $"batch-{batch}.json");

    public static string PendingPath(string lake, string sensor, string batch) => Path.Combine(SensorDir(lake, sensor), $"batch-{batch}.pending");

    public static string StagingDir(string lake, string sensor, string batch) => Path.Combine(SensorDir(lake, sensor), $"staging-{batch}");

    /// <summary>The directory of one sensor's files of a relation (its day partitions below it).</summary>
    public static string RelationDir(string lake, string relation, string sensor) => Path.Combine(lake, relation, "sensor=" + sensor);

    /// <summary>Whether a data file belongs to the batch (files are named part-BATCH.parquet or part-BATCH-N.parquet).</summary>
    public static bool IsBatchFile(string fileName, string batch) =>
        fileName == $"part-{batch}.parquet" || fileName.StartsWith($"part-{batch}-", StringComparison.Ordinal);
}
