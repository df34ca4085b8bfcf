using System.Globalization;

namespace PcapDht.Live;

/// <summary>Parses the human units the sniff options take: durations (500ms, 5s, 10m, 2h, 1d) and sizes (64M, 1GiB).</summary>
public static class LiveUnits
{
    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim().ToLowerInvariant();
        int i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
        if (i == 0 || !double.TryParse(s.AsSpan(0, i), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0) return false;
        double seconds;
        switch (s[i..].Trim())
        {
            case "": case "s": case "sec": seconds = n; break;
            case "ms": seconds = n / 1000; break;
            case "m": case "min": seconds = n * 60; break;
            case "h": seconds = n * 3600; break;
            case "d": seconds = n * 86400; break;
            default: return false;
        }
        if (seconds > TimeSpan.MaxValue.TotalSeconds / 2) return false;
        value = TimeSpan.FromSeconds(seconds);
        return true;
    }

    public static bool TryParseSize(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim().ToLowerInvariant();
        int i = 0;
        while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.')) i++;
        if (i == 0 || !double.TryParse(s.AsSpan(0, i), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0) return false;
        // Binary multiples for both spellings: buffer sizes are powers of two in practice.
        double mul = s[i..].Trim() switch
        {
            "" or "b" => 1,
            "k" or "kb" or "kib" => 1L << 10,
            "m" or "mb" or "mib" => 1L << 20,
            "g" or "gb" or "gib" => 1L << 30,
            "t" or "tb" or "tib" => 1L << 40,
            _ => -1,
        };
        if (mul < 0 || n * mul > long.MaxValue / 2) return false;
        bytes = (long)(n * mul);
        return true;
    }

    /// <summary>--rotate takes either a size (100M) or a time (1h); a bare number means bytes.</summary>
    public static bool TryParseRotate(string? text, out long bytes, out TimeSpan interval)
    {
        bytes = 0;
        interval = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var unit = text.Trim().ToLowerInvariant().TrimStart('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '.').Trim();
        // "100M" reads as a size here (rotation by size is the common case); minutes are spelled "min".
        if (unit is "s" or "sec" or "ms" or "min" or "h" or "d")
        {
            return TryParseDuration(text, out interval) && interval > TimeSpan.Zero;
        }
        return TryParseSize(text, out bytes) && bytes > 0;
    }
}
