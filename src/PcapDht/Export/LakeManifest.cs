using System.Text.Json;
using System.Text.Json.Serialization;

namespace PcapDht.Export;

/// <summary>
/// What kind of lake a directory is (<c>_pcapdht_lake.json</c>), fixed by its first export: plain or
/// anonymized, and with which key (by a fingerprint that does not reveal it). Every later export must
/// be of the same kind, so plain and anonymized rows (or rows of two keys) never meet in one lake.
/// </summary>
public sealed record LakeInfo
{
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;
    public bool Anonymized { get; init; }
    /// <summary>Of the anonymization key (<see cref="LakeAnonymizer.Fingerprint"/>); null for a plain lake.</summary>
    public string? KeyFingerprint { get; init; }
    /// <summary>Node ids replaced by a keyed hash (<c>--anonymize-ids</c>).</summary>
    public bool IdsHashed { get; init; }
    /// <summary>How 128-bit address numbers are stored (docs/scale.md): written for readers that meet the lake without the docs.</summary>
    public string AddressEncoding { get; init; } = LakeColumns.AddressEncodingNote;
    public DateTimeOffset Created { get; init; }
    public string ToolVersion { get; init; } = "";

    /// <summary>Null when an export of this kind may go into a lake of <paramref name="existing"/>'s kind; else why not.</summary>
    public string? MismatchWith(LakeInfo existing, string dir)
    {
        if (existing.Format > CurrentFormat)
            return $"{dir} was written by a newer pcapdht (lake format {existing.Format}); upgrade pcapdht";
        if (existing.Anonymized != Anonymized)
            return existing.Anonymized
                ? $"{dir} is an anonymized lake: export into it with --anonymize and the same key, or give a plain export another DIR"
                : $"{dir} is a plain (not anonymized) lake: give an anonymized export another DIR, so plain and anonymized rows never mix";
        if (Anonymized && existing.KeyFingerprint != KeyFingerprint)
            return $"{dir} was anonymized with another key (fingerprint {existing.KeyFingerprint}, this key {KeyFingerprint}): one lake, one key";
        if (existing.IdsHashed != IdsHashed)
            return existing.IdsHashed
                ? $"{dir} has node ids replaced by a keyed hash: export into it with --anonymize-ids too"
                : $"{dir} keeps node ids: export into it without --anonymize-ids, or use another DIR";
        return null;
    }
}

/// <summary>One capture in a batch: who it is (to recognise it in the next export) and which part of it was written.</summary>
public sealed record ExportedCapture
{
    public int CaptureId { get; init; }
    public string? Sha256 { get; init; }
    public string Source { get; init; } = "";
    public string Kind { get; init; } = "";
    /// <summary>µs since the epoch; with <see cref="Source"/> it identifies a live capture (no sha256).</summary>
    public long StartedAtUs { get; init; }
    /// <summary>The rows written: those with ts in [SinceUs, UntilUs] (µs, inclusive; null = unbounded).</summary>
    public long? SinceUs { get; init; }
    public long? UntilUs { get; init; }

    public bool IsSameCapture(ExportedCapture other) =>
        CaptureId == other.CaptureId && Kind == other.Kind
        && (Sha256 is not null || other.Sha256 is not null ? Sha256 == other.Sha256 : Source == other.Source && StartedAtUs == other.StartedAtUs);
}

/// <summary>
/// One committed export of one sensor (<c>_pcapdht/sensor=NAME/batch-ID.json</c>). Its files are part of
/// the lake exactly when this file exists: it is written last, by a rename.
/// </summary>
public sealed record BatchManifest
{
    public int Format { get; init; } = LakeInfo.CurrentFormat;
    public string Batch { get; init; } = "";
    public string Sensor { get; init; } = "";
    public DateTimeOffset Created { get; init; }
    public string ToolVersion { get; init; } = "";
    /// <summary>The database's file name (no directories).</summary>
    public string Database { get; init; } = "";
    public List<ExportedCapture> Captures { get; init; } = [];
    /// <summary>Per relation, the data files (paths relative to the lake, '/'-separated).</summary>
    public Dictionary<string, List<string>> Files { get; init; } = [];
    public Dictionary<string, long> Rows { get; init; } = [];
    /// <summary>A hash of the sensor's data set records at this export (<c>datasets</c> is written again only when it changes).</summary>
    public string? DatasetsSha256 { get; init; }
    /// <summary>The database's detail rows before this instant (µs) were pruned when it was exported: the lake does not have them.</summary>
    public long? DetailPrunedBeforeUs { get; init; }
}

/// <summary>Reads and writes the lake's JSON files; every write goes to a temporary name first and is renamed into place.</summary>
public static class LakeFiles
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static LakeInfo? ReadLakeInfo(string lake)
    {
        string path = Path.Combine(lake, LakeLayout.LakeFile);
        if (!File.Exists(path)) return null;
        return Read<LakeInfo>(path);
    }

    /// <summary>
    /// Records the lake's kind when the directory has none yet. Two first exports racing: one wins the link,
    /// the other reads what won and compares (so both must be of one kind).
    /// </summary>
    public static LakeInfo EnsureLakeInfo(string lake, LakeInfo wanted)
    {
        if (ReadLakeInfo(lake) is { } existing) return existing;
        string path = Path.Combine(lake, LakeLayout.LakeFile);
        string tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        WriteFile(tmp, wanted);
        try
        {
            // Without overwrite, .NET moves by link(2) then unlink(2) on Unix: it fails if another export created it first.
            File.Move(tmp, path, overwrite: false);
            return wanted;
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(tmp);
            return ReadLakeInfo(lake)!;
        }
    }

    public static BatchManifest ReadManifest(string path) => Read<BatchManifest>(path);

    /// <summary>The committed batches of one sensor, oldest first.</summary>
    public static List<BatchManifest> ReadManifests(string lake, string sensor)
    {
        string dir = LakeLayout.SensorDir(lake, sensor);
        var list = new List<BatchManifest>();
        if (!Directory.Exists(dir)) return list;
        foreach (var f in Directory.EnumerateFiles(dir, "batch-*.json").Order(StringComparer.Ordinal))
            list.Add(ReadManifest(f));
        return list;
    }

    /// <summary>The sensors that have a bookkeeping directory in the lake, in ordinal order.</summary>
    public static List<string> Sensors(string lake)
    {
        string dir = Path.Combine(lake, LakeLayout.BookkeepingDir);
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateDirectories(dir, "sensor=*")
            .Select(d => Path.GetFileName(d)["sensor=".Length..])
            .Where(s => LakeLayout.SensorNameError(s) is null)
            .Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>Writes <paramref name="value"/> as JSON to a temporary file, flushes it to disk, and renames it to <paramref name="path"/>.</summary>
    public static void WriteAtomically<T>(string path, T value)
    {
        string tmp = path + ".tmp";
        WriteFile(tmp, value);
        File.Move(tmp, path, overwrite: true);
    }

    private static void WriteFile<T>(string path, T value)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        JsonSerializer.Serialize(fs, value, Json);
        fs.Flush(flushToDisk: true);
    }

    private static T Read<T>(string path)
    {
        try
        {
            using var fs = File.OpenRead(path);
            return JsonSerializer.Deserialize<T>(fs, Json) ?? throw new LakeException($"{path} is empty");
        }
        catch (JsonException ex)
        {
            throw new LakeException($"{path} is damaged ({ex.Message.Split('\n')[0]}); restore it or remove the lake's directory", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new LakeException($"cannot read {path}: {ex.Message}", ex);
        }
    }
}
