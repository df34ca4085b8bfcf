using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace PcapDht.Enrich;

/// <summary>
/// The data's own date, where the data set says it: an MMDB's build epoch (read by
/// <see cref="MmdbRangeReader"/>), the version of the @ip-location-db npm package beside the file
/// (<c>2.3.2026061719</c>: built 2026-06-17 19h), or a date in the file's or its folder's name
/// (<c>GeoLite2-ASN-CSV_20260617</c>, <c>dbip-asn-lite-2026-06.csv</c>). A file's modification time is
/// not used: after a copy or a git clone it is the day of the copy. Without any of these a data set
/// has no source date and reports show its import date instead, labelled as such.
/// </summary>
public static partial class SourceDates
{
    public const string MmdbBuild = "MMDB build epoch";

    /// <summary>Fills <see cref="RangeFile.SourceDate"/> and its basis from the package or the name when the content had none.</summary>
    public static void Find(RangeFile file, string path)
    {
        if (file.SourceDate is not null) return;
        if (FromPackage(path) is { } package)
        {
            file.SourceDate = package.Date;
            file.SourceDateBasis = package.Basis;
            return;
        }
        foreach (var name in new[] { Path.GetFileName(path), Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(path)) ?? "") })
        {
            if (FromName(name) is not { } date) continue;
            file.SourceDate = date;
            file.SourceDateBasis = $"file name {name}";
            return;
        }
    }

    /// <summary>
    /// The @ip-location-db packages (npm) are versioned MAJOR.MINOR.YYYYMMDDHH, the hour their tables were
    /// built; their package.json sits beside the CSVs (node_modules, npm pack, scripts/fetch-asn-data.sh).
    /// </summary>
    internal static (DateTimeOffset Date, string Basis)? FromPackage(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is null) return null;
        string manifest = Path.Combine(dir, "package.json");
        if (!File.Exists(manifest)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(manifest));
            if (!doc.RootElement.TryGetProperty("name", out var n) || n.GetString() is not { } name ||
                !name.StartsWith("@ip-location-db/", StringComparison.Ordinal)) return null;
            if (!doc.RootElement.TryGetProperty("version", out var v) || v.GetString() is not { } version) return null;
            var m = PackageStamp().Match(version);
            if (!m.Success || !DateTime.TryParseExact(m.Groups[1].Value, "yyyyMMddHH", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var built)) return null;
            return (new DateTimeOffset(built, TimeSpan.Zero), $"@ip-location-db package version {version}");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>A date in a name: YYYYMMDD (GeoLite2 downloads), YYYY-MM-DD, or YYYY-MM (DB-IP monthly files).</summary>
    internal static DateTimeOffset? FromName(string name)
    {
        foreach (Match m in NameDate().Matches(name))
        {
            string digits = m.Groups["d8"].Success ? m.Groups["d8"].Value
                : m.Groups["day"].Success ? m.Groups["ym"].Value.Replace("-", "") + m.Groups["day"].Value
                : m.Groups["ym"].Value.Replace("-", "") + "01";
            if (DateTime.TryParseExact(digits, "yyyyMMdd", CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var d) && d.Year is >= 1995 and <= 2100)
                return new DateTimeOffset(d, TimeSpan.Zero);
        }
        return null;
    }

    [GeneratedRegex(@"^\d+\.\d+\.(\d{10})$")]
    private static partial Regex PackageStamp();

    // Digits not touching other digits, so a build number or an address in a name is not a date.
    [GeneratedRegex(@"(?<!\d)(?:(?<d8>(?:19|20)\d{6})|(?<ym>(?:19|20)\d{2}-\d{2})(?:-(?<day>\d{2}))?)(?!\d)")]
    private static partial Regex NameDate();
}
