using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Enrich;
using PcapDht.Net;

namespace PcapDht.Analysis;

/// <summary>One flagged address of <c>report sybil</c>, with every reason found.</summary>
public sealed record SybilAddress(
    IpAddr Ip, uint? Asn, string? AsName, long NodeIds, long Ports, long ChangingEndpoints, long Bep42InvalidIds,
    long ClusterIds, string? ClusterTarget)
{
    public bool OverEightIds => NodeIds > Reports.Bep42IdsPerAddress;
    public bool IdChanges => ChangingEndpoints > 0;
    public bool Bep42Invalid => Bep42InvalidIds >= 2;
    public bool PrefixCluster => ClusterIds > 0;

    /// <summary>Why it was flagged, in words.</summary>
    public string Reasons
    {
        get
        {
            var r = new List<string>();
            if (OverEightIds) r.Add($"{NodeIds} node ids (BEP 42 allows {Reports.Bep42IdsPerAddress})");
            if (IdChanges) r.Add(ChangingEndpoints == 1 ? "id changed on 1 endpoint" : $"id changed on {ChangingEndpoints} endpoints");
            if (Bep42Invalid) r.Add($"{Bep42InvalidIds} ids not BEP 42-valid for it");
            if (PrefixCluster) r.Add(ClusterTarget is null ? $"{ClusterIds} ids in a 40-bit prefix cluster" : $"{ClusterIds} ids sharing 40+ bits with info-hash {ClusterTarget[..16].ToLowerInvariant()}…");
            return string.Join("; ", r);
        }
    }
}

/// <summary>Per-ASN summary of <c>report sybil</c>.</summary>
public sealed record SybilAsn(uint? Asn, string? AsName, long Addresses, long Flagged, long OverEightIds, long IdChanges, long Bep42Invalid, long PrefixCluster);

public sealed class SybilResult
{
    public required ReportWindow Window { get; init; }
    public List<SybilAddress> Addresses { get; } = [];
    public List<SybilAsn> Asns { get; } = [];
    public long AddressesSeen { get; set; }
    public string? Unavailable { get; set; }
}

public static partial class Reports
{
    /// <summary>BEP 42: the id prefix depends on the address and 3 random bits, so one IPv4 address has at most 8 valid ids.</summary>
    public const int Bep42IdsPerAddress = 8;

