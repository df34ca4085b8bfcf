using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Charts;

namespace PcapDht.Html;

/// <summary>
/// One section of the page: a report from <see cref="Reports"/> (the same call a text report makes, so the
/// page cannot disagree with <c>pcapdht report ...</c>), a caption that says in one line what is counted,
/// and how it is shown. A new report becomes a panel by adding one entry to <see cref="ReportPanels.Default"/>.
/// </summary>
public sealed record ReportPanel(string Id, string Title, string Caption, Func<DuckDBConnection, ReportOptions, ResultTable> Report)
{
    public IReadOnlyList<PanelView> Views { get; init; } = [];
    /// <summary>What the panel says when the report has no row in the window.</summary>
    public string Empty { get; init; } = "Nothing in this window.";
    /// <summary>Facts of the report to show under the caption (all but the window when null).</summary>
    public IReadOnlyList<string>? Facts { get; init; }
}

/// <summary>How a panel shows its report.</summary>
public abstract record PanelView;

/// <summary>An SVG chart drawn by a <see cref="ChartSpec"/>.</summary>
public sealed record ChartView(ChartSpec Spec) : PanelView;

/// <summary>A table of some of the report's columns, each with a heading a reader understands.</summary>
public sealed record TableView(IReadOnlyList<(string Column, string Heading)> Columns) : PanelView;

/// <summary>The headline numbers, taken from the other panels' reports.</summary>
public sealed record HeadlineView : PanelView;

/// <summary>The panels of <c>pcapdht report html</c>, in page order.</summary>
public static class ReportPanels
{
    public const string Headline = "headline", Asn = "asn", Map = "map", Daily = "daily", Churn = "churn", Size = "size", Clients = "clients",
        Sybil = "sybil", Bep42 = "bep42", Messages = "messages", ResponseTimes = "rtt", Malformed = "malformed", Captures = "captures";

    /// <summary>
    /// The size estimate per UTC day when some day has enough converged lookups, else over the whole window (one
    /// row per family, no line to draw), else the report's one-line reason why it cannot estimate.
    /// </summary>
    public static ResultTable SizeOverTime(DuckDBConnection db, ReportOptions options)
    {
        var byDay = Reports.Size(db, options, new SizeOptions { By = SizeGrouping.Day });
        if (byDay.Unavailable is null) return byDay;
        var window = Reports.Size(db, options, new SizeOptions());
        return window.Unavailable is null ? window : byDay;
    }

