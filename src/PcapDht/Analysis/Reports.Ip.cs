using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Enrich;
using PcapDht.Net;

namespace PcapDht.Analysis;

public static partial class Reports
{
    private static readonly ResultColumn[] ProfileColumns =
    [
        new("ip", ColumnKind.Text), new("asn", ColumnKind.Number), new("as_name", ColumnKind.Text), new("country", ColumnKind.Text),
        new("first_seen", ColumnKind.Text), new("last_seen", ColumnKind.Text), new("days_seen", ColumnKind.Integer),
        new("messages", ColumnKind.Integer), new("reported_by_others", ColumnKind.Integer), new("ports", ColumnKind.Integer),
        new("node_ids", ColumnKind.Integer), new("bep42", ColumnKind.Text), new("clients", ColumnKind.Text), new("read_only", ColumnKind.Other),
    ];

    /// <summary>
    /// <c>report ip</c>: the <c>ip_profiles</c> row of each address (all data). For one address the profile
    /// becomes the facts and the rows are its daily activity in the window; for several, one row each; with
    /// <paramref name="asn"/>, the AS's most active addresses (by messages sent, then times reported).
    /// </summary>
    public static ResultTable Ip(DuckDBConnection db, ReportOptions options, IReadOnlyList<IpAddr> addresses, uint? asn, PopulationRelations? relations = null)
    {
        var rel = relations ?? PopulationRelations.Store;
        bool single = addresses.Count == 1 && asn is null;
        var table = single
            ? new ResultTable
            {
                Title = $"Address {addresses[0]}",
                Columns =
                [
                    new("day", ColumnKind.Text), new("messages", ColumnKind.Integer), new("reported_by_others", ColumnKind.Integer),
                    new("node_ids", ColumnKind.Integer), new("ports", ColumnKind.Integer),
                ],
            }
            : new ResultTable { Title = asn is { } n ? $"Most active addresses of AS{n}" : "Address profiles", Columns = ProfileColumns };
        if (!RangeStore.RelationExists(db, rel.IpProfiles))
        {
            table.Unavailable = NoStore(rel.IpProfiles);
            return table;
        }
        // The profile covers all data: after a prune it would describe only the detail rows that are left.
        if (rel == PopulationRelations.Store && DetailPrunedIn(db, null) is { } pruned)
        {
            table.Unavailable = pruned;
            return table;
        }
        string filter = asn is { } a
            ? $"asn = {a.ToString(CultureInfo.InvariantCulture)}"
            : $"ip_num IN ({string.Join(", ", addresses.Select(x => x.Value.ToString(CultureInfo.InvariantCulture)))})";
        string order = asn is null ? "ip_num" : "messages DESC, reported_by_others DESC, ip_num";
        string limit = asn is null ? "" : Limit(options.Top);
        var profiles = new List<object?[]>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"""
                SELECT ip, asn, as_name, country, epoch_us(first_seen), epoch_us(last_seen), days_seen, messages, reported_by_others,
                    ports, node_ids, bep42, versions, clients, read_only
                FROM {rel.IpProfiles} WHERE {filter} ORDER BY {order} {limit}
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
                profiles.Add([r.GetString(0), r.IsDBNull(1) ? null : Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture), Str(r, 2), Str(r, 3),
                    FromMicros(r.GetInt64(4)), FromMicros(r.GetInt64(5)), r.GetInt64(6), r.GetInt64(7),
                    r.GetInt64(8), r.GetInt64(9), r.GetInt64(10), Str(r, 11), Clients(Str(r, 12), Str(r, 13)), r.GetBoolean(14)]);
        }
        table.Notes.Add("The profile covers all data in the database (ip_profiles): messages = messages the address sent, reported_by_others = times others listed it in nodes/nodes6.");
        if (profiles.Count == 0)
        {
            table.Unavailable = asn is { } x
                ? $"No address of AS{x} was seen (or this database has no ASN data: pcapdht asn import FILE)."
                : $"No sighting of {string.Join(", ", addresses)} in this database.";
            return table;
        }
        if (!single)
        {
            table.Rows.AddRange(profiles);
            var found = profiles.Select(p => (string)p[0]!).ToHashSet();
            var missing = addresses.Select(x => x.ToString()).Where(x => !found.Contains(x)).ToList();
            if (missing.Count > 0) table.Notes.Add($"Not seen in this database: {string.Join(", ", missing)}.");
            if (WindowCoverage.Span(db) is { } span)
            {
                table.Window = span;
                table.WindowIsAllData = true;
            }
            AddDatasets(db, table, RangeKind.Asn, RangeKind.Country);
            return table;
        }
        for (int i = 1; i < ProfileColumns.Length; i++)
            table.Facts.Add(new(ProfileColumns[i].Name, profiles[0][i]));
        var window = ResolveWindow(db, options);
        table.Window = window;
        table.Notes.Add("The rows are the address's activity per UTC day of the window.");
        string ip = addresses[0].Value.ToString(CultureInfo.InvariantCulture);
        var (firstDay, lastDay) = DayNumbers(window);
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"""
                WITH e AS (
                    SELECT epoch_us(ts) // {MicrosPerDay} AS day, 1 AS sent, 0 AS reported, node_id, src_port AS port FROM {rel.Messages} WHERE src_ip_num = {ip}
                    UNION ALL
                    SELECT epoch_us(ts) // {MicrosPerDay}, 0, 1, node_id, port FROM {rel.ReplyContacts} WHERE ip_num = {ip})
                SELECT day, sum(sent)::BIGINT, sum(reported)::BIGINT, count(DISTINCT node_id), count(DISTINCT port)
                FROM e WHERE day BETWEEN {firstDay} AND {lastDay} GROUP BY day ORDER BY day
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
                table.Rows.Add([DayText(FromMicros(r.GetInt64(0) * MicrosPerDay)), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3), r.GetInt64(4)]);
        }
        AddDatasets(db, table, RangeKind.Asn, RangeKind.Country);
        return table;
    }

    /// <summary>Decoded `v` keys ("libtorrent 2.0.8"), from the hex versions; the 2-letter codes when a version does not decode.</summary>
    private static string? Clients(string? versions, string? codes)
    {
        if (versions is null) return codes;
        var names = new List<string>();
        foreach (var hex in versions.Split(','))
        {
            if (hex.Length == 8 && ClientVersion.TryDecode(Convert.FromHexString(hex), out var code, out var version))
                names.Add($"{ClientVersion.ClientName(code) ?? code} {version}");
            else names.Add("v=" + hex.ToLowerInvariant());
        }
        return string.Join(", ", names.Distinct());
    }
}
