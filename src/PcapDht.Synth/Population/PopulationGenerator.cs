using System.Buffers.Binary;
using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Synth.Population;

/// <summary>
/// Writes the population scenario (docs/synth.md): the lookups one observer runs in a DHT of exactly
/// N random ids, as KRPC over IPv4, plus planted visitors, Sybil addresses, id changers and id clusters,
/// and returns the ground truth counted while writing. Only the traffic the observer sees is written
/// (a few dozen messages per lookup), never N nodes' worth of packets.
/// </summary>
public static class PopulationGenerator
{
    public static PopulationTruth Generate(PopulationOptions options, AsnRangeTable ranges, Stream output)
    {
        options.Validate();
        return new PopulationScenario(options, ranges, output).Run();
    }
}

/// <summary>A DHT node as it appears on the wire.</summary>
internal readonly record struct WireNode(IpAddr Ip, ushort Port, byte[] Id, ClientKind? Client);

internal sealed class PopulationScenario
{
    private const long DayUs = 86_400_000_000L;
    private const int FindNode = 0, GetPeers = 1, Ping = 2;
    private static readonly byte[][] MethodKeys = ["9:find_node"u8.ToArray(), "9:get_peers"u8.ToArray(), "4:ping"u8.ToArray()];
    private static readonly string[] MethodNames = ["find_node", "get_peers", "ping"];

    private readonly PopulationOptions _o;
    private readonly AsnRangeTable _table;
    private readonly SynthRandom _rng;
    private readonly IdPopulation _pop;
    private readonly LookupSimulator _sim;
    private readonly SynthCaptureWriter _writer;
    private readonly FrameBuilder _frames;
    private readonly PopulationTruth _truth;
    private readonly TruthRecorder _record;
    private readonly long _startUs, _endUs;

    // IPv4 address space of the ranges, enumerated: address k is in the range whose prefix sum covers k.
    private readonly AsnRange[] _v4;
    private readonly ulong[] _v4Ends;
    private readonly ulong _v4Total;
    private readonly ulong _stride;
    private readonly HashSet<uint> _specialAddresses = [];

    private readonly WireNode _observer;
    private readonly PriorityQueue<Datagram, (long Ts, long Seq)> _queue = new();
    private long _seq;
    private ushort _tid;
    private readonly byte[] _buf = new byte[2048];

    private sealed record Datagram(long Ts, IpAddr Src, ushort SrcPort, IpAddr Dst, ushort DstPort, byte[] Payload);

    public PopulationScenario(PopulationOptions options, AsnRangeTable table, Stream output)
    {
        _o = options;
        _table = table;
        _rng = new SynthRandom(options.Seed);
        _pop = new IdPopulation(options.Population, options.Seed);
        _sim = new LookupSimulator(_pop, options.Seed ^ 0x5EA4C4) { Timeout = options.Timeout };
        _endUs = options.End.ToUnixTimeMilliseconds() * 1000;
        _startUs = _endUs - options.Days * DayUs;
        _writer = new SynthCaptureWriter(output, options.Format);
        _frames = new FrameBuilder(_writer);
        _truth = new PopulationTruth { Seed = options.Seed, Population = options.Population, RangesLabel = options.RangesLabel, Days = options.Days };
        _record = new TruthRecorder(_truth, _table, options.DetailedTruth);

        _v4 = table.Ranges.Where(r => r.IsV4).ToArray();
        if (_v4.Length == 0) throw new ArgumentException("the population scenario needs IPv4 ranges");
        _v4Ends = new ulong[_v4.Length];
        ulong sum = 0;
        for (int i = 0; i < _v4.Length; i++) _v4Ends[i] = sum += (ulong)_v4[i].Size;
        _v4Total = sum;
        // Population nodes take ports below 40000 (1024 + index / addresses), planted nodes ports above: no
        // endpoint is ever shared by accident. The stride scatters consecutive ids over the ranges.
        if ((ulong)options.Population / _v4Total > 38_000) throw new ArgumentException("the IPv4 ranges are too small for this population");
        _stride = 2_654_435_761UL % _v4Total;
        while (_stride == 0 || Gcd(_stride, _v4Total) != 1) _stride++;

        var observerId = new byte[20];
        var observerIp = FreshSpecialAddress();
        _rng.Fill(observerId);
        NodePopulation.ApplyBep42(observerIp, (byte)_rng.Next(256), observerId); // libtorrent conforms to BEP 42
        _observer = new WireNode(observerIp, (ushort)_rng.Between(40_000, 60_000), observerId, ClientKind.LibTorrent);
    }

