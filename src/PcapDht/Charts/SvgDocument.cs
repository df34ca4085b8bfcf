namespace PcapDht.Charts;

/// <summary>A chart's drawing, without the &lt;svg&gt; root: its marks, axes and legend in a Width × Height box.</summary>
public sealed record ChartPart(string Kind, double Width, double Height, string Body);

/// <summary>
/// What a chart carries when it stands alone (<c>report asn --chart FILE</c>): a title, the window, and
/// notes such as the data sets' attribution, which their licences require wherever the numbers go.
/// On the page the panel around the chart says these, so the frame is empty there.
/// </summary>
public sealed record ChartFrame
{
    public string? Title { get; init; }
    public string? Subtitle { get; init; }
    public IReadOnlyList<string> Notes { get; init; } = [];

    public static readonly ChartFrame None = new();
}

public static class SvgDocument
{
    private const double Pad = 12;

    /// <summary>The complete &lt;svg&gt; element: the part, with the frame's title above and notes below.</summary>
    public static string Write(ChartPart part, ChartFrame frame, string label)
    {
        double width = part.Width;
        double top = 0;
        var head = new SvgBuilder();
        if (frame.Title is { } title)
        {
            top += Pad + 16;
            head.Text(Pad, top, TextMetrics.Fit(title, 16, width - 2 * Pad), 16, ChartTheme.Text, weight: "600");
        }
        if (frame.Subtitle is { } subtitle)
        {
            top += 18;
            head.Text(Pad, top, TextMetrics.Fit(subtitle, ChartTheme.FontSize, width - 2 * Pad), ChartTheme.FontSize, ChartTheme.Muted);
        }
        if (top > 0) top += 8;
        var foot = new SvgBuilder();
        double y = top + part.Height;
        foreach (var note in frame.Notes)
        {
            foreach (var line in Wrap(note, ChartTheme.SmallFontSize - 1, width - 2 * Pad))
            {
                y += 14;
                foot.Text(Pad, y, line, ChartTheme.SmallFontSize - 1, ChartTheme.Muted);
            }
        }
        if (frame.Notes.Count > 0) y += Pad;
        double height = Math.Ceiling(y);

        var svg = new SvgBuilder();
        svg.El("svg").A("xmlns", "http://www.w3.org/2000/svg").A("class", "chart").A("data-chart", part.Kind)
           .A("viewBox", $"0 0 {SvgBuilder.Num(width)} {SvgBuilder.Num(height)}").A("width", width).A("height", height)
           .A("role", "img").A("aria-label", label).A("font-family", ChartTheme.FontFamily);
        svg.Rect(0, 0, width, height, "#ffffff").End();
        svg.Raw(head.ToString());
        svg.El("g").A("transform", $"translate(0 {SvgBuilder.Num(top)})").Raw(part.Body).End();
        svg.Raw(foot.ToString());
        return svg.End().ToString();
    }

    /// <summary>Breaks text into lines that fit <paramref name="width"/>, at spaces.</summary>
    public static IEnumerable<string> Wrap(string text, double fontSize, double width)
    {
        var line = new System.Text.StringBuilder();
        foreach (var word in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.Length > 0 && TextMetrics.Width(line + " " + word, fontSize) > width)
            {
                yield return line.ToString();
                line.Clear();
            }
            if (line.Length > 0) line.Append(' ');
            line.Append(word);
        }
        if (line.Length > 0) yield return line.ToString();
    }
}
