namespace PcapDht.Charts;

public enum BarLayout
{
    /// <summary>One bar per series, side by side (ips beside direct_ips).</summary>
    Grouped,
    /// <summary>Series stacked into one bar whose length is their sum (queries + responses + errors).</summary>
    Stacked,
}

public sealed record BarSeries(string Key, string Name, IReadOnlyList<double> Values);

public sealed record BarChartData(IReadOnlyList<string> Categories, IReadOnlyList<BarSeries> Series, BarLayout Layout = BarLayout.Grouped);

/// <summary>
/// Horizontal bars, one row per category, longest label column first: the shape for "top N" tables whose
/// labels (AS names, client versions, error reasons) are too long for a vertical chart. Every bar is a
/// <c>rect class="mark"</c> with <c>data-category</c>, <c>data-series</c>, <c>data-value</c> and a tooltip.
/// </summary>
public static class BarChart
{
    private const double Pad = 12;

    public static ChartPart Draw(BarChartData data, double width = 900)
    {
        var series = data.Series;
        int n = data.Categories.Count;
        bool grouped = data.Layout == BarLayout.Grouped && series.Count > 1;
        double barH = grouped ? 11 : 16, rowGap = grouped ? 9 : 7;
        double rowH = (grouped ? series.Count * (barH + 1) : barH) + rowGap;

        var totals = new double[n];
        double max = 0;
        for (int c = 0; c < n; c++)
        {
            foreach (var s in series)
            {
                double v = Value(s, c);
                totals[c] += v;
                if (grouped || series.Count == 1) max = Math.Max(max, v);
            }
            if (!grouped) max = Math.Max(max, totals[c]);
        }
        var ticks = Ticks.Linear(max);
        double scaleMax = ticks[^1];

        double fs = ChartTheme.FontSize;
        double labelW = Math.Min(width * 0.38, data.Categories.Select(l => TextMetrics.Width(l, fs)).DefaultIfEmpty(0).Max() + 10);
        double valueW = TextMetrics.Width(ChartTheme.Count(grouped ? max : totals.DefaultIfEmpty(0).Max()), fs) + 10;
        double x0 = Pad + labelW, x1 = width - Pad - valueW;
        int legendRows = series.Count > 1 ? Legend.Rows(Pad, width - Pad, series.Select(s => s.Name)) : 0;
        double top = series.Count > 1 ? 12 + legendRows * Legend.RowHeight : 8;
        double axisY = top + n * rowH;
        double Scale(double v) => scaleMax <= 0 ? 0 : v / scaleMax * (x1 - x0);

        var svg = new SvgBuilder();
        if (series.Count > 1) Legend.Draw(svg, Pad, 14, width - Pad, series.Select((s, i) => (s.Name, ChartTheme.Series[i % ChartTheme.Series.Length])));
        foreach (var t in ticks)
        {
            double x = x0 + Scale(t);
            svg.Line(x, top - 4, x, axisY, ChartTheme.Grid);
            svg.Text(x, axisY + 15, ChartTheme.Compact(t), ChartTheme.SmallFontSize, ChartTheme.Muted, "middle");
        }
        for (int c = 0; c < n; c++)
        {
            string category = data.Categories[c];
            double y = top + c * rowH;
            double rowInner = rowH - rowGap;
            string shown = TextMetrics.Fit(category, fs, labelW - 8);
            svg.Text(x0 - 8, y + rowInner / 2 + fs * 0.35, shown, fs, ChartTheme.Text, "end", title: shown == category ? null : category);
            double stackX = x0;
            for (int i = 0; i < series.Count; i++)
            {
                var s = series[i];
                double v = Value(s, c);
                double w = Scale(v);
                double bx = grouped ? x0 : stackX;
                double by = grouped ? y + i * (barH + 1) : y;
                svg.Rect(bx, by, w, barH, ChartTheme.Series[i % ChartTheme.Series.Length])
                   .A("class", "mark").A("data-category", category).A("data-series", s.Key).A("data-value", v)
                   .Title($"{category} — {s.Name}: {ChartTheme.Count(v)}").End();
                if (grouped || series.Count == 1)
                    svg.Text(bx + w + 4, by + barH / 2 + ChartTheme.SmallFontSize * 0.35, ChartTheme.Count(v), ChartTheme.SmallFontSize, ChartTheme.Muted);
                stackX += w;
            }
            if (!grouped && series.Count > 1)
                svg.Text(stackX + 4, y + barH / 2 + ChartTheme.SmallFontSize * 0.35, ChartTheme.Count(totals[c]), ChartTheme.SmallFontSize, ChartTheme.Muted);
        }
        svg.Line(x0, top - 4, x0, axisY, ChartTheme.Axis);
        return new ChartPart("bar", width, axisY + 24, svg.ToString());
    }

    private static double Value(BarSeries s, int c) => c < s.Values.Count && double.IsFinite(s.Values[c]) ? Math.Max(0, s.Values[c]) : 0;
}

/// <summary>Colour swatches with names, in rows that wrap before <c>maxX</c>.</summary>
internal static class Legend
{
    public const double RowHeight = 18;

    /// <summary>Draws the entries from (x, y) (y is the first row's baseline); returns the number of rows.</summary>
    public static int Draw(SvgBuilder svg, double x, double y, double maxX, IEnumerable<(string Name, string Color)> entries)
    {
        double left = x;
        int rows = 1;
        foreach (var (name, color) in entries)
        {
            string shown = TextMetrics.Fit(name, ChartTheme.SmallFontSize, maxX - left - 17);
            double w = 17 + TextMetrics.Width(shown, ChartTheme.SmallFontSize) + 18;
            if (x > left && x + w - 18 > maxX)
            {
                x = left;
                y += RowHeight;
                rows++;
            }
            svg.Rect(x, y - 9, 12, 12, color).A("rx", 2).End();
            svg.Text(x + 17, y + 1, shown, ChartTheme.SmallFontSize, ChartTheme.Text, title: shown == name ? null : name);
            x += w;
        }
        return rows;
    }

    /// <summary>The rows <see cref="Draw"/> will take, without drawing.</summary>
    public static int Rows(double x, double maxX, IEnumerable<string> names) =>
        Draw(new SvgBuilder(), x, 0, maxX, names.Select(n => (n, "#000")));
}