    public PopulationTruth Run()
    {
        var events = new List<(long Ts, int Kind, int Index)>();
        var lookupTargets = new byte[_o.Lookups * 20];
        _rng.Fill(lookupTargets);
        long span = _endUs - _startUs;
        for (int j = 0; j < _o.Lookups; j++)
            events.Add((_startUs + (long)((j + 0.5) * span / _o.Lookups), 0, j));
        var specials = PlanSpecials(events);
        events.Sort();

        foreach (var (ts, kind, index) in events)
        {
            Flush(ts);
            if (kind == 0) Lookup(ts, lookupTargets.AsSpan(index * 20, 20), index);
            else Visit(ts, specials[index]);
        }
        Flush(long.MaxValue);
        _writer.Dispose();
        _record.Finish();
        return _truth;
    }

    // ------------------------------------------------------------------ lookups

    private void Lookup(long t0, ReadOnlySpan<byte> target, int index)
    {
        ulong targetPrefix = BinaryPrimitives.ReadUInt64BigEndian(target);
        var run = _sim.Run(BinaryPrimitives.ReadUInt64BigEndian(_observer.Id), targetPrefix);
        int method = (index & 1) == 0 ? FindNode : GetPeers;
        bool stop = run.Rounds.Count > 1 && _rng.Chance(_o.EarlyStopShare);
        int rounds = stop ? _rng.Between(1, run.Rounds.Count - 1) : run.Rounds.Count;
        _truth.Lookups.Add(new LookupTruth(targetPrefix, MethodNames[method], !stop, !stop && run.Converged, run.Rounds.Count, rounds, t0));
        _record.Target(target);
        long t = t0;
        for (int r = 0; r < rounds; r++)
        {
            long roundEnd = t;
            foreach (var q in run.Rounds[r])
            {
                var node = Node(q.Node);
                long sent = t + _rng.Between(0, 3_000);
                ushort tid = _tid++;
                Query(sent, _observer, node, method, target, tid);
                if (!q.Answered) continue;
                long answered = sent + _rng.Between(20_000, 250_000);
                var contacts = new WireNode[q.Contacts.Length];
                for (int i = 0; i < contacts.Length; i++) contacts[i] = Node(q.Contacts[i]);
                Response(answered, node, _observer, method, tid, contacts);
                roundEnd = Math.Max(roundEnd, answered);
            }
            // The next round goes out when this one's answers are in (timed-out queries are not waited for).
            t = roundEnd + _rng.Between(1_000, 5_000);
        }
    }

    /// <summary>Population node <paramref name="index"/> on the wire: its address and port follow from the index, unique per node.</summary>
    private WireNode Node(int index)
    {
        ulong k = (ulong)index % _v4Total;
        var ip = V4Address(k * _stride % _v4Total);
        var port = (ushort)(1024 + (ulong)index / _v4Total);
        var id = new byte[20];
        _pop.WriteId(index, id);
        ulong c = _pop.Derived(index, 0xC11E47) % 100;
        var client = c < 55 ? ClientKind.LibTorrent : c < 72 ? ClientKind.MuTorrent : c < 87 ? ClientKind.Transmission : ClientKind.WebTorrent;
        return new WireNode(ip, port, id, client);
    }

    private IpAddr V4Address(ulong k)
    {
        int i = Array.BinarySearch(_v4Ends, k);
        i = i < 0 ? ~i : i + 1;
        ulong before = i == 0 ? 0 : _v4Ends[i - 1];
        return new IpAddr(_v4[i].Start.Value + (k - before));
    }

    // ------------------------------------------------------------------ planted nodes

    /// <summary>A node that sends pings (or get_peers) to the observer at planned times, with one id per visit.</summary>
    private sealed record Special(WireNode[] Identities, int Method, byte[]? InfoHash, long[] Times);

    private IpAddr FreshSpecialAddress()
    {
        for (int attempt = 0; ; attempt++)
        {
            var ip = V4Address(_rng.NextU64() % _v4Total);
            if (_specialAddresses.Add(ip.V4) || attempt > 1000) return ip;
        }
    }

    private ushort SpecialPort() => (ushort)_rng.Between(40_000, 65_535);

    private byte[] RandomId()
    {
        var id = new byte[20];
        _rng.Fill(id);
        return id;
    }

