using System.Globalization;

namespace PcapDht.Charts;

/// <summary>Colours, type sizes and number formats every chart shares.</summary>
public static class ChartTheme
{
    /// <summary>System fonts only: the page embeds no font file, so nothing is fetched and every reader's default sans-serif is used.</summary>
    public const string FontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'DejaVu Sans', sans-serif";

    public const string Text = "#1f2328";
    public const string Muted = "#59636e";
    public const string Axis = "#8c959f";
    public const string Grid = "#e6e8eb";
    public const string NoData = "#e3e5e8";
    public const double FontSize = 12;
    public const double SmallFontSize = 11;

    /// <summary>Series colours, distinguishable in print and for the common colour-vision deficiencies.</summary>
    public static readonly string[] Series = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d", "#eeca3b"];

    /// <summary>
    /// The map's sequential ramp, light (few addresses) to dark (many), in five stops interpolated in sRGB;
    /// its lightest stop stays distinct from <see cref="NoData"/> grey.
    /// </summary>
    public static readonly string[] Ramp = ["#fee391", "#fdae61", "#f46d43", "#d73027", "#7f0000"];

    /// <summary>A colour on <see cref="Ramp"/> for t in [0, 1].</summary>
    public static string RampColor(double t)
    {
        t = Math.Clamp(double.IsFinite(t) ? t : 0, 0, 1);
        double pos = t * (Ramp.Length - 1);
        int i = Math.Min((int)pos, Ramp.Length - 2);
        double f = pos - i;
        var (r0, g0, b0) = Rgb(Ramp[i]);
        var (r1, g1, b1) = Rgb(Ramp[i + 1]);
        return $"#{Mix(r0, r1, f):x2}{Mix(g0, g1, f):x2}{Mix(b0, b1, f):x2}";
    }

    /// <summary>An integer with thousands separators: 12,345.</summary>
    public static string Count(double v) => v.ToString("#,0", CultureInfo.InvariantCulture);

    /// <summary>A short axis label: 950, 12k, 1.5M.</summary>
    public static string Compact(double v)
    {
        double a = Math.Abs(v);
        if (a >= 1e9) return (v / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + "G";
        if (a >= 1e6) return (v / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "M";
        if (a >= 1e4) return (v / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "k";
        return v.ToString("#,0.##", CultureInfo.InvariantCulture);
    }

    public static string Percent(double share) => (share * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";

    private static (int R, int G, int B) Rgb(string hex) =>
        (Convert.ToInt32(hex[1..3], 16), Convert.ToInt32(hex[3..5], 16), Convert.ToInt32(hex[5..7], 16));

    private static int Mix(int a, int b, double f) => (int)Math.Round(a + (b - a) * f);
}

/// <summary>
/// The width text will take, estimated from character classes of a wide sans-serif (DejaVu Sans, the
/// widest common default; no font is available to measure with when the SVG is written, and a reader's
/// font is narrower or as wide); used to size label columns and to shorten labels that would not fit,
/// whose full text stays in the tooltip.
/// </summary>
public static class TextMetrics
{
    public static double Width(string text, double fontSize)
    {
        double em = 0;
        foreach (char c in text)
        {
            em += c switch
            {
                'i' or 'l' or 'j' or '.' or ',' or '\'' or '|' or '!' or ':' or ';' or 'I' or ' ' => 0.32,
                'f' or 't' or 'r' or '(' or ')' or '[' or ']' or '-' => 0.44,
                'm' or 'w' or 'M' or 'W' or '@' or '%' => 0.92,
                >= 'A' and <= 'Z' => 0.72,
                >= '0' and <= '9' => 0.64,
                > '\u2E80' => 1.0, // CJK and other wide scripts
                _ => 0.62,
            };
        }
        return em * fontSize;
    }

    /// <summary>The text, cut with an ellipsis to fit <paramref name="maxWidth"/>.</summary>
    public static string Fit(string text, double fontSize, double maxWidth)
    {
        if (Width(text, fontSize) <= maxWidth) return text;
        int n = text.Length;
        while (n > 1 && Width(string.Concat(text.AsSpan(0, n), "…"), fontSize) > maxWidth) n--;
        return string.Concat(text.AsSpan(0, n).TrimEnd(), "…");
    }
}

/// <summary>Axis ticks at 1, 2 or 5 times a power of ten.</summary>
public static class Ticks
{
    /// <summary>Ticks from 0 to a round value at least <paramref name="max"/>, about <paramref name="count"/> of them.</summary>
    public static double[] Linear(double max, int count = 5)
    {
        if (!(max > 0) || !double.IsFinite(max)) return [0, 1];
        double step = NiceStep(max / Math.Max(1, count));
        int n = (int)Math.Ceiling(max / step - 1e-9);
        var ticks = new double[n + 1];
        for (int i = 0; i <= n; i++) ticks[i] = i * step;
        return ticks;
    }

    /// <summary>Powers of ten from 1 up to the first one at least <paramref name="max"/>.</summary>
    public static double[] Log10(double max)
    {
        var ticks = new List<double> { 1 };
        while (ticks[^1] < max) ticks.Add(ticks[^1] * 10);
        return [.. ticks];
    }

    private static double NiceStep(double raw)
    {
        double pow = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double f = raw / pow;
        double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
        return Math.Max(1, nice * pow); // counts: never a fractional step
    }
}