    public static IReadOnlyList<ReportPanel> Default { get; } =
    [
        new(Headline, "At a glance",
            "The BitTorrent DHT is the address book BitTorrent apps use to find each other without a central server; each app in it is a node with an IP address, and these are the nodes, messages and networks the captured traffic shows.",
            (db, o) => Reports.Overview(db, o, explicitWindow: true))
        {
            Views = [new HeadlineView()],
        },
        new(Asn, "Addresses per network (ASN)",
            "How many different IP addresses of each network operator (an autonomous system: an internet provider, mobile carrier or hosting company) took part in the DHT; \"seen sending\" counts only those whose own packets were captured, the rest were named by other nodes.",
            Reports.Asn)
        {
            Views =
            [
                new ChartView(ReportCharts.Asn),
                new TableView([("rank", "#"), ("asn", "ASN"), ("as_name", "Network"), ("country", "Country"), ("ips", "Addresses"), ("direct_ips", "Seen sending"), ("share", "Share of all")]),
            ],
            Empty = "No address in this window is in a range of the imported ASN data (private, loopback and unrouted addresses never are): see the counts above.",
        },
        new(Map, "Addresses per country",
            "How many different IP addresses were seen in each country (where the address is registered), darker for more on a logarithmic scale where each legend step is ten times more; point at a country for its number.",
            (db, o) => Reports.Country(db, o with { Top = 0 }))
        {
            Views = [new ChartView(ReportCharts.Country)],
            Empty = "No address in this window has a country in the imported data (private, loopback and unrouted addresses never do): see the counts above.",
        },
        new(Daily, "Addresses per day",
            "How many different IP addresses were seen on each whole day (UTC) the window touches, in total and for the five networks with the most addresses over the window (the numbers of pcapdht report daily).",
            (db, o) => Reports.DailyWithTopAsns(db, o, topAsns: 5))
        {
            Views = [new ChartView(ReportCharts.DailyAddresses)],
            Facts = ["UTC days"],
        },
        new(Churn, "Who came, who stayed, who left",
            "For each day: how many of that day's addresses were new (never seen on an earlier day of the data), returning (seen before) or gone (never seen on a later day); a steady network has few of each.",
            (db, o) => Reports.Daily(db, o, byAsn: false))
        {
            Views =
            [
                new ChartView(ReportCharts.Churn),
                new TableView([("day", "Day (UTC)"), ("ips", "Addresses"), ("new", "New"), ("returning", "Returning"), ("gone", "Gone")]),
            ],
        },
        new(Size, "How big is the DHT?",
            "An estimate of how many nodes the whole DHT has, worked out from how close the answers to finished searches came to what was searched for, with a 95% range (the shaded band): the true number lies in it unless the assumptions below fail; with too few finished searches there is no number.",
            SizeOverTime)
        {
            Views =
            [
                new ChartView(ReportCharts.Size),
                new TableView([("day", "Day (UTC)"), ("family", "Family"), ("method", "Method"), ("estimate", "Nodes"), ("ci_low", "95% from"), ("ci_high", "95% to"), ("lookups_used", "Searches used"), ("lookups_rejected", "Searches left out")]),
            ],
            Facts = ["IPv4 lookups", "IPv4 lookups used", "IPv6 lookups", "IPv6 lookups used"],
        },
        new(Clients, "Software the nodes run",
            "The BitTorrent app and version each node names in its messages (the optional \"v\" field), counted in different IP addresses; \"no v key\" means the app did not say.",
            Reports.Clients)
        {
            Views =
            [
                new ChartView(ReportCharts.Clients),
                new TableView([("rank", "#"), ("client", "Client"), ("code", "Code"), ("version", "Version"), ("ips", "Addresses"), ("node_ids", "Node ids"), ("messages", "Messages"), ("share", "Share")]),
            ],
        },
        new(Sybil, "Addresses that look like many nodes",
            "Addresses that may be one machine posing as many nodes (a Sybil attack): more node ids than the 8 the BEP 42 rule allows an address, an id that changes, ids that do not match the address, or ids packed next to one torrent; each row says why, and shared homes or offices behind one address (NAT) can look the same.",
            (db, o) => Reports.Sybil(db, o, byAsn: false))
        {
            Views =
            [
                new ChartView(ReportCharts.Sybil),
                new TableView([("ip", "Address"), ("asn", "ASN"), ("as_name", "Network"), ("node_ids", "Node ids"), ("ports", "Ports"), ("why", "Why it was flagged")]),
            ],
            Empty = "No address in this window shows a Sybil sign.",
        },
        new(Bep42, "Node ids that match their address (BEP 42)",
            "BEP 42 ties a node's id to its IP address so that one machine cannot pick ids wherever it likes; per app, how many (address, id) pairs follow the rule: apps that ignore it pick random ids, which almost never match.",
            (db, o) => Reports.Bep42(db, o, Bep42Grouping.Client))
        {
            Views =
            [
                new ChartView(ReportCharts.Bep42),
                new TableView([("client", "Client"), ("code", "Code"), ("pairs", "Pairs"), ("compliant", "Compliant"), ("non_compliant", "Not compliant"), ("exempt", "Exempt (private)"), ("compliant_share", "Compliant share")]),
            ],
            Facts = ["pairs", "compliant", "non-compliant", "exempt"],
        },
        new(Messages, "Messages by type",
            "The DHT messages captured, by what they ask for: a node sends a query (find a node, find peers for a torrent, ping, announce itself), the other answers with a response or an error.",
            Reports.MessageKinds)
        {
            Views = [new ChartView(ReportCharts.Messages)],
        },
        new(ResponseTimes, "How fast nodes answer",
            "The time from a query to its answer, measured where the traffic was captured, for answers whose query is in the same capture; bars count answers on a scale where each step is about twice the last.",
            Reports.ResponseTimes)
        {
            Views = [new ChartView(ReportCharts.ResponseTimes)],
            Empty = "No answer in this window could be matched to its query.",
        },
        new(Malformed, "Broken messages",
            "Packets that looked like DHT messages but broke the protocol's rules, by what was wrong: a few come from buggy or hostile senders everywhere, many point at a problem with the capture or a client.",
            Reports.MalformedReasons)
        {
            Views = [new ChartView(ReportCharts.Malformed)],
            Empty = "No malformed datagram in this window: every packet that looked like a DHT message decoded.",
        },
        new(Captures, "Capture health",
            "The capture files and live sessions behind this page, over the window: a damaged (partial) or interrupted capture, or packets a live capture dropped, mean some traffic is missing from every number above.",
            Reports.CaptureHealth)
        {
            Views =
            [
                new ChartView(ReportCharts.Captures),
                new TableView([("source", "Capture"), ("kind", "Kind"), ("status", "Status"), ("first_ts", "First packet"), ("last_ts", "Last packet"), ("frames", "Frames"), ("krpc_messages", "DHT messages"), ("malformed_krpc", "Malformed"), ("dropped", "Dropped"), ("error", "Error")]),
            ],
            Empty = "No capture overlaps this window.",
        },
    ];
}
