namespace PcapDht.Charts;

/// <summary>One bin: its label ("1 ms–2 ms"), the label of its lower edge (null for an open first bin) and its count.</summary>
public sealed record HistogramBin(string Label, string? LowerEdge, double Count);

public sealed record HistogramData(IReadOnlyList<HistogramBin> Bins, string CountName);

/// <summary>
/// Vertical bars side by side, edges labelled between them: a distribution over bins (response times on
/// a 1-2-5 scale). Every bar is a <c>rect class="mark"</c> with its bin, count and a tooltip.
/// </summary>
public static class Histogram
{
    private const double Pad = 12;

    public static ChartPart Draw(HistogramData data, double width = 900, double plotHeight = 220)
    {
        int n = data.Bins.Count;
        double max = data.Bins.Select(b => b.Count).DefaultIfEmpty(0).Max();
        var ticks = Ticks.Linear(max);
        double scaleMax = ticks[^1];
        double fs = ChartTheme.SmallFontSize;
        double axisW = ticks.Max(t => TextMetrics.Width(ChartTheme.Compact(t), fs)) + 10;
        double x0 = Pad + axisW, x1 = width - Pad - 20;
        double top = 10, y1 = top + plotHeight;
        double colW = n == 0 ? 0 : (x1 - x0) / n;
        double Y(double v) => y1 - (scaleMax <= 0 ? 0 : v / scaleMax * plotHeight);
        double total = data.Bins.Sum(b => b.Count);

        var svg = new SvgBuilder();
        foreach (var t in ticks)
        {
            svg.Line(x0, Y(t), x1, Y(t), t == 0 ? ChartTheme.Axis : ChartTheme.Grid);
            svg.Text(x0 - 6, Y(t) + fs * 0.35, ChartTheme.Compact(t), fs, ChartTheme.Muted, "end");
        }
        // Edge labels where they fit: every k-th edge when the columns are narrower than a label.
        double labelW = data.Bins.Select(b => b.LowerEdge is null ? 0 : TextMetrics.Width(b.LowerEdge, fs)).DefaultIfEmpty(0).Max() + 8;
        int every = colW <= 0 ? 1 : Math.Max(1, (int)Math.Ceiling(labelW / colW));
        for (int i = 0; i < n; i++)
        {
            var bin = data.Bins[i];
            double x = x0 + i * colW;
            double share = total > 0 ? bin.Count / total : 0;
            svg.Rect(x + 1, Y(bin.Count), colW - 2, y1 - Y(bin.Count), ChartTheme.Series[0])
               .A("class", "mark").A("data-category", bin.Label).A("data-value", bin.Count)
               .Title($"{bin.Label}: {ChartTheme.Count(bin.Count)} {data.CountName} ({ChartTheme.Percent(share)})").End();
            if (bin.LowerEdge is { } edge && i % every == 0)
            {
                svg.Line(x, y1, x, y1 + 4, ChartTheme.Axis);
                svg.Text(x, y1 + 16, edge, fs, ChartTheme.Muted, "middle");
            }
        }
        return new ChartPart("histogram", width, y1 + 24, svg.ToString());
    }
}