    private static ClientKind? PickClient(double u) =>
        u < 0.55 ? ClientKind.LibTorrent : u < 0.72 ? ClientKind.MuTorrent : u < 0.87 ? ClientKind.Transmission : ClientKind.WebTorrent;

    private List<Special> PlanSpecials(List<(long, int, int)> events)
    {
        var list = new List<Special>();
        int days = _o.Days;
        // Visitors: active from a first to a last day, visiting on 70 % of the days between (always on both ends).
        for (int i = 0; i < _o.Visitors; i++)
        {
            var ip = FreshSpecialAddress();
            var client = PickClient(_rng.NextDouble());
            var id = RandomId();
            // libtorrent and µTorrent conform to BEP 42; of the others, some do.
            if (client is ClientKind.LibTorrent or ClientKind.MuTorrent ? _rng.Chance(0.9) : _rng.Chance(0.3))
                NodePopulation.ApplyBep42(ip, (byte)_rng.Next(256), id);
            var node = new WireNode(ip, SpecialPort(), id, client);
            int first = _rng.Next(days), last = _rng.Between(first, days - 1);
            var times = new List<long>();
            for (int d = first; d <= last; d++)
                if (d == first || d == last || _rng.Chance(0.7)) times.Add(DayTime(d));
            list.Add(new Special([node], Ping, null, [.. times]));
        }
        // Sybil addresses: 9 to 30 ids from one address; half of them keep one port for all.
        for (int i = 0; i < _o.SybilAddresses; i++)
        {
            var ip = FreshSpecialAddress();
            bool onePort = (i & 1) == 0;
            ushort port = SpecialPort();
            var ids = new WireNode[_rng.Between(9, 30)];
            for (int j = 0; j < ids.Length; j++)
                ids[j] = new WireNode(ip, onePort ? port : (ushort)(40_000 + (port + 97 * j) % 25_000), RandomId(), ClientKind.LibTorrent);
            list.Add(new Special(ids, Ping, null, Spread(ids.Length)));
        }
        // Id changers: one endpoint, 2 or 3 ids one after the other (a client that restarts with a new id).
        for (int i = 0; i < _o.IdChangers; i++)
        {
            var ip = FreshSpecialAddress();
            ushort port = SpecialPort();
            var ids = new WireNode[_rng.Between(2, 3)];
            var client = PickClient(_rng.NextDouble());
            for (int j = 0; j < ids.Length; j++) ids[j] = new WireNode(ip, port, RandomId(), client);
            list.Add(new Special(ids, Ping, null, Spread(ids.Length)));
        }
        // Prefix clusters: ids sharing their first 48 bits with one info-hash (index poisoning), one address each.
        for (int i = 0; i < _o.PrefixClusters; i++)
        {
            var infoHash = RandomId();
            int members = _rng.Between(3, 5);
            for (int j = 0; j < members; j++)
            {
                var id = RandomId();
                infoHash.AsSpan(0, 6).CopyTo(id);
                var node = new WireNode(FreshSpecialAddress(), SpecialPort(), id, ClientKind.LibTorrent);
                list.Add(new Special([node], GetPeers, infoHash, Spread(2)));
            }
        }
        for (int i = 0; i < list.Count; i++)
            foreach (long t in list[i].Times) events.Add((t, 1, i));
        return list;
    }

    /// <summary>A random time on day <paramref name="day"/> of the capture, clear of its edges.</summary>
    private long DayTime(int day) => _startUs + day * DayUs + 60_000_000 + _rng.NextLong(DayUs - 120_000_000);

    private long[] Spread(int visits)
    {
        var t = new long[visits];
        for (int i = 0; i < visits; i++) t[i] = _startUs + 60_000_000 + _rng.NextLong(_endUs - _startUs - 120_000_000);
        Array.Sort(t);
        return t;
    }

    /// <summary>One planned visit: the next identity (in order) sends its query, the observer answers.</summary>
    private void Visit(long ts, Special s)
    {
        int visit = Math.Max(0, Array.IndexOf(s.Times, ts));
        var node = s.Identities[Math.Min(visit, s.Identities.Length - 1)];
        ushort tid = (ushort)_rng.Next(65_536);
        Query(ts, node, _observer, s.Method, s.InfoHash, tid);
        var contacts = Array.Empty<WireNode>();
        if (s.Method == GetPeers)
        {
            // The observer answers with the nodes closest to the info-hash that it knows.
            Span<int> closest = stackalloc int[IdPopulation.BucketSize];
            int n = _pop.Answer(BinaryPrimitives.ReadUInt64BigEndian(_observer.Id), BinaryPrimitives.ReadUInt64BigEndian(s.InfoHash), closest);
            contacts = new WireNode[n];
            for (int i = 0; i < n; i++) contacts[i] = Node(closest[i]);
            _record.Target(s.InfoHash);
        }
        Response(ts + _rng.Between(80, 900), _observer, node, s.Method, tid, contacts);
    }

