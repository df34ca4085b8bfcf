using System.Globalization;
using PcapDht.Enrich;

namespace PcapDht.Analysis;

public enum ColumnKind
{
    Text,
    /// <summary>A count: thousands separators in human formats (table, Markdown).</summary>
    Integer,
    /// <summary>A fraction 0..1 shown as a percentage in tables.</summary>
    Share,
    Other,
    /// <summary>A number shown as it is, right-aligned: identifiers (ASN, port) and user SQL results.</summary>
    Number,
}

public sealed record ResultColumn(string Name, ColumnKind Kind);

/// <summary>
/// One fact about a result: a number (long, double), a share (<see cref="CountShare"/>), a time
/// (<see cref="DateTimeOffset"/>) or text. Human formats print it with separators, JSON keeps its type
/// under a snake_case key made from <paramref name="Key"/> (<see cref="JsonKey"/>).
/// </summary>
public sealed record Fact(string Key, object? Value)
{
    /// <summary>"addresses with no ASN range" → "addresses_with_no_asn_range".</summary>
    public string JsonKey => ToJsonKey(Key);

    /// <summary>The value for people: "3,111", "53 (100.0%)", "2026-09-30 12:00:00Z", "12.5"; text as it is.</summary>
    public string Text => Value switch
    {
        null => "",
        bool b => b ? "true" : "false",
        CountShare c => $"{c.Count.ToString("#,0", CultureInfo.InvariantCulture)} ({(100 * c.Share).ToString("0.0", CultureInfo.InvariantCulture)}%)",
        long or int => ((IFormattable)Value).ToString("#,0", CultureInfo.InvariantCulture),
        double d => d.ToString("#,0.###", CultureInfo.InvariantCulture),
        DateTimeOffset t => ReportWindow.Format(t),
        _ => Convert.ToString(Value, CultureInfo.InvariantCulture) ?? "",
    };

    /// <summary>The value for machines: a count's number (a <see cref="CountShare"/>'s count), else the value itself.</summary>
    public object? Plain => Value is CountShare c ? c.Count : Value;

    public static string ToJsonKey(string key)
    {
        var sb = new System.Text.StringBuilder(key.Length);
        foreach (char c in key)
        {
            if (char.IsAsciiLetterOrDigit(c)) sb.Append(char.ToLowerInvariant(c));
            else if (sb.Length > 0 && sb[^1] != '_') sb.Append('_');
        }
        return sb.ToString().TrimEnd('_');
    }
}

/// <summary>A count and the total it is part of: "53 (100.0%)" for people, 53 in JSON.</summary>
public readonly record struct CountShare(long Count, long Total)
{
    public double Share => Total == 0 ? 0 : (double)Count / Total;
}

/// <summary>
/// A report or query result: named columns, rows of plain values (string, long, double, null),
/// and what the numbers cover: the window, facts (totals), notes (why a result is empty and what
/// to try), and the data sets used with their attribution. The CLI renders it as a table, CSV,
/// JSON or Markdown; the JSON shape is documented in docs/analysis.md ("JSON output").
/// </summary>
public sealed class ResultTable
{
    public required string Title { get; init; }
    public required IReadOnlyList<ResultColumn> Columns { get; init; }
    public List<object?[]> Rows { get; } = [];
    /// <summary>The time range counted; null for results not bound to one (query, status).</summary>
    public ReportWindow? Window { get; set; }
    /// <summary>True when the report covers all data (the window is then the data's own span).</summary>
    public bool WindowIsAllData { get; set; }
    /// <summary>Facts about the result (totals), in order.</summary>
    public List<Fact> Facts { get; } = [];
    /// <summary>Sentences for the reader: why nothing matched, what lies outside the window, what to try.</summary>
    public List<string> Notes { get; } = [];
    /// <summary>The imported data sets the numbers depend on.</summary>
    public List<DatasetInfo> Datasets { get; } = [];
    /// <summary>Set instead of rows when the report cannot be made (no ASN data, no sightings, an empty window).</summary>
    public string? Unavailable { get; set; }
    /// <summary>
    /// The report ran but has no answer to give (every address in the window is unmatched): it is
    /// still shown, with <see cref="Notes"/> saying why, and the CLI exits with "no data".
    /// </summary>
    public bool NoAnswer { get; set; }

    /// <summary>The attribution lines of <see cref="Datasets"/>, each once, in order.</summary>
    public IReadOnlyList<string> Attributions => Datasets.Select(d => d.Attribution).Where(a => a.Length > 0).Distinct().ToList();

    /// <summary>
    /// The data sets as people read them: one line per kind, format and date, files grouped and ranges summed:
    /// "asn: asn-ipv4.csv, asn-ipv6.csv (ip-location-db asn CSV, 14,118 ranges; data of 2026-06-17 (...))".
    /// </summary>
    public IReadOnlyList<string> DatasetLines => DescribeDatasets(Datasets);

    /// <summary>The lines of <see cref="DatasetLines"/> for any data sets (a page that lists those of several reports).</summary>
    public static IReadOnlyList<string> DescribeDatasets(IEnumerable<DatasetInfo> datasets) => datasets
        .Distinct()
        .GroupBy(d => (d.Kind, d.Format, d.DateText))
        .Select(g => $"{RangeStore.KindName(g.Key.Kind)}: {string.Join(", ", g.Select(d => d.FileName).Distinct())} ({g.Key.Format}, " +
                     $"{g.Sum(d => d.RowCount).ToString("#,0", CultureInfo.InvariantCulture)} ranges; {g.Key.DateText})")
        .ToList();

    /// <summary>The window for people: "2026-08-31 12:00:00Z .. 2026-09-30 12:00:00Z (30 days)", or "all data (...)".</summary>
    public string? WindowText => Window is not { } w ? null
        : WindowIsAllData ? $"all data ({ReportWindow.Format(w.Since)} .. {ReportWindow.Format(w.Until)})"
        : w.ToString();
}
