namespace PcapDht.Analysis;

/// <summary>
/// The relations the population reports (size, ip, sybil, bep42, daily) read, by name. Each report keeps
/// its SQL in one method that takes these names, so the same report runs over the store's views (the
/// default) or over other relations with the same columns (daily rollups, a Parquet lake).
/// </summary>
public sealed record PopulationRelations
{
    /// <summary>Lookup queries with their matched answers (docs/schema.md, lookup_queries).</summary>
    public string LookupQueries { get; init; } = "lookup_queries";

    /// <summary>Entries of nodes/nodes6 lists with the id's first 8 bytes (reply_contacts).</summary>
    public string ReplyContacts { get; init; } = "reply_contacts";

    public string Messages { get; init; } = "messages";

    public string NodeSightings { get; init; } = "node_sightings";

    /// <summary>One row per address (ip_profiles).</summary>
    public string IpProfiles { get; init; } = "ip_profiles";

    /// <summary>
    /// Node sightings reduced to (ts, ip_num, direct, id_key); null picks the store's join-free
    /// pcapdht_store.node_ips, or the same columns projected from <see cref="NodeSightings"/>.
    /// </summary>
    public string? NodeIds { get; init; }

    public static PopulationRelations Store { get; } = new();
}
