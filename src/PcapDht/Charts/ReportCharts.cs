using PcapDht.Analysis;

namespace PcapDht.Charts;

/// <summary>The chart of each report in <see cref="Reports"/>: one place, used by the page and by <c>--chart</c>.</summary>
public static class ReportCharts
{
    /// <summary><see cref="Reports.Asn"/>: addresses and directly seen addresses per AS.</summary>
    public static readonly ChartSpec Asn = new BarSpec(
        (t, r) => AsLabel(t.Number(r, "asn"), t.Text(r, "as_name")),
        [("ips", "all addresses"), ("direct_ips", "seen sending")]);

    /// <summary><see cref="Reports.Country"/>: the world map (run the report with --top 0 for every country).</summary>
    public static readonly ChartSpec Country = new MapSpec("country", "ips", "addresses");

    /// <summary><see cref="Reports.AddressesPerDay"/>: all addresses, then the top ASNs.</summary>
    public static readonly ChartSpec AddressesPerDay = new LineSpec("day",
        (t, r) => t.Number(r, "asn") is null ? "all addresses" : AsLabel(t.Number(r, "asn"), t.Text(r, "as_name")), "ips");

    /// <summary>
    /// <see cref="Reports.DailyWithTopAsns"/> and <c>report daily --by asn</c>: addresses per day, a line for all
    /// addresses (no ASN and no name) and one per ASN ("(no ASN range)" for addresses outside the data set).
    /// </summary>
    public static readonly ChartSpec DailyAddresses = new LineSpec("day",
        (t, r) => t.Number(r, "asn") is null && t.Text(r, "as_name") is null ? "all addresses" : AsLabel(t.Number(r, "asn"), t.Text(r, "as_name")), "ips");

    /// <summary><see cref="Reports.Daily"/>: distinct, new, returning and gone addresses per day.</summary>
    public static readonly ChartSpec Churn = new ColumnLineSpec("day",
        [("ips", "all addresses"), ("new", "new"), ("returning", "returning"), ("gone", "gone (not seen again)")]);

    /// <summary>
    /// <see cref="Reports.Size"/> by day: the estimate of each address family and method with its 95% interval as a
    /// band; a day without enough converged lookups is a gap, not a number.
    /// </summary>
    public static readonly ChartSpec Size = new LineSpec("day", (t, r) => $"{t.Text(r, "family")} {t.Text(r, "method")}", "estimate")
    {
        MissingIsZero = false,
        Low = "ci_low",
        High = "ci_high",
    };

    /// <summary><see cref="Reports.Sybil"/>: node ids of each flagged address (BEP 42 allows an IPv4 address 8).</summary>
    public static readonly ChartSpec Sybil = new BarSpec((t, r) => t.Number(r, "asn") is { } asn ? $"{t.Text(r, "ip")} (AS{asn:0})" : t.Text(r, "ip") ?? "",
        [("node_ids", "node ids")]);

    /// <summary><see cref="Reports.Bep42"/>: compliant and non-compliant (address, id) pairs stacked per client or ASN.</summary>
    public static readonly ChartSpec Bep42 = new BarSpec((t, r) => t.Columns[0].Name == "asn"
            ? (t.Number(r, "asn") is null && t.Text(r, "as_name") == "(all)" ? "(all)" : AsLabel(t.Number(r, "asn"), t.Text(r, "as_name")))
            : t.Text(r, "client") ?? "",
        [("compliant", "compliant"), ("non_compliant", "not compliant")], BarLayout.Stacked);

    /// <summary><see cref="Reports.Clients"/>: addresses per client and version.</summary>
    public static readonly ChartSpec Clients = new BarSpec((t, r) => ClientLabel(t.Text(r, "client"), t.Text(r, "code"), t.Text(r, "version")),
        [("ips", "addresses")]);

    /// <summary><see cref="Reports.MessageKinds"/>: queries, responses and errors stacked per method.</summary>
    public static readonly ChartSpec Messages = new BarSpec((t, r) => t.Text(r, "method") ?? "",
        [("queries", "queries"), ("responses", "responses"), ("errors", "errors")], BarLayout.Stacked);

    /// <summary><see cref="Reports.ResponseTimes"/>.</summary>
    public static readonly ChartSpec ResponseTimes = new HistogramSpec("bin", "from_ms", "answers", "answers");

    /// <summary><see cref="Reports.MalformedReasons"/>.</summary>
    public static readonly ChartSpec Malformed = new BarSpec((t, r) => t.Text(r, "reason") ?? "", [("datagrams", "datagrams")]);

    /// <summary><see cref="Reports.CaptureHealth"/>: each capture's span, coloured by status.</summary>
    public static readonly ChartSpec Captures = new TimelineSpec("source", "first_ts", "last_ts", "status", (t, r) =>
    {
        string tip = $"{t.Text(r, "source")} ({t.Text(r, "kind")}, {t.Text(r, "status")}): {t.Text(r, "first_ts")} .. {t.Text(r, "last_ts")}, "
                     + $"{ChartTheme.Count(t.Number(r, "krpc_messages") ?? 0)} KRPC messages";
        if (t.Number(r, "dropped") is { } d) tip += $", {ChartTheme.Count(d)} packets dropped";
        if (t.Text(r, "error") is { Length: > 0 } e) tip += $" — {e}";
        return tip;
    });

    /// <summary>"libtorrent 2.0.8"; a code the report cannot name keeps its letters: "TR 16128 (unlisted code)".</summary>
    public static string ClientLabel(string? client, string? code, string? version)
    {
        bool named = !string.IsNullOrEmpty(client) && !client.StartsWith('(');
        var parts = new[] { named ? client : code, version, named || string.IsNullOrEmpty(code) ? null : client }.Where(s => !string.IsNullOrEmpty(s));
        string label = string.Join(' ', parts);
        return label.Length > 0 ? label : client ?? "";
    }

    public static string AsLabel(double? asn, string? name) =>
        asn is null ? name ?? "" : string.IsNullOrEmpty(name) ? $"AS{asn:0}" : $"AS{asn:0} {name}";
}
