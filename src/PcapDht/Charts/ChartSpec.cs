using System.Globalization;
using PcapDht.Analysis;

namespace PcapDht.Charts;

/// <summary>
/// How one report's <see cref="ResultTable"/> becomes a chart: which columns are labels and values.
/// The page's panels and <c>report ... --chart FILE</c> use the same spec, so a chart alone for a paper
/// shows exactly what the page shows.
/// </summary>
public abstract record ChartSpec
{
    /// <summary>The chart, or null when the table has no row to draw.</summary>
    public abstract ChartPart? Draw(ResultTable table, double width = 900);

    /// <summary>Credit lines the chart itself needs beside the data sets' (the map's geometry).</summary>
    public virtual IEnumerable<string> Credits => [];

    /// <summary>The chart as a standalone SVG document: title, window and the data sets' attribution around it.</summary>
    public string? Standalone(ResultTable table, double width = 900)
    {
        var part = Draw(table, width);
        if (part is null) return null;
        var notes = new List<string>(table.DatasetLines);
        notes.AddRange(table.Attributions);
        notes.AddRange(Credits);
        notes.Add("Made with PcapDht from packet captures of the BitTorrent DHT.");
        string? window = table.WindowText;
        var frame = new ChartFrame { Title = table.Title, Subtitle = window is null ? null : "Window: " + window, Notes = notes };
        return SvgDocument.Write(part, frame, table.Title);
    }
}

/// <summary>Horizontal bars: a label per row (built from columns), one bar per value column.</summary>
public sealed record BarSpec(Func<ResultTable, object?[], string> Label, IReadOnlyList<(string Column, string Name)> Values, BarLayout Layout = BarLayout.Grouped) : ChartSpec
{
    public override ChartPart? Draw(ResultTable table, double width = 900)
    {
        if (table.Rows.Count == 0) return null;
        var categories = table.Rows.Select(r => Label(table, r)).ToList();
        var series = Values.Select(v => new BarSeries(v.Column, v.Name, table.Rows.Select(r => table.Number(r, v.Column) ?? 0).ToList())).ToList();
        return BarChart.Draw(new BarChartData(categories, series, Layout), width);
    }
}

/// <summary>
/// Lines over days from a long table (one row per day and series): <see cref="Day"/> is a yyyy-MM-dd column,
/// <see cref="Series"/> names the line of a row, <see cref="Value"/> its number. Days missing from a series
/// are zero when <see cref="MissingIsZero"/> (a count of what was seen), gaps otherwise (an estimate).
/// </summary>
public sealed record LineSpec(string Day, Func<ResultTable, object?[], string> Series, string Value) : ChartSpec
{
    public bool MissingIsZero { get; init; } = true;
    public string? Low { get; init; }
    public string? High { get; init; }

    public override ChartPart? Draw(ResultTable table, double width = 900)
    {
        // No day column (report size over the whole window): nothing to draw over time.
        if (table.Rows.Count == 0 || table.Columns.All(c => c.Name != Day)) return null;
        var days = table.Rows.Select(r => DateOnly.ParseExact(table.Text(r, Day)!, "yyyy-MM-dd", CultureInfo.InvariantCulture)).Distinct().Order().ToList();
        var index = days.Select((d, i) => (d, i)).ToDictionary(p => p.d, p => p.i);
        var names = new List<string>();
        var values = new Dictionary<string, (double?[] V, double?[] Lo, double?[] Hi)>(StringComparer.Ordinal);
        foreach (var row in table.Rows)
        {
            string name = Series(table, row);
            if (!values.TryGetValue(name, out var s))
            {
                names.Add(name);
                s = (new double?[days.Count], new double?[days.Count], new double?[days.Count]);
                if (MissingIsZero) Array.Fill(s.V, 0);
                values[name] = s;
            }
            int i = index[DateOnly.ParseExact(table.Text(row, Day)!, "yyyy-MM-dd", CultureInfo.InvariantCulture)];
            s.V[i] = table.Number(row, Value);
            if (Low is not null) s.Lo[i] = table.Number(row, Low);
            if (High is not null) s.Hi[i] = table.Number(row, High);
        }
        var series = names.Select(n => new LineSeries(n, n, values[n].V)
        {
            Low = Low is null ? null : values[n].Lo,
            High = High is null ? null : values[n].Hi,
        }).ToList();
        return LineChart.Draw(new LineChartData(days, series), width);
    }
}

