using System.Globalization;
using System.Text;
using DuckDB.NET.Data;
using PcapDht.Enrich;

namespace PcapDht.Analysis;

/// <summary>
/// The rows of a rollup view in a window (<see cref="Reports.RowsIn"/>). <see cref="Upper"/> holds every rollup row
/// with a sighting in the window, and the detail rows of the days the window cuts; distinct counts over it are exact.
/// Sums over it are exact too unless a cut day's detail rows were pruned (<see cref="Pruned"/> names those days):
/// then its rows of those days may hold sightings outside the window (an upper bound), and <see cref="Lower"/>,
/// which holds only the rows of those days that lie wholly inside, gives the lower bound.
/// </summary>
internal sealed record WindowRows(string Upper, string Lower, string? Pruned)
{
    public bool Exact => Pruned is null;
}

public static partial class Reports
{
    /// <summary>The public rollup views (Store/RollupSchema.cs); a report reads rollups only where all of them exist.</summary>
    public static readonly string[] RollupViews = ["address_days", "node_id_days", "sender_days", "message_days", "malformed_days"];

    /// <summary>Whether the database (or lake) has the daily rollups.</summary>
    public static bool HasRollups(DuckDBConnection db)
    {
        foreach (var view in RollupViews)
            if (!RangeStore.RelationExists(db, view)) return false;
        return true;
    }

