using System.Buffers.Binary;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Synth.Population;

/// <summary>
/// Counts the population scenario's ground truth from what is written, with the definitions the
/// reports implement (docs/analysis.md): every address a message comes from or a `nodes` list names,
/// per UTC day; node ids per address and per endpoint; (address, id) pairs of senders for BEP 42.
/// </summary>
internal sealed class TruthRecorder(PopulationTruth truth, AsnRangeTable table, bool enabled)
{
    private readonly record struct Id(UInt128 Hi, uint Lo)
    {
        public static Id Of(ReadOnlySpan<byte> id) => new(BinaryPrimitives.ReadUInt128BigEndian(id), BinaryPrimitives.ReadUInt32BigEndian(id[16..]));
        public ulong Prefix40 => (ulong)(Hi >> 88);
    }

    private readonly SortedDictionary<long, HashSet<uint>> _days = [];
    private readonly Dictionary<uint, HashSet<Id>> _idsPerIp = [];
    private readonly Dictionary<(uint Ip, ushort Port), HashSet<Id>> _idsPerEndpoint = [];
    private readonly Dictionary<Id, HashSet<uint>> _ipsPerId = [];
    private readonly Dictionary<(uint Ip, Id Id), ClientKind?> _senders = [];
    private readonly HashSet<Id> _targets = [];

    public void Message(long ts, WireNode from, bool sender)
    {
        if (!enabled) return;
        Day(ts).Add(from.Ip.V4);
        if (!sender) return;
        Sighting(from);
        _senders[(from.Ip.V4, Id.Of(from.Id))] = from.Client;
    }

    public void Contact(long ts, WireNode node)
    {
        if (!enabled) return;
        Day(ts).Add(node.Ip.V4);
        Sighting(node);
    }

    public void Target(ReadOnlySpan<byte> target)
    {
        if (enabled) _targets.Add(Id.Of(target));
    }

    private HashSet<uint> Day(long ts)
    {
        long day = Math.DivRem(ts, 86_400_000_000L, out long rem) - (rem < 0 ? 1 : 0);
        if (!_days.TryGetValue(day, out var set)) _days[day] = set = [];
        return set;
    }

    private void Sighting(WireNode n)
    {
        var id = Id.Of(n.Id);
        Add(_idsPerIp, n.Ip.V4, id);
        Add(_idsPerEndpoint, (n.Ip.V4, n.Port), id);
        Add(_ipsPerId, id, n.Ip.V4);
    }

    private static void Add<TKey, TValue>(Dictionary<TKey, HashSet<TValue>> map, TKey key, TValue value) where TKey : notnull
    {
        if (!map.TryGetValue(key, out var set)) map[key] = set = [];
        set.Add(value);
    }

    private static string Text(uint ip) => IpAddr.FromV4(ip).ToString();

    public void Finish()
    {
        if (!enabled) return;
        // Churn: new = never seen on an earlier day, gone = never seen on a later one (unknown on the last day).
        var before = new HashSet<uint>();
        var dayList = _days.ToList();
        var lastSeen = new Dictionary<uint, long>();
        foreach (var (day, set) in dayList) foreach (var ip in set) lastSeen[ip] = day;
        for (int i = 0; i < dayList.Count; i++)
        {
            var (day, set) = dayList[i];
            long fresh = set.Count(ip => !before.Contains(ip));
            long? gone = i == dayList.Count - 1 ? null : set.Count(ip => lastSeen[ip] == day);
            truth.Daily.Add(new DayTruth(DateTimeOffset.UnixEpoch.AddTicks(day * TimeSpan.TicksPerDay), set.Count, fresh, set.Count - fresh, gone));
            before.UnionWith(set);
        }

        var flagged = new HashSet<uint>();
        foreach (var (ip, ids) in _idsPerIp)
            if (ids.Count > 8) { truth.AddressesOverEightIds[Text(ip)] = ids.Count; flagged.Add(ip); }
        foreach (var ((ip, port), ids) in _idsPerEndpoint)
            if (ids.Count > 1) { truth.EndpointsWithIdChange[$"{Text(ip)}:{port}"] = ids.Count; flagged.Add(ip); }

        // Id clusters: 3+ distinct ids with the same first 40 bits, or 2+ sharing them with a queried target.
        var byPrefix = _ipsPerId.Keys.GroupBy(id => id.Prefix40).ToDictionary(g => g.Key, g => g.ToList());
        var clustered = new HashSet<Id>();
        foreach (var (_, ids) in byPrefix) if (ids.Count >= 3) clustered.UnionWith(ids);
        foreach (var t in _targets)
            if (byPrefix.TryGetValue(t.Prefix40, out var ids) && ids.Count >= 2) clustered.UnionWith(ids);
        foreach (var id in clustered)
            foreach (var ip in _ipsPerId[id]) { truth.ClusterAddresses.Add(Text(ip)); flagged.Add(ip); }

        // BEP 42 over distinct (sender address, id) pairs; an address with 2+ invalid ids is flagged.
        long ok = 0, bad = 0, exempt = 0;
        var byClient = new Dictionary<string, long[]>(StringComparer.Ordinal);
        var invalid = new Dictionary<uint, int>();
        Span<byte> id20 = stackalloc byte[20];
        foreach (var ((ip, id), client) in _senders)
        {
            var address = IpAddr.FromV4(ip);
            BinaryPrimitives.WriteUInt128BigEndian(id20, id.Hi);
            BinaryPrimitives.WriteUInt32BigEndian(id20[16..], id.Lo);
            int status = Bep42.IsExempt(address) ? 2 : Bep42.IsValidNodeId(address, id20) ? 0 : 1;
            if (status == 0) ok++; else if (status == 1) bad++; else exempt++;
            if (status == 1) invalid[ip] = invalid.GetValueOrDefault(ip) + 1;
            string code = client switch { ClientKind.LibTorrent => "LT", ClientKind.MuTorrent => "UT", ClientKind.Transmission => "TR", _ => "" };
            if (!byClient.TryGetValue(code, out var c)) byClient[code] = c = new long[3];
            c[status]++;
        }
        truth.Bep42 = new Bep42Truth(ok, bad, exempt);
        foreach (var (code, c) in byClient) truth.Bep42ByClient[code] = new Bep42Truth(c[0], c[1], c[2]);
        foreach (var (ip, n) in invalid)
            if (n >= 2) { truth.Bep42InvalidAddresses.Add(Text(ip)); flagged.Add(ip); }

        foreach (var ip in flagged)
        {
            int r = table.IndexOf(IpAddr.FromV4(ip));
            if (r < 0) continue;
            uint asn = table.Ranges[r].Asn;
            truth.FlaggedPerAsn[asn] = truth.FlaggedPerAsn.GetValueOrDefault(asn) + 1;
        }
    }
}
