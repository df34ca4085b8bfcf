using System.Text.Json;

namespace PcapDht.Synth;

/// <summary>Distinct counts for one AS inside the report window (definitions in docs/synth.md).</summary>
public sealed record AsnTruth(
    uint Asn,
    string Org,
    long Ips,
    long SenderIps,
    long Ipv4,
    long Ipv6,
    long Ipv6Slash64,
    long PeerIps,
    long IpsAllTime,
    long ReportIps,
    long ReportDirectIps);

/// <summary>Distinct counts for one country inside the report window (when country ranges were given).</summary>
public sealed record CountryTruth(string Country, long Ips, long SenderIps, long ReportIps, long ReportDirectIps);

/// <summary>What the generator wrote, counted while writing it. docs/synth.md defines every field.</summary>
public sealed class SynthTruth
{
    public ulong Seed { get; init; }
    public string Format { get; init; } = "";
    public string RangesLabel { get; init; } = "";
    public string CountriesLabel { get; init; } = "";
    public int Days { get; init; }
    public int WindowDays { get; init; }

    public long Frames { get; internal set; }
    public long Ipv4Frames { get; internal set; }
    public long Ipv6Frames { get; internal set; }
    public long FragmentFrames { get; internal set; }
    public long FragmentedDatagrams { get; internal set; }
    public long UdpDatagrams { get; internal set; }
    public long KrpcMessages { get; internal set; }
    public long KrpcMessagesInWindow { get; internal set; }
    public long Malformed { get; internal set; }
    public long MalformedInWindow { get; internal set; }
    public long Utp { get; internal set; }
    public long Dns { get; internal set; }
    public long RandomUdp { get; internal set; }

    public long FirstTimestampUs { get; internal set; }
    public long LastTimestampUs { get; internal set; }
    /// <summary>Inclusive: a sighting counts when WindowStartUs &lt;= ts &lt;= WindowEndUs.</summary>
    public long WindowStartUs { get; internal set; }
    /// <summary>max(ts) over node_sightings: the newest query or response.</summary>
    public long WindowEndUs { get; internal set; }

    public long NodeSightings { get; internal set; }
    public long NodeSightingsInWindow { get; internal set; }
    public long SenderSightings { get; internal set; }
    public long SenderSightingsInWindow { get; internal set; }
    public long PeerSightings { get; internal set; }
    public long PeerSightingsInWindow { get; internal set; }

    public long DistinctIps { get; internal set; }
    public long DistinctSenderIps { get; internal set; }
    public long DistinctIpv6Slash64 { get; internal set; }
    public long DistinctPeerIps { get; internal set; }
    public long DistinctIpsAllTime { get; internal set; }
    /// <summary>Node-sighting IPs plus senders of error messages (what `report asn` counts, docs/analysis.md).</summary>
    public long ReportIps { get; internal set; }
    /// <summary>Senders of queries, responses and errors.</summary>
    public long ReportDirectIps { get; internal set; }
    /// <summary>Distinct window node-sighting IPs that no range holds.</summary>
    public long UnmatchedIps { get; internal set; }

