using System.Globalization;

namespace PcapDht.Analysis;

/// <summary>
/// The time range a report covers, both ends inclusive. Without explicit ends it is the last
/// <c>days</c> days up to the newest sighting in the database (not the wall clock), so a report on
/// an old capture still shows its data.
/// </summary>
public readonly record struct ReportWindow(DateTimeOffset Since, DateTimeOffset Until)
{
    public static ReportWindow Resolve(DateTimeOffset? newest, int days, DateTimeOffset? since, DateTimeOffset? until)
    {
        if (days <= 0) throw new ArgumentOutOfRangeException(nameof(days), "days must be positive");
        var end = until ?? newest ?? DateTimeOffset.UnixEpoch;
        var start = since ?? end.AddDays(-days);
        if (start > end) throw new ArgumentException($"window start {Format(start)} is after its end {Format(end)}");
        return new ReportWindow(start.ToUniversalTime(), end.ToUniversalTime());
    }

    public override string ToString() => $"{Format(Since)} .. {Format(Until)} ({(Until - Since).TotalDays.ToString("0.##", CultureInfo.InvariantCulture)} days)";

    public static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parses an ISO date or date-time; a date without zone is UTC.</summary>
    public static bool TryParse(string text, out DateTimeOffset value) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
}
