using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Enrich;

namespace PcapDht.Analysis;

/// <summary>How <c>report bep42</c> groups its pairs.</summary>
public enum Bep42Grouping
{
    Client,
    Asn,
}

public static partial class Reports
{
    /// <summary>
    /// BEP 42 compliance of the distinct (address, node id) pairs of message senders in the window: an
    /// id is compliant when its first 21 bits are CRC32-C of the masked address (docs/analysis.md). Pairs
    /// from addresses BEP 42 exempts (private, loopback, link-local) are counted apart. The first row
    /// covers all pairs, then one row per client (the `v` code) or per ASN.
    /// </summary>
    public static ResultTable Bep42(DuckDBConnection db, ReportOptions options, Bep42Grouping by, PopulationRelations? relations = null)
    {
        var rel = relations ?? PopulationRelations.Store;
        bool byAsn = by == Bep42Grouping.Asn;
        var table = new ResultTable
        {
            Title = byAsn ? "BEP 42 compliance of senders' node ids, per ASN" : "BEP 42 compliance of senders' node ids, per client",
            Columns =
            [
                new(byAsn ? "asn" : "client", byAsn ? ColumnKind.Number : ColumnKind.Text), new(byAsn ? "as_name" : "code", ColumnKind.Text),
                new("pairs", ColumnKind.Integer), new("compliant", ColumnKind.Integer), new("non_compliant", ColumnKind.Integer),
                new("exempt", ColumnKind.Integer), new("compliant_share", ColumnKind.Share),
            ],
        };
        var window = ResolveWindow(db, options);
        table.Window = window;
        if (!RangeStore.RelationExists(db, rel.Messages) || !StoreMacrosExist(db))
        {
            table.Unavailable = NoStore(rel.Messages);
            return table;
        }
        if (!HasSightingsIn(db, table, relations)) return table;
        string group = byAsn ? "CASE WHEN p.ip_num <= a.end_num THEN a.asn END" : "p.client";
        string name = byAsn ? "min(CASE WHEN p.ip_num <= a.end_num THEN a.as_name END)" : "NULL";
        using var cmd = db.CreateCommand();
        cmd.CommandText = $"""
            WITH {Bep42PairsSql(rel, WindowPredicate(window))}
            SELECT {group} AS g, {name}, count(*), count(*) FILTER (WHERE valid), count(*) FILTER (WHERE NOT valid), count(*) FILTER (WHERE valid IS NULL)
            FROM pairs p ASOF LEFT JOIN asn_ranges a ON p.ip_num >= a.start_num
            GROUP BY GROUPING SETS ((), ({group}))
            ORDER BY GROUPING({group}) DESC, count(*) DESC, g NULLS LAST
            """;
        using var r = cmd.ExecuteReader();
        bool first = true;
        while (r.Read())
        {
            long pairs = r.GetInt64(2), ok = r.GetInt64(3), bad = r.GetInt64(4), exempt = r.GetInt64(5);
            double share = ok + bad == 0 ? 0 : (double)ok / (ok + bad);
            object? key;
            string? label;
            if (first)
            {
                key = byAsn ? null : "(all)";
                label = byAsn ? "(all)" : null;
                table.Facts.Add(new("pairs", pairs));
                table.Facts.Add(new("compliant", new CountShare(ok, ok + bad)));
                table.Facts.Add(new("non-compliant", new CountShare(bad, ok + bad)));
                table.Facts.Add(new("exempt", exempt));
                if (ok + bad > 0) table.Facts.Add(new("compliant share", Math.Round(share, 6)));
                else table.Notes.Add("No pair in the window is subject to BEP 42: every sender address is exempt (loopback, private, link-local).");
                first = false;
            }
            else if (byAsn)
            {
                key = r.IsDBNull(0) ? null : Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture);
                label = r.IsDBNull(1) ? (r.IsDBNull(0) ? "(no ASN range)" : null) : r.GetString(1);
            }
            else
            {
                string? code = Str(r, 0);
                label = code;
                key = code is null ? "(no v key)" : ClientVersion.ClientName(code) ?? "(unlisted code)";
            }
            table.Rows.Add([key, label, pairs, ok, bad, exempt, share]);
        }
        table.Notes.Add("Pairs: distinct (address, node id) pairs of query and response senders, each counted once however often it was seen; the shares are of the pairs BEP 42 applies to (compliant + non-compliant).");
        table.Notes.Add("Rule (BEP 42): the id's first 21 bits equal CRC32-C of the address masked (IPv4 0x030f3fff, IPv6 0x0103070f1f3f7fff) with the id's last byte & 7 in the top bits; loopback, private, link-local and unique-local addresses are exempt.");
        table.Notes.Add("Caveat: clients that do not implement BEP 42 send random ids, which are compliant by chance with probability 2^-21.");
        if (options.Top > 0 && table.Rows.Count > options.Top + 1) table.Rows.RemoveRange(options.Top + 1, table.Rows.Count - options.Top - 1);
        if (byAsn) AddDatasets(db, table, RangeKind.Asn);
        return table;
    }

    /// <summary>One place for the BEP 42 SQL: the CTE <c>pairs</c>, distinct (sender address, id) pairs with their validity and client.</summary>
    internal static string Bep42PairsSql(PopulationRelations r, string where) => $"""
        pairs AS (
            SELECT src_ip_num AS ip_num, node_id, mode(client) AS client, pcapdht_bep42_valid(src_ip_num, node_id) AS valid
            FROM {r.Messages}
            WHERE {where} AND y IN ('q', 'r') AND node_id IS NOT NULL
            GROUP BY src_ip_num, node_id)
        """;

    /// <summary>The store's SQL macros (BEP 42, address text) exist only in files a pcapdht store opened.</summary>
    private static bool StoreMacrosExist(DuckDBConnection db) =>
        Scalar(db, "SELECT count(*) FROM duckdb_functions() WHERE function_name = 'pcapdht_bep42_valid'") > 0;
}
