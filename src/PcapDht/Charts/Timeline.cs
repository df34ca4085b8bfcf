using System.Globalization;

namespace PcapDht.Charts;

/// <summary>A span in time (a capture from its first to its last frame) with a status that picks its colour.</summary>
public sealed record TimelineItem(string Label, DateTimeOffset? Start, DateTimeOffset? End, string Status, string Tooltip);

public sealed record TimelineData(IReadOnlyList<TimelineItem> Items, DateTimeOffset From, DateTimeOffset To);

/// <summary>
/// One row per item, a bar from its start to its end on a time axis From..To (clipped to it), coloured by
/// status: complete green, partial orange, failed red, running blue. An item with no time (a capture that
/// failed before its first frame) is labelled instead. Every bar is a <c>rect class="mark"</c>.
/// </summary>
public static class Timeline
{
    private const double Pad = 12;

    public static string StatusColor(string status) => status switch
    {
        "complete" => ChartTheme.Series[2],
        "partial" or "interrupted" => ChartTheme.Series[1],
        "failed" => ChartTheme.Series[3],
        "running" => ChartTheme.Series[0],
        _ => ChartTheme.Axis,
    };

    public static ChartPart Draw(TimelineData data, double width = 900)
    {
        double fs = ChartTheme.FontSize, small = ChartTheme.SmallFontSize;
        var statuses = data.Items.Select(i => i.Status).Distinct().ToList();
        double labelW = Math.Min(width * 0.32, data.Items.Select(i => TextMetrics.Width(i.Label, fs)).DefaultIfEmpty(0).Max() + 10);
        double x0 = Pad + labelW, x1 = width - Pad - 10;
        double top = 14 + Legend.Rows(Pad, width - Pad, statuses) * Legend.RowHeight;
        const double rowH = 24, barH = 14;
        double axisY = top + data.Items.Count * rowH;
        double span = Math.Max(1, (data.To - data.From).TotalSeconds);
        double X(DateTimeOffset t) => x0 + Math.Clamp((t - data.From).TotalSeconds / span, 0, 1) * (x1 - x0);

        var svg = new SvgBuilder();
        Legend.Draw(svg, Pad, 14, width - Pad, statuses.Select(s => (s, StatusColor(s))));
        const int tickCount = 6;
        for (int k = 0; k <= tickCount; k++)
        {
            var t = data.From.AddSeconds(span * k / tickCount);
            double x = X(t);
            svg.Line(x, top - 4, x, axisY, ChartTheme.Grid);
            string format = span <= 2 * 86400 ? "MMM d HH:mm" : "MMM d";
            svg.Text(x, axisY + 15, t.UtcDateTime.ToString(format, CultureInfo.InvariantCulture), small, ChartTheme.Muted, k == 0 ? "start" : k == tickCount ? "end" : "middle");
        }
        for (int i = 0; i < data.Items.Count; i++)
        {
            var item = data.Items[i];
            double y = top + i * rowH;
            string shown = TextMetrics.Fit(item.Label, fs, labelW - 8);
            svg.Text(x0 - 8, y + barH / 2 + fs * 0.35, shown, fs, ChartTheme.Text, "end", title: shown == item.Label ? null : item.Label);
            if (item.Start is { } start)
            {
                double a = X(start), b = X(item.End ?? start);
                // A one-minute capture on a six-week axis is still visible.
                if (b - a < 3) { a = Math.Min(a, x1 - 3); b = a + 3; }
                svg.Rect(a, y, b - a, barH, StatusColor(item.Status)).A("rx", 2)
                   .A("class", "mark").A("data-category", item.Label).A("data-series", item.Status).A("data-value", (item.End ?? start).ToUnixTimeSeconds() - start.ToUnixTimeSeconds())
                   .Title(item.Tooltip).End();
            }
            else
            {
                svg.Text(x0 + 4, y + barH / 2 + small * 0.35, $"{item.Status}: no frame read", small, StatusColor(item.Status), title: item.Tooltip);
            }
        }
        svg.Line(x0, top - 4, x0, axisY, ChartTheme.Axis);
        return new ChartPart("timeline", width, axisY + 24, svg.ToString());
    }
}
