using System.Text;
using SkiaSharp;
using Svg.Skia;

namespace PcapDht.Cli.Rendering;

public enum ChartFormat
{
    Svg,
    Png,
}

/// <summary>
/// Writes a chart (an SVG document from the library) to FILE.svg as it is, or to FILE.png rasterised by
/// Svg.Skia at twice its size (sharp on slides and in print).
/// </summary>
public static class ChartFile
{
    /// <summary>Pixels per SVG unit in a PNG: 900 units wide become 1800 pixels.</summary>
    public const float PngScale = 2f;

    public static ChartFormat? FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".svg" => ChartFormat.Svg,
        ".png" => ChartFormat.Png,
        _ => null,
    };

    public static int Write(string verb, string path, string svg)
    {
        string? error = OutputFile.Write(path, fs =>
        {
            if (FormatOf(path) == ChartFormat.Png) WritePng(svg, fs);
            else fs.Write(new UTF8Encoding(false).GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg + "\n"));
        });
        if (error is not null)
        {
            Console.Error.WriteLine($"pcapdht {verb}: cannot write the chart to {path}: {error}");
            return ExitCodes.Failure;
        }
        Console.Error.WriteLine($"pcapdht {verb}: chart written to {path}");
        return ExitCodes.Ok;
    }

    public static void WritePng(string svg, Stream output)
    {
        using var doc = new SKSvg();
        if (doc.FromSvg(svg) is null) throw new InvalidOperationException("the chart could not be rasterised");
        if (!doc.Save(output, SKColors.White, SKEncodedImageFormat.Png, 100, PngScale, PngScale))
            throw new InvalidOperationException("the chart could not be encoded as PNG");
    }
}