    /// <summary>Key "y:method" (responses and errors carry the method of the query they answer).</summary>
    public SortedDictionary<string, long> Messages { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, long> MessagesInWindow { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<string, long> MalformedByKind { get; } = new(StringComparer.Ordinal);
    public SortedDictionary<long, long> ErrorCodes { get; } = new();

    /// <summary>Sorted by ReportIps descending, then code; empty without country ranges.</summary>
    public List<CountryTruth> Countries { get; } = [];

    /// <summary>Distinct window report IPs (sightings + message senders) that no country range holds.</summary>
    public long NoCountryIps { get; internal set; }

    /// <summary>Sorted by Ips descending, then AS number.</summary>
    public List<AsnTruth> Asns { get; } = [];

    public static string FormatTime(long us) =>
        DateTimeOffset.FromUnixTimeMilliseconds(us / 1000).AddTicks(us % 1000 * 10)
            .ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public void WriteJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        w.WriteStartObject();
        w.WriteString("generator", "pcapdht synth");
        w.WriteNumber("seed", Seed);
        w.WriteString("format", Format);
        w.WriteString("asn_ranges", RangesLabel);
        if (CountriesLabel.Length > 0) w.WriteString("country_ranges", CountriesLabel);
        w.WriteNumber("days", Days);

        w.WriteStartObject("packets");
        w.WriteNumber("frames", Frames);
        w.WriteNumber("ipv4_frames", Ipv4Frames);
        w.WriteNumber("ipv6_frames", Ipv6Frames);
        w.WriteNumber("fragment_frames", FragmentFrames);
        w.WriteNumber("fragmented_datagrams", FragmentedDatagrams);
        w.WriteNumber("udp_datagrams", UdpDatagrams);
        w.WriteNumber("krpc_messages", KrpcMessages);
        w.WriteNumber("malformed_krpc", Malformed);
        w.WriteNumber("utp", Utp);
        w.WriteNumber("dns", Dns);
        w.WriteNumber("random_udp", RandomUdp);
        w.WriteString("first_ts", FormatTime(FirstTimestampUs));
        w.WriteString("last_ts", FormatTime(LastTimestampUs));
        w.WriteStartObject("malformed_by_kind");
        foreach (var (k, v) in MalformedByKind) w.WriteNumber(k, v);
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject("messages");
        foreach (var (k, v) in Messages) w.WriteNumber(k, v);
        w.WriteEndObject();
        w.WriteStartObject("error_codes");
        foreach (var (k, v) in ErrorCodes) w.WriteNumber(k.ToString(System.Globalization.CultureInfo.InvariantCulture), v);
        w.WriteEndObject();

        w.WriteStartObject("window");
        w.WriteNumber("days", WindowDays);
        w.WriteString("start", FormatTime(WindowStartUs));
        w.WriteString("end", FormatTime(WindowEndUs));
        w.WriteNumber("start_ns", WindowStartUs * 1000);
        w.WriteNumber("end_ns", WindowEndUs * 1000);
        w.WriteNumber("krpc_messages", KrpcMessagesInWindow);
        w.WriteNumber("malformed_krpc", MalformedInWindow);
        w.WriteNumber("node_sightings", NodeSightingsInWindow);
        w.WriteNumber("sender_sightings", SenderSightingsInWindow);
        w.WriteNumber("peer_sightings", PeerSightingsInWindow);
        w.WriteNumber("distinct_ips", DistinctIps);
        w.WriteNumber("distinct_sender_ips", DistinctSenderIps);
        w.WriteNumber("distinct_ipv6_64", DistinctIpv6Slash64);
        w.WriteNumber("distinct_peer_ips", DistinctPeerIps);
        w.WriteNumber("unmatched_ips", UnmatchedIps);
        w.WriteNumber("report_ips", ReportIps);
        w.WriteNumber("report_direct_ips", ReportDirectIps);
        w.WriteStartObject("messages");
        foreach (var (k, v) in MessagesInWindow) w.WriteNumber(k, v);
        w.WriteEndObject();
        w.WriteStartArray("asn");
        foreach (var a in Asns)
        {
            if (a.Ips == 0 && a.ReportIps == 0) continue;
            w.WriteStartObject();
            w.WriteNumber("asn", a.Asn);
            w.WriteString("as_org", a.Org);
            w.WriteNumber("ips", a.Ips);
            w.WriteNumber("sender_ips", a.SenderIps);
            w.WriteNumber("ipv4", a.Ipv4);
            w.WriteNumber("ipv6", a.Ipv6);
            w.WriteNumber("ipv6_64", a.Ipv6Slash64);
            w.WriteNumber("peer_ips", a.PeerIps);
            w.WriteNumber("report_ips", a.ReportIps);
            w.WriteNumber("report_direct_ips", a.ReportDirectIps);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        if (Countries.Count > 0)
        {
            w.WriteNumber("no_country_report_ips", NoCountryIps);
            w.WriteStartArray("country");
            foreach (var c in Countries)
            {
                w.WriteStartObject();
                w.WriteString("country", c.Country);
                w.WriteNumber("ips", c.Ips);
                w.WriteNumber("sender_ips", c.SenderIps);
                w.WriteNumber("report_ips", c.ReportIps);
                w.WriteNumber("report_direct_ips", c.ReportDirectIps);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();

        w.WriteStartObject("all_time");
        w.WriteNumber("node_sightings", NodeSightings);
        w.WriteNumber("sender_sightings", SenderSightings);
        w.WriteNumber("peer_sightings", PeerSightings);
        w.WriteNumber("distinct_ips", DistinctIpsAllTime);
        w.WriteStartArray("asn");
        foreach (var a in Asns)
        {
            if (a.IpsAllTime == 0) continue;
            w.WriteStartObject();
            w.WriteNumber("asn", a.Asn);
            w.WriteNumber("ips", a.IpsAllTime);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteEndObject();
        w.Flush();
        stream.WriteByte((byte)'\n');
    }
}
