using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Enrich;

namespace PcapDht.Analysis;

/// <summary>
/// What a report's window leaves out. The default window ends at the newest sighting, so one recent
/// capture (a loopback test, a short live session) can push every earlier capture out of it; a user
/// who gets nothing back must learn where the data is and which <c>--since</c>/<c>--until</c> reach it.
/// </summary>
public static class WindowCoverage
{
    private const int CapturesNamed = 3;

    /// <summary>First and last sighting (node sightings and message senders), or null when there is none.</summary>
    public static ReportWindow? Span(DuckDBConnection db) => Span(db, Reports.HasRollups(db));

    /// <summary>
    /// First and last sighting, from the daily rollups (<paramref name="rollups"/>: each row's first and last µs, the same
    /// instants, and still there after the detail rows were pruned) or from the detail rows.
    /// </summary>
    public static ReportWindow? Span(DuckDBConnection db, bool rollups)
    {
        var parts = new List<string>();
        if (rollups) parts.Add("SELECT min(first_us) AS lo, max(last_us) AS hi FROM address_days WHERE kind <> 'peer'");
        else if (RangeStore.RelationExists(db, "node_sightings")) parts.Add($"SELECT min(epoch_us(ts)) AS lo, max(epoch_us(ts)) AS hi FROM {Reports.NodeIps(db)}");
        if (!rollups && RangeStore.RelationExists(db, "messages")) parts.Add("SELECT min(epoch_us(ts)) AS lo, max(epoch_us(ts)) AS hi FROM messages");
        if (parts.Count == 0) return null;
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"SELECT min(lo), max(hi) FROM ({string.Join(" UNION ALL ", parts)})";
        using var r = cmd.ExecuteReader();
        if (!r.Read() || r.IsDBNull(0) || r.IsDBNull(1)) return null;
        return new ReportWindow(Reports.FromMicros(Convert.ToInt64(r.GetValue(0))), Reports.FromMicros(Convert.ToInt64(r.GetValue(1))));
    }

    /// <summary>The sentence for a window that holds no sighting at all.</summary>
    public static string ExplainEmpty(DuckDBConnection db, ReportWindow window, ReportWindow span)
    {
        var sb = new StringBuilder();
        sb.Append("No sightings in the window ").Append(ReportWindow.Format(window.Since)).Append(" .. ").Append(ReportWindow.Format(window.Until))
          .Append("; the database has sightings from ").Append(ReportWindow.Format(span.Since)).Append(" to ").Append(ReportWindow.Format(span.Until)).Append('.');
        AppendOutside(db, window, span, sb);
        return sb.ToString();
    }

    /// <summary>
    /// Notes for a window whose addresses all miss the imported ranges (e.g. only a loopback recording is
    /// in it): says so, names what lies outside the window, and marks the result as having no answer.
    /// </summary>
    public static void ExplainUnmatched(DuckDBConnection db, ResultTable table, long addresses, string rangeName)
    {
        var window = table.Window!.Value;
        table.NoAnswer = true;
        table.Notes.Add($"None of the {N(addresses)} addresses in this window is in {rangeName} of the imported data " +
                        "(private, loopback or documentation addresses, or networks the data set does not cover).");
        if (Span(db) is not { } span) return;
        var sb = new StringBuilder();
        AppendOutside(db, window, span, sb);
        if (sb.Length > 0) table.Notes.Add(sb.ToString().TrimStart());
        else table.Notes.Add("Every sighting in the database is inside this window: import a data set that covers these addresses (see docs/analysis.md).");
    }

    /// <summary>" Outside this window: ... Try --until ...": the captures the window misses and the options that reach them.</summary>
    private static void AppendOutside(DuckDBConnection db, ReportWindow window, ReportWindow span, StringBuilder sb)
    {
        bool before = span.Since < window.Since, after = span.Until > window.Until;
        if (!before && !after) return;
        var outside = CapturesOutside(db, window);
        sb.Append(" Outside this window: ");
        if (outside.Count > 0)
        {
            sb.Append(outside.Count == 1 ? "1 capture" : $"{N(outside.Count)} captures").Append(", ");
            sb.Append(string.Join("; ", outside.Take(CapturesNamed).Select(c =>
                $"{c.Name} ({Day(c.First)} .. {Day(c.Last)}, {N(c.Messages)} KRPC messages)")));
            if (outside.Count > CapturesNamed) sb.Append("; ...");
            sb.Append('.');
        }
        else
        {
            var parts = new List<string>();
            if (before) parts.Add($"sightings from {ReportWindow.Format(span.Since)} on, before the window");
            if (after) parts.Add($"sightings up to {ReportWindow.Format(span.Until)}, after it");
            sb.Append(string.Join(" and ", parts)).Append('.');
        }
        // Suggest the window that ends (or starts) where the nearest data outside this one does.
        var earlier = outside.Where(c => c.Last < window.Since).Select(c => (DateTimeOffset?)c.Last).Max();
        var later = outside.Where(c => c.First > window.Until).Select(c => (DateTimeOffset?)c.First).Min();
        sb.Append(" Try ");
        string all = $"--since {Iso(span.Since, up: false)} --until {Iso(span.Until, up: true)}";
        if (earlier is { } e) sb.Append("--until ").Append(Iso(e, up: true)).Append(", or ").Append(all).Append(" for all data");
        else if (later is { } l) sb.Append("--since ").Append(Iso(l, up: false)).Append(", or ").Append(all).Append(" for all data");
        else sb.Append(all);
        sb.Append('.');
    }

    private sealed record OutsideCapture(string Name, DateTimeOffset First, DateTimeOffset Last, long Messages);

    /// <summary>Captures with data and no timestamp inside the window, oldest first.</summary>
    private static List<OutsideCapture> CapturesOutside(DuckDBConnection db, ReportWindow window)
    {
        var list = new List<OutsideCapture>();
        if (!RangeStore.RelationExists(db, "captures")) return list;
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            SELECT source, epoch_us(first_ts), epoch_us(last_ts), coalesce(krpc_messages, 0) FROM captures
            WHERE first_ts IS NOT NULL AND last_ts IS NOT NULL
              AND (epoch_us(last_ts) < {Reports.ToMicros(window.Since).ToString(CultureInfo.InvariantCulture)}
                   OR epoch_us(first_ts) > {Reports.ToMicros(window.Until).ToString(CultureInfo.InvariantCulture)})
            ORDER BY first_ts, capture_id
            """;
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            string source = r.IsDBNull(0) ? "?" : r.GetString(0);
            string name = source.StartsWith("live:", StringComparison.Ordinal) || source == "-" ? source : Path.GetFileName(source);
            list.Add(new OutsideCapture(name, Reports.FromMicros(r.GetInt64(1)), Reports.FromMicros(r.GetInt64(2)), Convert.ToInt64(r.GetValue(3))));
        }
        return list;
    }

    private static string Day(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A time as --since/--until take it, to the second, rounded outwards so the sighting stays inside the window.</summary>
    private static string Iso(DateTimeOffset t, bool up)
    {
        long ticks = t.UtcTicks % TimeSpan.TicksPerSecond;
        if (ticks != 0) t = up ? t.AddTicks(TimeSpan.TicksPerSecond - ticks) : t.AddTicks(-ticks);
        return t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    private static string N(long n) => n.ToString("#,0", CultureInfo.InvariantCulture);
}