    // ------------------------------------------------------------------ messages

    private void Query(long ts, WireNode from, WireNode to, int method, ReadOnlySpan<byte> target, ushort tid)
    {
        var w = new BencodeWriter(_buf);
        w.Dict();
        w.Raw("1:ad2:id"u8);
        w.Bytes(from.Id);
        if (method == GetPeers) { w.Raw("9:info_hash"u8); w.Bytes(target); }
        else if (method == FindNode) { w.Raw("6:target"u8); w.Bytes(target); }
        w.End();
        w.Raw("1:q"u8);
        w.Raw(MethodKeys[method]);
        WriteTid(ref w, tid);
        WriteVersion(ref w, from.Client);
        w.Raw("1:y1:qe"u8);
        Enqueue(ts, from, to, w.Written);
        _record.Message(ts, from, sender: true);
    }

    private void Response(long ts, WireNode from, WireNode to, int method, ushort tid, WireNode[] contacts)
    {
        var w = new BencodeWriter(_buf);
        w.Dict();
        w.Raw("1:rd2:id"u8);
        w.Bytes(from.Id);
        if (method != Ping)
        {
            w.Raw("5:nodes"u8);
            var list = w.BytesInPlace(contacts.Length * 26);
            for (int i = 0; i < contacts.Length; i++)
            {
                var c = contacts[i];
                c.Id.CopyTo(list[(i * 26)..]);
                BinaryPrimitives.WriteUInt32BigEndian(list[(i * 26 + 20)..], c.Ip.V4);
                BinaryPrimitives.WriteUInt16BigEndian(list[(i * 26 + 24)..], c.Port);
                _record.Contact(ts, c);
            }
        }
        if (method == GetPeers)
        {
            w.Raw("5:token"u8);
            _rng.Fill(w.BytesInPlace(8));
        }
        w.End();
        WriteTid(ref w, tid);
        WriteVersion(ref w, from.Client);
        w.Raw("1:y1:re"u8);
        Enqueue(ts, from, to, w.Written);
        _record.Message(ts, from, sender: true);
    }

    private static void WriteTid(ref BencodeWriter w, ushort tid)
    {
        w.Raw("1:t"u8);
        BinaryPrimitives.WriteUInt16BigEndian(w.BytesInPlace(2), tid);
    }

    private static void WriteVersion(ref BencodeWriter w, ClientKind? client)
    {
        if (client is null or ClientKind.WebTorrent) return;
        w.Raw("1:v4:"u8);
        // Byte arrays, not u8 string literals: "\xb5" in a u8 literal is UTF-8 encoded into two bytes.
        w.Raw(client switch { ClientKind.LibTorrent => [(byte)'L', (byte)'T', 2, 0], ClientKind.MuTorrent => [(byte)'U', (byte)'T', 0xb5, 0x44], _ => [(byte)'T', (byte)'R', 0x30, 0] });
    }

    private void Enqueue(long ts, WireNode from, WireNode to, ReadOnlySpan<byte> payload)
    {
        _queue.Enqueue(new Datagram(ts, from.Ip, from.Port, to.Ip, to.Port, payload.ToArray()), (ts, _seq++));
        _truth.KrpcMessages++;
        _truth.FirstUs = Math.Min(_truth.FirstUs, ts);
        _truth.LastUs = Math.Max(_truth.LastUs, ts);
    }

    private void Flush(long upTo)
    {
        while (_queue.TryPeek(out var d, out var prio) && prio.Ts < upTo)
        {
            _queue.Dequeue();
            bool outbound = d.Src == _observer.Ip;
            _truth.Frames += _frames.Write(d.Ts, outbound, d.Src, d.SrcPort, d.Dst, d.DstPort, d.Payload,
                (uint)_rng.Between(1, 65_535), outbound ? (byte)64 : (byte)_rng.Between(40, 120));
        }
    }

    private static ulong Gcd(ulong a, ulong b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }
}
