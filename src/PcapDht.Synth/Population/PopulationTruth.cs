using System.Globalization;
using System.Text.Json;

namespace PcapDht.Synth.Population;

/// <summary>
/// One lookup the observer ran: complete, or cut after <see cref="RoundsWritten"/> of its <see cref="Rounds"/> rounds.
/// <see cref="Converged"/>: complete and ended with 8 closest live nodes that all answered (a complete lookup can
/// run out of candidates first); exactly the lookups <c>report size</c> must use.
/// </summary>
public sealed record LookupTruth(ulong TargetPrefix, string Method, bool Complete, bool Converged, int Rounds, int RoundsWritten, long StartUs);

/// <summary>One UTC day of the churn ground truth; <see cref="Gone"/> is null on the last day (nothing comes after it).</summary>
public sealed record DayTruth(DateTimeOffset Day, long Ips, long New, long Returning, long? Gone);

/// <summary>BEP 42 status of distinct (sender address, node id) pairs.</summary>
public sealed record Bep42Truth(long Compliant, long NonCompliant, long Exempt);

/// <summary>
/// What the population scenario wrote, counted while writing it with the definitions of docs/analysis.md
/// (the reports must reproduce these numbers from the capture alone).
/// </summary>
public sealed class PopulationTruth
{
    public ulong Seed { get; init; }
    public int Population { get; init; }
    public string RangesLabel { get; init; } = "";
    public int Days { get; init; }

    public long Frames { get; internal set; }
    public long KrpcMessages { get; internal set; }
    public long FirstUs { get; internal set; } = long.MaxValue;
    public long LastUs { get; internal set; }

    public List<LookupTruth> Lookups { get; } = [];
    public long LookupsComplete => Lookups.Count(l => l.Complete);
    public long LookupsStopped => Lookups.Count(l => !l.Complete);
    public long LookupsConverged => Lookups.Count(l => l.Converged);

    /// <summary>Addresses with more than 8 distinct node ids in node sightings (sender or nodes lists), with their id count.</summary>
    public SortedDictionary<string, long> AddressesOverEightIds { get; } = new(StringComparer.Ordinal);

    /// <summary>Endpoints ("address:port") seen with more than one node id, with their id count.</summary>
    public SortedDictionary<string, long> EndpointsWithIdChange { get; } = new(StringComparer.Ordinal);

    /// <summary>Addresses whose id shares its first 40 bits with 2 other ids, or with another id and a queried info-hash.</summary>
    public SortedSet<string> ClusterAddresses { get; } = new(StringComparer.Ordinal);

    /// <summary>Addresses that sent two or more distinct ids that are not BEP 42-valid for them.</summary>
    public SortedSet<string> Bep42InvalidAddresses { get; } = new(StringComparer.Ordinal);

    /// <summary>Flagged addresses (any reason above) per AS number.</summary>
    public SortedDictionary<uint, long> FlaggedPerAsn { get; } = [];

    public Bep42Truth Bep42 { get; internal set; } = new(0, 0, 0);

    /// <summary>Per client code ("LT", "UT", "TR", "" for no `v`).</summary>
    public SortedDictionary<string, Bep42Truth> Bep42ByClient { get; } = new(StringComparer.Ordinal);

    public List<DayTruth> Daily { get; } = [];

    public static string FormatTime(long us) => SynthTruth.FormatTime(us);

    public void WriteJson(Stream stream)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("generator", "pcapdht synth --population");
        w.WriteNumber("seed", Seed);
        w.WriteNumber("population", Population);
        w.WriteString("asn_ranges", RangesLabel);
        w.WriteNumber("days", Days);
        w.WriteNumber("frames", Frames);
        w.WriteNumber("krpc_messages", KrpcMessages);
        w.WriteString("first_ts", FormatTime(FirstUs));
        w.WriteString("last_ts", FormatTime(LastUs));
        w.WriteStartObject("lookups");
        w.WriteNumber("total", Lookups.Count);
        w.WriteNumber("complete", LookupsComplete);
        w.WriteNumber("stopped_early", LookupsStopped);
        w.WriteNumber("converged", LookupsConverged);
        w.WriteStartArray("each");
        foreach (var l in Lookups)
        {
            w.WriteStartObject();
            w.WriteString("target_prefix", l.TargetPrefix.ToString("x16", CultureInfo.InvariantCulture));
            w.WriteString("method", l.Method);
            w.WriteBoolean("complete", l.Complete);
            w.WriteBoolean("converged", l.Converged);
            w.WriteNumber("rounds", l.Rounds);
            w.WriteNumber("rounds_written", l.RoundsWritten);
            w.WriteString("start", FormatTime(l.StartUs));
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();

        w.WriteStartObject("sybil");
        w.WriteStartObject("addresses_over_8_ids");
        foreach (var (k, v) in AddressesOverEightIds) w.WriteNumber(k, v);
        w.WriteEndObject();
        w.WriteStartObject("endpoints_with_id_change");
        foreach (var (k, v) in EndpointsWithIdChange) w.WriteNumber(k, v);
        w.WriteEndObject();
        WriteSet(w, "prefix_cluster_addresses", ClusterAddresses);
        WriteSet(w, "bep42_invalid_addresses", Bep42InvalidAddresses);
        w.WriteStartObject("flagged_per_asn");
        foreach (var (k, v) in FlaggedPerAsn) w.WriteNumber(k.ToString(CultureInfo.InvariantCulture), v);
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartObject("bep42");
        WriteBep42(w, Bep42);
        w.WriteStartObject("by_client");
        foreach (var (k, v) in Bep42ByClient)
        {
            w.WriteStartObject(k.Length == 0 ? "(no v)" : k);
            WriteBep42(w, v);
            w.WriteEndObject();
        }
        w.WriteEndObject();
        w.WriteEndObject();

        w.WriteStartArray("daily");
        foreach (var d in Daily)
        {
            w.WriteStartObject();
            w.WriteString("day", d.Day.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            w.WriteNumber("ips", d.Ips);
            w.WriteNumber("new", d.New);
            w.WriteNumber("returning", d.Returning);
            if (d.Gone is { } g) w.WriteNumber("gone", g); else w.WriteNull("gone");
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteSet(Utf8JsonWriter w, string name, IEnumerable<string> items)
    {
        w.WriteStartArray(name);
        foreach (var s in items) w.WriteStringValue(s);
        w.WriteEndArray();
    }

    private static void WriteBep42(Utf8JsonWriter w, Bep42Truth b)
    {
        w.WriteNumber("compliant", b.Compliant);
        w.WriteNumber("non_compliant", b.NonCompliant);
        w.WriteNumber("exempt", b.Exempt);
    }
}
