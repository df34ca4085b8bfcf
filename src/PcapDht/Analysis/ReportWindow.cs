using System.Globalization;

namespace PcapDht.Analysis;

/// <summary>
/// The time range a report covers, both ends inclusive. Without explicit ends it is the last
/// <c>days</c> days up to the newest sighting in the database (not the wall clock), so a report on
/// an old capture still shows its data.
/// </summary>
public readonly record struct ReportWindow(DateTimeOffset Since, DateTimeOffset Until)
{
    private static readonly TimeSpan OneMicrosecond = TimeSpan.FromTicks(10);

    /// <param name="untilIsDay">
    /// <paramref name="until"/> came from a bare date (resolved by <see cref="TryParseEnd"/> to the day's last
    /// microsecond): <c>--days N</c> then covers exactly N whole days, the first one starting at midnight.
    /// </param>
    public static ReportWindow Resolve(DateTimeOffset? newest, int days, DateTimeOffset? since, DateTimeOffset? until, bool untilIsDay = false)
    {
        if (days <= 0) throw new ArgumentOutOfRangeException(nameof(days), "days must be positive");
        var end = until ?? newest ?? DateTimeOffset.UnixEpoch;
        var start = since ?? (until is not null && untilIsDay ? end + OneMicrosecond : end).AddDays(-days);
        if (start > end) throw new ArgumentException($"window start {Format(start)} is after its end {Format(end)}");
        return new ReportWindow(start.ToUniversalTime(), end.ToUniversalTime());
    }

    public double Days => (Until - Since).TotalDays;

    public override string ToString() => $"{Format(Since)} .. {Format(Until)} ({Days.ToString("0.##", CultureInfo.InvariantCulture)} days)";

    public static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>ISO 8601 UTC with the microseconds the store keeps, for machines (JSON).</summary>
    public static string FormatIso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parses an ISO date or date-time; a date without zone is UTC, a bare date is the start of that day.</summary>
    public static bool TryParse(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);

    /// <summary>
    /// Parses the inclusive end of a window: like <see cref="TryParse"/>, but a bare date (2026-09-30) means
    /// the whole day, up to its last microsecond, since the end is inclusive.
    /// </summary>
    public static bool TryParseEnd(string text, out DateTimeOffset value, out bool isDay)
    {
        isDay = IsBareDate(text);
        if (!TryParse(text, out value)) return false;
        if (isDay) value = value.AddDays(1) - OneMicrosecond;
        return true;
    }

    private static bool IsBareDate(string text) =>
        DateOnly.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);
}