    /// <summary>The instant (µs) before which <c>pcapdht prune</c> deleted the detail rows, or null when none were.</summary>
    public static long? DetailPrunedBefore(DuckDBConnection db)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'pcapdht_store' AND table_name = 'meta'";
        if (Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture) == 0) return null;
        cmd.CommandText = $"SELECT value FROM pcapdht_store.meta WHERE key = '{Store.StoreRetention.MetaKey}'";
        return cmd.ExecuteScalar() is string v && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long us) ? us : null;
    }

    /// <summary>Whether a report that can read the rollups does (<see cref="ReportOptions.Source"/>).</summary>
    internal static bool ReadsRollups(DuckDBConnection db, ReportOptions options) => options.Source switch
    {
        ReportSource.Detail => false,
        ReportSource.Rollups => HasRollups(db) ? true
            : throw new ArgumentException("--source rollups: this database has no daily rollups (it was written by an older pcapdht); use --source auto"),
        _ => HasRollups(db),
    };

    /// <summary>
    /// Whether a window's distinct counts are exact from the rollups alone (RollupSchema's rule): its start and end fall
    /// on different UTC days (a row of the first day is inside when its last sighting is at or after the start, one of
    /// the last day when its first is at or before the end), or it is made of whole days.
    /// </summary>
    internal static bool RollupExact(ReportWindow w)
    {
        long s = ToMicros(w.Since), u = ToMicros(w.Until);
        long first = DayOf(s), last = DayOf(u);
        return first != last || (s == first * MicrosPerDay && u == (last + 1) * MicrosPerDay - 1);
    }

    /// <summary>SQL over a rollup view: its rows with a sighting in the window (when <see cref="RollupExact"/>).</summary>
    internal static string RollupPredicate(ReportWindow w)
    {
        long s = ToMicros(w.Since), u = ToMicros(w.Until);
        return $"day BETWEEN {DateLiteral(DayOf(s))} AND {DateLiteral(DayOf(u))} AND last_us >= {Num(s)} AND first_us <= {Num(u)}";
    }

    /// <summary>
    /// The rows of the rollup <paramref name="view"/> in the window (all of them without one), with the days the window
    /// cuts (a row of the day has sightings both inside and outside) read from <paramref name="detail"/>, and bounds where
    /// those were pruned (<see cref="WindowRows"/>). <paramref name="rollupColumns"/> and <paramref name="detailColumns"/>
    /// select the same columns from each.
    /// </summary>
    internal static WindowRows RowsIn(DuckDBConnection db, ReportWindow? window, string view, string rollupColumns, string detail, string detailColumns)
    {
        if (window is not { } w)
        {
            string all = $"SELECT {rollupColumns} FROM {view}";
            return new WindowRows(all, all, null);
        }
        long s = ToMicros(w.Since), u = ToMicros(w.Until), firstDay = DayOf(s), lastDay = DayOf(u);
        long? cutoff = DetailPrunedBefore(db);
        var cut = new List<long>();
        var fromDetail = new List<string>();
        var pruned = new List<long>();
        // The first day is cut when a row of it starts before the window and reaches into it; the last day when one
        // starts in the window and reaches past its end. The default window ends at the newest sighting: no row does.
        if (AnyRow(db, $"SELECT 1 FROM {view} WHERE day = {DateLiteral(firstDay)} AND first_us < {Num(s)} AND last_us >= {Num(s)}"))
        {
            cut.Add(firstDay);
            if (cutoff is null || cutoff <= s) fromDetail.Add($"epoch_us(ts) BETWEEN {Num(s)} AND {Num(Math.Min(u, (firstDay + 1) * MicrosPerDay - 1))}");
            else pruned.Add(firstDay);
        }
        if (lastDay != firstDay && AnyRow(db, $"SELECT 1 FROM {view} WHERE day = {DateLiteral(lastDay)} AND first_us <= {Num(u)} AND last_us > {Num(u)}"))
        {
            cut.Add(lastDay);
            if (cutoff is null || cutoff <= lastDay * MicrosPerDay) fromDetail.Add($"epoch_us(ts) BETWEEN {Num(lastDay * MicrosPerDay)} AND {Num(u)}");
            else pruned.Add(lastDay);
        }
        var common = new StringBuilder($"SELECT {rollupColumns} FROM {view} WHERE {RollupPredicate(w)}");
        if (cut.Count > 0) common.Append($" AND day NOT IN ({string.Join(", ", cut.Select(DateLiteral))})");
        if (fromDetail.Count > 0)
            common.Append($"\n UNION ALL SELECT {detailColumns} FROM {detail} WHERE {string.Join(" OR ", fromDetail.Select(p => "(" + p + ")"))}");
        if (pruned.Count == 0) return new WindowRows(common.ToString(), common.ToString(), null);
        string days = string.Join(", ", pruned.Select(DateLiteral));
        string upper = $"{common}\n UNION ALL SELECT {rollupColumns} FROM {view} WHERE day IN ({days}) AND last_us >= {Num(s)} AND first_us <= {Num(u)}";
        string lower = $"{common}\n UNION ALL SELECT {rollupColumns} FROM {view} WHERE day IN ({days}) AND first_us >= {Num(s)} AND last_us <= {Num(u)}";
        return new WindowRows(upper, lower, PrunedDays(pruned, cutoff!.Value));
    }

    /// <summary>The reason a count is given as bounds: which cut days lost their detail rows.</summary>
    private static string PrunedDays(List<long> days, long cutoff) =>
        $"the window cuts {string.Join(" and ", days.Select(DayText))}, whose detail rows were pruned (detail kept from {ReportWindow.Format(FromMicros(cutoff))}); " +
        $"a window of whole UTC days is exact";

    /// <summary>
    /// For a report that reads the detail rows: the one line that says its window reaches before the rows <c>pcapdht prune</c>
    /// deleted (so it would answer from part of the data), or null.
    /// </summary>
    /// <param name="window">The window; null for all data.</param>
    internal static string? DetailPrunedIn(DuckDBConnection db, ReportWindow? window)
    {
        if (DetailPrunedBefore(db) is not { } cutoff || (window is { } w && ToMicros(w.Since) >= cutoff)) return null;
        string start = window is { } x ? $"its window starts {ReportWindow.Format(x.Since)}" : "it counts all data";
        return $"The detail rows before {ReportWindow.Format(FromMicros(cutoff))} were pruned (pcapdht prune --keep-detail) and this report needs them: " +
               $"{start}. Use --since {Iso(FromMicros(cutoff))} or later.";
    }

    /// <summary>The day number (days since 1970, UTC) of an instant in µs.</summary>
    internal static long DayOf(long us) => Store.RollupSchema.DayOf(us);

    private static string DateLiteral(long day) => $"DATE '{DayText(day)}'";

    private static string DayText(long day) => DateTimeOffset.UnixEpoch.AddDays(day).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Num(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture);

    private static bool AnyRow(DuckDBConnection db, string select) => Scalar(db, $"SELECT count(*) FROM ({select} LIMIT 1)") > 0;
}