    /// <summary>
    /// Addresses that look like Sybils (docs/analysis.md, "Sybil addresses"): more than 8 node ids, an
    /// endpoint whose id changes, two or more ids that are not BEP 42-valid for the address, or ids in a
    /// prefix cluster (3+ distinct ids sharing their first 40 bits, or 2+ sharing them with a queried
    /// target) — the shape of index poisoning and eclipse attacks.
    /// </summary>
    public static SybilResult SybilReport(DuckDBConnection db, ReportOptions options, PopulationRelations? relations = null)
    {
        var rel = relations ?? PopulationRelations.Store;
        var window = ResolveWindow(db, options);
        var result = new SybilResult { Window = window };
        if (!RangeStore.RelationExists(db, rel.Messages) || !RangeStore.RelationExists(db, rel.ReplyContacts))
        {
            result.Unavailable = NoStore(rel.ReplyContacts);
            return result;
        }
        string flags = SybilSql(rel, WindowPredicate(window));
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"""
                WITH {flags}
                SELECT f.ip_num, CASE WHEN f.ip_num <= a.end_num THEN a.asn END, CASE WHEN f.ip_num <= a.end_num THEN a.as_name END,
                    f.node_ids, f.ports, f.changing_endpoints, f.bep42_invalid, f.cluster_ids, f.cluster_target
                FROM flags f ASOF LEFT JOIN asn_ranges a ON f.ip_num >= a.start_num
                WHERE f.flagged ORDER BY f.node_ids DESC, f.ip_num
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
                result.Addresses.Add(new SybilAddress(new IpAddr(ToUInt128(r.GetValue(0))), r.IsDBNull(1) ? null : Convert.ToUInt32(r.GetValue(1), CultureInfo.InvariantCulture),
                    Str(r, 2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7), Str(r, 8)));
        }
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"""
                WITH {flags},
                enriched AS (
                    SELECT f.*, CASE WHEN f.ip_num <= a.end_num THEN a.asn END AS asn, CASE WHEN f.ip_num <= a.end_num THEN a.as_name END AS as_name
                    FROM flags f ASOF LEFT JOIN asn_ranges a ON f.ip_num >= a.start_num)
                SELECT asn, min(as_name), count(*), count(*) FILTER (WHERE flagged),
                    count(*) FILTER (WHERE node_ids > {Bep42IdsPerAddress}), count(*) FILTER (WHERE changing_endpoints > 0),
                    count(*) FILTER (WHERE bep42_invalid >= 2), count(*) FILTER (WHERE cluster_ids > 0)
                FROM enriched GROUP BY asn ORDER BY count(*) FILTER (WHERE flagged) DESC, count(*) DESC, asn NULLS LAST
                """;
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var row = new SybilAsn(r.IsDBNull(0) ? null : Convert.ToUInt32(r.GetValue(0), CultureInfo.InvariantCulture), Str(r, 1),
                    r.GetInt64(2), r.GetInt64(3), r.GetInt64(4), r.GetInt64(5), r.GetInt64(6), r.GetInt64(7));
                result.AddressesSeen += row.Addresses;
                result.Asns.Add(row);
            }
        }
        return result;
    }

    /// <summary><see cref="SybilReport"/> as a table: flagged addresses, or with <paramref name="byAsn"/> the per-ASN summary.</summary>
    public static ResultTable Sybil(DuckDBConnection db, ReportOptions options, bool byAsn, PopulationRelations? relations = null)
    {
        var r = SybilReport(db, options, relations);
        var table = byAsn
            ? new ResultTable
            {
                Title = "Sybil signs per ASN",
                Columns =
                [
                    new("asn", ColumnKind.Number), new("as_name", ColumnKind.Text), new("addresses", ColumnKind.Integer),
                    new("flagged", ColumnKind.Integer), new("over_8_ids", ColumnKind.Integer), new("id_changes", ColumnKind.Integer),
                    new("bep42_invalid", ColumnKind.Integer), new("prefix_cluster", ColumnKind.Integer), new("flagged_share", ColumnKind.Share),
                ],
            }
            : new ResultTable
            {
                Title = "Addresses with Sybil signs",
                Columns =
                [
                    new("ip", ColumnKind.Text), new("asn", ColumnKind.Number), new("as_name", ColumnKind.Text),
                    new("node_ids", ColumnKind.Integer), new("ports", ColumnKind.Integer), new("changing_endpoints", ColumnKind.Integer),
                    new("bep42_invalid_ids", ColumnKind.Integer), new("cluster_ids", ColumnKind.Integer), new("why", ColumnKind.Text),
                ],
            };
        table.Window = r.Window;
        if (!HasSightingsIn(db, table, relations)) return table;
        if (r.Unavailable is { } why)
        {
            table.Unavailable = why;
            return table;
        }
        table.Facts.Add(new("addresses with node ids", r.AddressesSeen));
        table.Facts.Add(new("flagged", new CountShare(r.Addresses.Count, r.AddressesSeen)));
        table.Facts.Add(new($"with more than {Bep42IdsPerAddress} ids", (long)r.Addresses.Count(a => a.OverEightIds)));
        table.Facts.Add(new("with a changing id", (long)r.Addresses.Count(a => a.IdChanges)));
        table.Facts.Add(new("with 2+ ids not BEP 42-valid", (long)r.Addresses.Count(a => a.Bep42Invalid)));
        table.Facts.Add(new("in prefix clusters", (long)r.Addresses.Count(a => a.PrefixCluster)));
        table.Notes.Add("Ids counted: node ids an address sent (queries, responses) or was listed with in nodes/nodes6 by others.");
        table.Notes.Add("Caveats: NAT and carrier-grade NAT put several honest nodes on one address (more ids, and ids not BEP 42-valid for the shared address); a restarted client gets a new id on the same endpoint; clusters need 3 ids in one 40-bit prefix (about 1 in 10^4 among 10 million random ids) or 2 next to a queried info-hash.");
        if (byAsn)
        {
            foreach (var a in r.Asns)
                table.Rows.Add([a.Asn is { } n ? (long)n : null, a.AsName, a.Addresses, a.Flagged, a.OverEightIds, a.IdChanges, a.Bep42Invalid, a.PrefixCluster,
                    a.Addresses == 0 ? 0.0 : (double)a.Flagged / a.Addresses]);
            if (options.Top > 0 && table.Rows.Count > options.Top) table.Rows.RemoveRange(options.Top, table.Rows.Count - options.Top);
        }
        else
        {
            foreach (var a in r.Addresses)
                table.Rows.Add([a.Ip.ToString(), a.Asn is { } n ? (long)n : null, a.AsName, a.NodeIds, a.Ports, a.ChangingEndpoints, a.Bep42InvalidIds, a.ClusterIds, a.Reasons]);
            if (options.Top > 0 && table.Rows.Count > options.Top)
            {
                table.Notes.Add($"Shown: the first {options.Top} by node ids (--top 0 shows all).");
                table.Rows.RemoveRange(options.Top, table.Rows.Count - options.Top);
            }
        }
        AddDatasets(db, table, RangeKind.Asn);
        return table;
    }

    /// <summary>One place for the Sybil SQL: the CTE <c>flags</c>, one row per address with node ids, with its counters.</summary>
    internal static string SybilSql(PopulationRelations r, string where) => $"""
        s AS (
            SELECT src_ip_num AS ip_num, src_port AS port, node_id, true AS sender FROM {r.Messages}
            WHERE {where} AND y <> 'e' AND octet_length(node_id) = 20
            UNION ALL
            SELECT ip_num, port, node_id, false FROM {r.ReplyContacts} WHERE {where}),
        per_ip AS (
            SELECT ip_num, count(DISTINCT node_id) AS node_ids, count(DISTINCT port) AS ports,
                count(DISTINCT node_id) FILTER (WHERE sender AND NOT pcapdht_bep42_valid(ip_num, node_id)) AS bep42_invalid
            FROM s GROUP BY ip_num),
        endpoints AS (
            SELECT ip_num, count(*) AS changing_endpoints
            FROM (SELECT ip_num, port FROM s GROUP BY ip_num, port HAVING count(DISTINCT node_id) > 1) GROUP BY ip_num),
        ids AS (SELECT DISTINCT ip_num, node_id, ('0x' || left(hex(node_id), 10))::UBIGINT AS p40 FROM s),
        targets AS (
            SELECT ('0x' || left(hex(coalesce(target, info_hash)), 10))::UBIGINT AS p40, min(hex(coalesce(target, info_hash))) AS target
            FROM {r.Messages} WHERE {where} AND y = 'q' AND octet_length(coalesce(target, info_hash)) = 20 GROUP BY 1),
        prefixes AS (SELECT p40, count(DISTINCT node_id) AS n FROM ids GROUP BY p40 HAVING count(DISTINCT node_id) >= 2),
        clusters AS (
            SELECT p.p40, t.target FROM prefixes p LEFT JOIN targets t USING (p40)
            WHERE p.n >= 3 OR t.p40 IS NOT NULL),
        clustered AS (
            SELECT i.ip_num, count(DISTINCT i.node_id) AS cluster_ids, min(c.target) AS cluster_target
            FROM ids i JOIN clusters c USING (p40) GROUP BY i.ip_num),
        flags AS (
            SELECT p.ip_num, p.node_ids, p.ports, coalesce(e.changing_endpoints, 0) AS changing_endpoints, p.bep42_invalid,
                coalesce(c.cluster_ids, 0) AS cluster_ids, c.cluster_target,
                p.node_ids > {Bep42IdsPerAddress} OR coalesce(e.changing_endpoints, 0) > 0 OR p.bep42_invalid >= 2
                    OR coalesce(c.cluster_ids, 0) > 0 AS flagged
            FROM per_ip p LEFT JOIN endpoints e USING (ip_num) LEFT JOIN clustered c USING (ip_num))
        """;

    /// <summary>
    /// For the store's relations: false, with <see cref="ResultTable.Unavailable"/> saying why and where the data
    /// is, when the database has no sightings or none in the table's window (what the other reports say too).
    /// </summary>
    /// <param name="detail">The report reads the detail rows: a window that reaches before those <c>pcapdht prune</c> deleted is refused too.</param>
    private static bool HasSightingsIn(DuckDBConnection db, ResultTable table, PopulationRelations? relations, bool detail = true)
    {
        if (relations is not null && relations != PopulationRelations.Store) return true;
        if (WindowCoverage.Span(db) is not { } span)
        {
            table.Unavailable = NoSightings;
            return false;
        }
        var window = table.Window!.Value;
        if (detail && DetailPrunedIn(db, window) is { } pruned)
        {
            table.Unavailable = pruned;
            return false;
        }
        if (window.Until >= span.Since && window.Since <= span.Until) return true;
        table.Unavailable = WindowCoverage.ExplainEmpty(db, window, span);
        return false;
    }

    private static string NoStore(string relation) =>
        $"This database has no {relation} relation: ingest a capture with this pcapdht first (pcapdht ingest FILE --db FILE).";
}
