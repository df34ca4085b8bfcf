using System.Globalization;
using System.Text.Json;

namespace PcapDht.Charts;

/// <summary>
/// The embedded world map: country outlines already projected (Equal Earth) to SVG path data, dots for
/// countries too small for the 1:110m layer, and names for every ISO 3166-1 alpha-2 code. Produced by
/// scripts/make-report-assets.sh from pinned npm packages (world-atlas, d3-geo, i18n-iso-countries);
/// see src/PcapDht/Charts/Assets/README.md for sources, sizes and licences.
/// </summary>
public sealed class WorldAtlas
{
    public const string ResourceName = "PcapDht.Charts.Assets.world-110m.json";

    public sealed record Shape(string Code, string Name, string Path);
    public sealed record Dot(string Code, string Name, double X, double Y);

    public double Width { get; }
    public double Height { get; }
    public IReadOnlyList<Shape> Shapes { get; }
    public IReadOnlyList<Dot> Dots { get; }
    public IReadOnlyDictionary<string, string> Names { get; }
    /// <summary>The packages and data the geometry came from, with versions and licences.</summary>
    public IReadOnlyDictionary<string, string> Sources { get; }

    private WorldAtlas(JsonElement root)
    {
        Width = root.GetProperty("width").GetDouble();
        Height = root.GetProperty("height").GetDouble();
        Shapes = [.. root.GetProperty("countries").EnumerateArray().Select(c => new Shape(c.GetProperty("a2").GetString()!, c.GetProperty("name").GetString()!, c.GetProperty("d").GetString()!))];
        Dots = [.. root.GetProperty("dots").EnumerateArray().Select(c => new Dot(c.GetProperty("a2").GetString()!, c.GetProperty("name").GetString()!, c.GetProperty("x").GetDouble(), c.GetProperty("y").GetDouble()))];
        Names = root.GetProperty("names").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? p.Name, StringComparer.Ordinal);
        Sources = root.GetProperty("sources").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
    }

    private static readonly Lazy<WorldAtlas> Embedded = new(() =>
    {
        using var stream = typeof(WorldAtlas).Assembly.GetManifestResourceStream(ResourceName)
                           ?? throw new InvalidOperationException($"resource {ResourceName} is missing from the build");
        using var doc = JsonDocument.Parse(stream);
        return new WorldAtlas(doc.RootElement);
    });

    public static WorldAtlas Default => Embedded.Value;

    public string NameOf(string code) => Names.GetValueOrDefault(code.ToUpperInvariant()) ?? code;

    /// <summary>The credit line the map carries (Natural Earth asks for none, but says where the shapes come from).</summary>
    public const string Attribution = "Map: Natural Earth 1:110m countries (public domain) via world-atlas, Equal Earth projection by d3-geo";
}

/// <summary>
/// A choropleth: each country shaded by its value on a logarithmic ramp (1 to the largest value; a
/// country with 100 addresses is as many steps darker than one with 10 as that one is than one with 1),
/// grey where nothing was seen, a legend with powers of ten, and a tooltip with the exact number. Codes
/// the map cannot place (a data set's "EU" or "ZZ") are listed under it with their numbers.
/// </summary>
public static class WorldMap
{
    private const double Pad = 12;

    public static ChartPart Draw(IReadOnlyDictionary<string, double> values, string valueName, double width = 900, WorldAtlas? atlas = null)
    {
        atlas ??= WorldAtlas.Default;
        var byCode = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (code, v) in values)
            if (double.IsFinite(v) && v > 0) byCode[code.Trim().ToUpperInvariant()] = byCode.GetValueOrDefault(code.Trim().ToUpperInvariant()) + v;
        double max = byCode.Values.DefaultIfEmpty(0).Max();
        double logMax = Math.Log10(Math.Max(max, 1));
        string Fill(double v) => v <= 0 ? ChartTheme.NoData : ChartTheme.RampColor(logMax <= 0 ? 1 : Math.Log10(v) / logMax);

