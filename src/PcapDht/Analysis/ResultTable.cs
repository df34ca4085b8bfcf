namespace PcapDht.Analysis;

public enum ColumnKind
{
    Text,
    Integer,
    /// <summary>A fraction 0..1 shown as a percentage in tables.</summary>
    Share,
    Other,
}

public sealed record ResultColumn(string Name, ColumnKind Kind);

/// <summary>
/// A report or query result: named columns, rows of plain values (string, long, double, null),
/// and the lines that say what the numbers cover (window, data sets with attribution). The CLI
/// renders it as a table, CSV, JSON or Markdown.
/// </summary>
public sealed class ResultTable
{
    public required string Title { get; init; }
    public required IReadOnlyList<ResultColumn> Columns { get; init; }
    public List<object?[]> Rows { get; } = [];
    /// <summary>The time range the rows count, when the result has one (charts draw their time axis over it).</summary>
    public ReportWindow? Window { get; set; }
    /// <summary>Key/value facts about the result (window, totals), in order.</summary>
    public List<KeyValuePair<string, string>> Facts { get; } = [];
    /// <summary>Attribution lines of the data sets used.</summary>
    public List<string> Sources { get; } = [];
    /// <summary>Set instead of rows when the report cannot be made (no ASN data, no sightings).</summary>
    public string? Unavailable { get; set; }
}
