using System.Globalization;
using System.Text;

namespace PcapDht.Charts;

/// <summary>
/// One line over the days. <see cref="Low"/>/<see cref="High"/>, when given, draw a shaded band (an
/// interval such as a size estimate's 95 % confidence interval); a null value leaves a gap.
/// </summary>
public sealed record LineSeries(string Key, string Name, IReadOnlyList<double?> Values)
{
    public IReadOnlyList<double?>? Low { get; init; }
    public IReadOnlyList<double?>? High { get; init; }
}

public sealed record LineChartData(IReadOnlyList<DateOnly> Days, IReadOnlyList<LineSeries> Series);

/// <summary>
/// Values per UTC day, one line per series, the y axis from zero. Every point is a <c>circle class="mark"</c>
/// with its day, series and value (and a tooltip), so the number under the cursor is exact.
/// </summary>
public static class LineChart
{
    private const double Pad = 12;

    public static ChartPart Draw(LineChartData data, double width = 900, double plotHeight = 260)
    {
        int n = data.Days.Count;
        double max = 0;
        foreach (var s in data.Series)
        {
            foreach (var v in s.Values) if (v is { } d && double.IsFinite(d)) max = Math.Max(max, d);
            if (s.High is not null) foreach (var v in s.High) if (v is { } d && double.IsFinite(d)) max = Math.Max(max, d);
        }
        var ticks = Ticks.Linear(max);
        double scaleMax = ticks[^1];
        double fs = ChartTheme.SmallFontSize;
        double axisW = ticks.Max(t => TextMetrics.Width(ChartTheme.Compact(t), fs)) + 10;
        double x0 = Pad + axisW, x1 = width - Pad - 8;
        int legendRows = data.Series.Count > 1 ? Legend.Rows(Pad, width - Pad, data.Series.Select(s => s.Name)) : 0;
        double top = 14 + legendRows * Legend.RowHeight;
        double y1 = top + plotHeight;
        double X(int i) => n <= 1 ? (x0 + x1) / 2 : x0 + i * (x1 - x0) / (n - 1);
        double Y(double v) => y1 - (scaleMax <= 0 ? 0 : v / scaleMax * plotHeight);

        var svg = new SvgBuilder();
        if (data.Series.Count > 1)
            Legend.Draw(svg, Pad, 14, width - Pad, data.Series.Select((s, i) => (s.Name, ChartTheme.Series[i % ChartTheme.Series.Length])));
        foreach (var t in ticks)
        {
            svg.Line(x0, Y(t), x1, Y(t), t == 0 ? ChartTheme.Axis : ChartTheme.Grid);
            svg.Text(x0 - 6, Y(t) + fs * 0.35, ChartTheme.Compact(t), fs, ChartTheme.Muted, "end");
        }
        // Room between two labels: the first carries the year and starts at its tick, the next is centred on its own.
        double labelW = n == 0 ? 0 : TextMetrics.Width(data.Days[0].ToString("MMM d yyyy", CultureInfo.InvariantCulture), fs)
                                     + TextMetrics.Width("Sep 30", fs) / 2 + 12;
        int labelEvery = n <= 1 ? 1 : Math.Max(1, (int)Math.Ceiling(labelW / ((x1 - x0) / (n - 1))));
        for (int i = 0; i < n; i += labelEvery)
        {
            svg.Line(X(i), y1, X(i), y1 + 4, ChartTheme.Axis);
            bool withYear = i == 0 || data.Days[i].Year != data.Days[i - labelEvery].Year;
            string label = data.Days[i].ToString(withYear ? "MMM d yyyy" : "MMM d", CultureInfo.InvariantCulture);
            svg.Text(X(i), y1 + 17, label, fs, ChartTheme.Muted, i == 0 && n > 1 ? "start" : "middle");
        }
        for (int si = 0; si < data.Series.Count; si++)
        {
            var s = data.Series[si];
            string color = ChartTheme.Series[si % ChartTheme.Series.Length];
            if (s.Low is not null && s.High is not null)
                foreach (var band in Band(n, s.Low, s.High, X, Y))
                    svg.El("path").A("d", band).A("fill", color).A("fill-opacity", 0.18).A("class", "band").A("data-series", s.Key).End();
            string line = Line(n, s.Values, X, Y);
            if (line.Length > 0)
                svg.El("path").A("d", line).A("fill", "none").A("stroke", color).A("stroke-width", si == 0 ? 2.5 : 1.75)
                   .A("stroke-linejoin", "round").A("class", "line").A("data-series", s.Key).End();
            for (int i = 0; i < n; i++)
            {
                if (i >= s.Values.Count || s.Values[i] is not { } v || !double.IsFinite(v)) continue;
                string day = data.Days[i].ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
                string tip = $"{day} — {s.Name}: {ChartTheme.Count(v)}";
                if (s.Low?[i] is { } lo && s.High?[i] is { } hi) tip += $" ({ChartTheme.Count(lo)} – {ChartTheme.Count(hi)})";
                svg.El("circle").A("cx", X(i)).A("cy", Y(v)).A("r", n > 90 ? 1.75 : 2.75).A("fill", color)
                   .A("class", "mark").A("data-category", day).A("data-series", s.Key).A("data-value", v).Title(tip).End();
            }
        }
        return new ChartPart("line", width, y1 + 26, svg.ToString());
    }

    private static string Line(int n, IReadOnlyList<double?> values, Func<int, double> x, Func<double, double> y)
    {
        var d = new StringBuilder();
        bool pen = false;
        for (int i = 0; i < n; i++)
        {
            if (i < values.Count && values[i] is { } v && double.IsFinite(v))
            {
                d.Append(pen ? 'L' : 'M').Append(SvgBuilder.Num(x(i))).Append(',').Append(SvgBuilder.Num(y(v)));
                pen = true;
            }
            else pen = false;
        }
        return d.ToString();
    }

    private static IEnumerable<string> Band(int n, IReadOnlyList<double?> low, IReadOnlyList<double?> high, Func<int, double> x, Func<double, double> y)
    {
        int i = 0;
        while (i < n)
        {
            int start = i;
            while (i < n && i < low.Count && i < high.Count && low[i] is not null && high[i] is not null) i++;
            if (i > start)
            {
                var d = new StringBuilder();
                for (int j = start; j < i; j++) d.Append(j == start ? 'M' : 'L').Append(SvgBuilder.Num(x(j))).Append(',').Append(SvgBuilder.Num(y(high[j]!.Value)));
                for (int j = i - 1; j >= start; j--) d.Append('L').Append(SvgBuilder.Num(x(j))).Append(',').Append(SvgBuilder.Num(y(low[j]!.Value)));
                yield return d.Append('Z').ToString();
            }
            i++;
        }
    }
}