        double scale = (width - 2 * Pad) / atlas.Width;
        double mapH = atlas.Height * scale;
        var placed = new HashSet<string>(StringComparer.Ordinal);
        var svg = new SvgBuilder();
        svg.El("g").A("transform", $"translate({SvgBuilder.Num(Pad)} 6) scale({scale.ToString("0.####", CultureInfo.InvariantCulture)})");
        foreach (var shape in atlas.Shapes)
        {
            double v = shape.Code.Length > 0 ? byCode.GetValueOrDefault(shape.Code) : 0;
            if (v > 0) placed.Add(shape.Code);
            svg.El("path").A("d", shape.Path).A("fill", Fill(v)).A("stroke", "#ffffff").A("stroke-width", 0.5 / scale)
               .A("class", v > 0 ? "mark country" : "country").A("data-country", shape.Code.Length > 0 ? shape.Code : null)
               .A("data-value", v > 0 ? SvgBuilder.Num(v) : null).Title(Tip(shape.Name, shape.Code, v, valueName)).End();
        }
        // Small countries only where something was seen: 60 grey dots would bury the map.
        foreach (var dot in atlas.Dots)
        {
            double v = byCode.GetValueOrDefault(dot.Code);
            if (v <= 0) continue;
            placed.Add(dot.Code);
            svg.El("circle").A("cx", dot.X).A("cy", dot.Y).A("r", 3.5 / Math.Sqrt(scale)).A("fill", Fill(v)).A("stroke", ChartTheme.Text).A("stroke-width", 0.6 / scale)
               .A("class", "mark country dot").A("data-country", dot.Code).A("data-value", v).Title(Tip(dot.Name, dot.Code, v, valueName)).End();
        }
        svg.End();

        double y = 6 + mapH + 18;
        DrawLegend(svg, Pad, y, max, valueName);
        y += 34;
        var unplaced = byCode.Where(kv => !placed.Contains(kv.Key)).OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        if (unplaced.Count > 0)
        {
            string list = "Not on the map: " + string.Join(", ", unplaced.Select(kv => $"{Label(atlas, kv.Key)} {ChartTheme.Count(kv.Value)}"));
            foreach (var line in SvgDocument.Wrap(list, ChartTheme.SmallFontSize, width - 2 * Pad))
            {
                svg.El("text").A("x", Pad).A("y", y).A("font-size", ChartTheme.SmallFontSize).A("fill", ChartTheme.Muted).A("class", "unplaced").Content(line).End();
                y += 15;
            }
        }
        return new ChartPart("map", width, y, svg.ToString());
    }

    private static string Label(WorldAtlas atlas, string code) => atlas.Names.TryGetValue(code, out var name) ? $"{name} ({code})" : code;

    private static string Tip(string name, string code, double v, string valueName)
    {
        string who = code.Length > 0 ? $"{name} ({code})" : name;
        return v > 0 ? $"{who}: {ChartTheme.Count(v)} {valueName}" : $"{who}: none seen";
    }

    private static void DrawLegend(SvgBuilder svg, double x, double y, double max, string valueName)
    {
        const double w = 260, h = 10;
        const int steps = 52;
        svg.Text(x, y - 4, valueName + " (log scale)", ChartTheme.SmallFontSize, ChartTheme.Muted);
        for (int i = 0; i < steps; i++)
            svg.Rect(x + i * w / steps, y, w / steps + 0.3, h, ChartTheme.RampColor((i + 0.5) / steps)).End();
        double logMax = Math.Log10(Math.Max(max, 1));
        foreach (var t in Ticks.Log10(Math.Max(max, 1)))
        {
            if (t > Math.Max(max, 1) * 1.0001 && t != 1) break;
            double tx = x + (logMax <= 0 ? w : Math.Log10(t) / logMax * w);
            svg.Line(tx, y + h, tx, y + h + 3, ChartTheme.Axis);
            svg.Text(tx, y + h + 14, ChartTheme.Compact(t), ChartTheme.SmallFontSize, ChartTheme.Muted, "middle");
        }
        if (max > 1 && Math.Abs(Math.Log10(max) - Math.Round(Math.Log10(max))) > 1e-9)
            svg.Text(x + w + 6, y + h - 1, "max " + ChartTheme.Count(max), ChartTheme.SmallFontSize, ChartTheme.Muted);
        svg.Rect(x + w + 90, y, 14, h, ChartTheme.NoData).End();
        svg.Text(x + w + 108, y + h - 1, "none seen", ChartTheme.SmallFontSize, ChartTheme.Muted);
    }
}