/// <summary>
/// Lines over days from a wide table (one row per day): one line per value column. A missing value (null)
/// leaves a gap: the churn report has no "gone" on the last day of data.
/// </summary>
public sealed record ColumnLineSpec(string Day, IReadOnlyList<(string Column, string Name)> Values) : ChartSpec
{
    public override ChartPart? Draw(ResultTable table, double width = 900)
    {
        if (table.Rows.Count == 0) return null;
        var days = table.Rows.Select(r => DateOnly.ParseExact(table.Text(r, Day)!, "yyyy-MM-dd", CultureInfo.InvariantCulture)).ToList();
        var series = Values.Select(v => new LineSeries(v.Column, v.Name, table.Rows.Select(r => table.Number(r, v.Column)).ToList())).ToList();
        return LineChart.Draw(new LineChartData(days, series), width);
    }
}

/// <summary>A histogram from bin rows: a label column, the lower edge in milliseconds, a count.</summary>
public sealed record HistogramSpec(string Label, string LowerEdgeMs, string Count, string CountName) : ChartSpec
{
    public override ChartPart? Draw(ResultTable table, double width = 900)
    {
        if (table.Rows.Count == 0) return null;
        var bins = table.Rows.Select(r => new HistogramBin(table.Text(r, Label) ?? "",
            table.Number(r, LowerEdgeMs) is { } ms ? Milliseconds(ms) : null, table.Number(r, Count) ?? 0)).ToList();
        return Histogram.Draw(new HistogramData(bins, CountName), width);
    }

    public static string Milliseconds(double ms) => ms >= 1000
        ? (ms / 1000).ToString("0.##", CultureInfo.InvariantCulture) + " s"
        : ms.ToString("0.###", CultureInfo.InvariantCulture) + " ms";
}

/// <summary>A world map from rows of an ISO 3166-1 alpha-2 column and a value column.</summary>
public sealed record MapSpec(string Country, string Value, string ValueName) : ChartSpec
{
    public override IEnumerable<string> Credits => [WorldAtlas.Attribution];

    public override ChartPart? Draw(ResultTable table, double width = 900)
    {
        if (table.Rows.Count == 0) return null;
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var row in table.Rows)
            if (table.Text(row, Country) is { Length: > 0 } code)
                values[code] = values.GetValueOrDefault(code) + (table.Number(row, Value) ?? 0);
        return WorldMap.Draw(values, ValueName, width);
    }
}

/// <summary>Capture spans on a time axis over the report's window.</summary>
public sealed record TimelineSpec(string Label, string Start, string End, string Status, Func<ResultTable, object?[], string> Tooltip) : ChartSpec
{
    public override ChartPart? Draw(ResultTable table, double width = 900)
    {
        if (table.Rows.Count == 0) return null;
        var items = table.Rows.Select(r => new TimelineItem(table.Text(r, Label) ?? "", Time(table.Text(r, Start)), Time(table.Text(r, End)),
            table.Text(r, Status) ?? "", Tooltip(table, r))).ToList();
        var times = items.SelectMany(i => new[] { i.Start, i.End }).OfType<DateTimeOffset>().ToList();
        var (from, to) = table.Window is { } w ? (w.Since, w.Until)
            : times.Count > 0 ? (times.Min(), times.Max())
            : (DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(1));
        return Timeline.Draw(new TimelineData(items, from, to), width);
    }

    private static DateTimeOffset? Time(string? text) => text is not null && ReportWindow.TryParse(text, out var t) ? t : null;
}

/// <summary>Reads a <see cref="ResultTable"/>'s cells and facts by column or fact name.</summary>
public static class ResultTableAccess
{
    public static int ColumnIndex(this ResultTable table, string column)
    {
        for (int i = 0; i < table.Columns.Count; i++)
            if (table.Columns[i].Name == column) return i;
        throw new ArgumentException($"{table.Title} has no column '{column}'", nameof(column));
    }

    public static object? Cell(this ResultTable table, object?[] row, string column) => row[table.ColumnIndex(column)];

    public static double? Number(this ResultTable table, object?[] row, string column) => table.Cell(row, column) switch
    {
        null => null,
        long l => l,
        int i => i,
        double d => d,
        float f => f,
        decimal m => (double)m,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        var other => Convert.ToDouble(other, CultureInfo.InvariantCulture),
    };

    public static string? Text(this ResultTable table, object?[] row, string column) =>
        table.Cell(row, column) is { } v ? Convert.ToString(v, CultureInfo.InvariantCulture) : null;

    /// <summary>A fact's plain value as invariant text ("3111"), or null when the report has no such fact.</summary>
    public static string? Fact(this ResultTable table, string name)
    {
        foreach (var f in table.Facts)
            if (f.Key == name) return Convert.ToString(f.Plain, CultureInfo.InvariantCulture);
        return null;
    }
}
