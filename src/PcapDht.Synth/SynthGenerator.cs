using System.Buffers.Binary;
using PcapDht.Net;

namespace PcapDht.Synth;

/// <summary>
/// Generates a deterministic capture of KRPC traffic seen from one DHT node (the vantage point) plus
/// noise, and counts the ground truth while writing. See docs/synth.md.
/// </summary>
public static class SynthGenerator
{
    /// <summary>Writes the capture to <paramref name="output"/> (not closed) and returns its ground truth.</summary>
    public static SynthTruth Generate(SynthOptions options, AsnRangeTable ranges, Stream output)
    {
        options.Validate();
        return new Generator(options, ranges, output).Run();
    }
}

internal sealed class Generator
{
    // Query methods, in the order of the names below.
    private const int Ping = 0, FindNode = 1, GetPeers = 2, Announce = 3, Sample = 4, Get = 5, Put = 6, Vote = 7;
    internal static readonly string[] MethodNames =
        ["ping", "find_node", "get_peers", "announce_peer", "sample_infohashes", "get", "put", "vote"];
    private static readonly byte[][] MethodKeys =
        ["4:ping"u8.ToArray(), "9:find_node"u8.ToArray(), "9:get_peers"u8.ToArray(), "13:announce_peer"u8.ToArray(),
         "17:sample_infohashes"u8.ToArray(), "3:get"u8.ToArray(), "3:put"u8.ToArray(), "4:vote"u8.ToArray()];
    private static readonly byte[][] TransmissionTags =
        ["pn"u8.ToArray(), "fn"u8.ToArray(), "gp"u8.ToArray(), "ap"u8.ToArray(), "sa"u8.ToArray(), "gt"u8.ToArray(),
         "pt"u8.ToArray(), "vt"u8.ToArray()];
    private static readonly string[] DnsNames =
        ["router.bittorrent.com", "dht.transmissionbt.com", "router.utorrent.com", "dht.libtorrent.org", "dht.aelitis.com"];

    // Sighting flags per node / peer.
    private const byte SeenAll = 1, SeenWin = 2, SentAll = 4, SentWin = 8, AnnAll = 16, AnnWin = 32, ErrWin = 64;
    private const int Y_Q = 0, Y_R = 1, Y_E = 2;
    private const long Day = 86_400_000_000L;
    private const int SlotBytes = 8192;

    private struct Pending
    {
        public long Ts;
        public IpAddr Src, Dst;
        public ushort SrcPort, DstPort;
        public bool Outbound;
        public byte Hop;
        public uint IpId;
        public int Len;
    }

    private readonly SynthOptions _o;
    private readonly AsnRangeTable _table;
    private readonly SynthRandom _rng;
    private readonly AddressSampler _sampler;
    private readonly NodePopulation _pop;
    private readonly SynthTruth _truth;
    private readonly SynthCaptureWriter _writer;
    private readonly FrameBuilder _frames;
    private readonly byte[] _infoHashes;
    private readonly int _infoHashCount;
    private readonly long[,] _msgAll = new long[3, MethodNames.Length];
    private readonly long[,] _msgWin = new long[3, MethodNames.Length];
    private readonly Dictionary<long, long> _errors = [];

    private Pending[] _slots = new Pending[64];
    private byte[][] _bufs = new byte[64][];
    private readonly Stack<int> _free = new();
    private readonly PriorityQueue<int, (long Ts, long Seq)> _queue = new();
    private long _seq;
    private int _slotCount;
    private readonly byte[] _tid = new byte[4];

    private readonly long _endUs, _startUs, _windowStartUs, _spanUs;
    private readonly bool _byMessages;
    private readonly long _target;
    private long _meanGapUs;
    private long _plannedFrames, _plannedMessages, _lastEventUs;
    private ushort _vantageTid;
    private readonly bool _hasV4, _hasV6;

    public Generator(SynthOptions options, AsnRangeTable table, Stream output)
    {
        _o = options;
        _table = table;
        _rng = new SynthRandom(options.Seed);
        _sampler = new AddressSampler(table, options.ZipfExponent);
        _hasV4 = _sampler.HasV4;
        _hasV6 = _sampler.HasV6;
        _byMessages = options.Messages.HasValue;
        _target = options.Messages ?? options.Packets;
        int regular = options.Nodes > 0 ? options.Nodes : (int)Math.Clamp(_target / 5, 300, 400_000);
        _pop = new NodePopulation(_rng, _sampler, regular, _hasV4 && _hasV6 ? options.Ipv6Share : 0);
        _infoHashCount = 200 + regular / 10;
        _infoHashes = new byte[_infoHashCount * 20];
        _rng.Fill(_infoHashes);

        _endUs = options.End.ToUnixTimeMilliseconds() * 1000;
        _spanUs = options.Days * Day;
        _startUs = _endUs - _spanUs;
        _windowStartUs = _endUs - options.WindowDays * Day;
        _writer = new SynthCaptureWriter(output, options.Format);
        _frames = new FrameBuilder(_writer);
        _truth = new SynthTruth
        {
            Seed = options.Seed,
            Format = options.Format == SynthFormat.Pcap ? "pcap" : "pcapng",
            RangesLabel = options.RangesLabel,
            CountriesLabel = options.CountriesLabel,
            Days = options.Days,
            WindowDays = options.WindowDays,
            WindowStartUs = _windowStartUs,
            WindowEndUs = _endUs,
            FirstTimestampUs = long.MaxValue,
        };
    }

    public SynthTruth Run()
    {
        // Two pings pin the inclusive window start: one 1 µs before it (outside), one exactly on it (inside).
        if (_windowStartUs - 1 > _startUs)
        {
            BoundaryPing(NodePopulation.BoundaryOutside, _windowStartUs - 1);
            BoundaryPing(NodePopulation.BoundaryInside, _windowStartUs);
        }

        const int MaxEventFrames = 12;
        double eventsExpected = _byMessages ? _target / 1.45 : _target / 1.75;
        _meanGapUs = (long)(_spanUs / Math.Max(1, eventsExpected));
        _lastEventUs = _startUs;
        while (Remaining() > MaxEventFrames + 2)
        {
            long t = NextEventTime();
            Flush(t);
            OneEvent(t);
        }
        // Fill up with single-frame, single-message events so the count comes out exact.
        bool toggle = false;
        while (Remaining() > 2)
        {
            long t = NextEventTime();
            Flush(t);
            toggle = !toggle;
            if (!_byMessages && toggle) Utp(t, forceSingle: true);
            else Exchange(t, PickTalker(PickV4()), Ping, inbound: true, forceNoReply: true);
        }
        Flush(long.MaxValue);

        // The newest message is a response exactly at End: window end = max(ts) of node_sightings.
        bool v4 = _hasV4;
        int peer = PickTalker(v4);
        long rtt = _rng.Between(100_000, 400_000);
        int vantage = v4 ? NodePopulation.VantageV4 : NodePopulation.VantageV6;
        var tid = NewTid(vantage, Ping, out int tidLen);
        Query(_endUs - rtt, vantage, peer, Ping, tid, tidLen, omitT: false);
        Response(_endUs, peer, vantage, Ping, tid, tidLen, values: 0);
        Flush(long.MaxValue);

        _writer.Dispose();
        Finish();
        return _truth;
    }

    private long Remaining() => _target - (_byMessages ? _plannedMessages : _plannedFrames);

    private long NextEventTime()
    {
        double progress = Math.Min(1.0, (double)(_byMessages ? _plannedMessages : _plannedFrames) / _target);
        long t = _startUs + (long)(_spanUs * progress) + _rng.NextLong(2 * _meanGapUs + 1) - _meanGapUs;
        t = Math.Max(t, _lastEventUs + 1);
        // Stay clear of the final pair at End (responses come at most 1.5 s after their query).
        t = Math.Min(t, _endUs - 2_000_000);
        t = Math.Max(t, _lastEventUs);
        _lastEventUs = t;
        return t;
    }

    private void OneEvent(long t)
    {
        double u = _rng.NextDouble();
        double m = _o.MalformedShare;
        if (u < m) Malformed(t);
        else if (u < m + 0.02) RandomUdp(t);
        else if (u < m + 0.04) Dns(t);
        else if (u < m + 0.12) Utp(t, forceSingle: false);
        else
        {
            bool inbound = u < m + 0.12 + 0.48;
            bool v4 = PickV4();
            int remote = PickTalker(v4);
            int method = inbound ? PickMethod(InboundMix) : PickMethod(OutboundMix);
            Exchange(t, remote, method, inbound, forceNoReply: false);
        }
    }

    // Cumulative weights: ping, find_node, get_peers, announce_peer, sample_infohashes, get, put, vote.
    private static readonly double[] InboundMix = Cumulative([0.12, 0.25, 0.48, 0.08, 0.035, 0.015, 0.007, 0.003]);
    private static readonly double[] OutboundMix = Cumulative([0.10, 0.42, 0.36, 0.05, 0.05, 0.015, 0.005, 0]);

    private static double[] Cumulative(double[] w)
    {
        var c = new double[w.Length];
        double s = 0;
        for (int i = 0; i < w.Length; i++) c[i] = s += w[i];
        for (int i = 0; i < w.Length; i++) c[i] /= s;
        return c;
    }

    private int PickMethod(double[] cum)
    {
        double u = _rng.NextDouble();
        for (int i = 0; i < cum.Length; i++) if (u < cum[i]) return i;
        return cum.Length - 1;
    }

    private bool PickV4() => _hasV4 && (!_hasV6 || !_rng.Chance(_o.Ipv6Share));

    /// <summary>A remote node; skewed so that some nodes talk often and most rarely (index ~ n·u²).</summary>
    private int PickTalker(bool v4)
    {
        var list = v4 ? _pop.V4Regular : _pop.V6Regular;
        if (list.Length == 0) list = v4 ? _pop.V6Regular : _pop.V4Regular;
        double u = _rng.NextDouble();
        return list[(int)(list.Length * u * u)];
    }

    private ReadOnlySpan<byte> InfoHash()
    {
        double u = _rng.NextDouble();
        return _infoHashes.AsSpan((int)(_infoHashCount * u * u * u) * 20, 20);
    }

    // ---------------------------------------------------------------- exchanges

    private void BoundaryPing(int node, long ts)
    {
        int vantage = _pop.Ip[node].IsV4 ? NodePopulation.VantageV4 : NodePopulation.VantageV6;
        var tid = NewTid(node, Ping, out int tidLen);
        Query(ts, node, vantage, Ping, tid, tidLen, omitT: false);
        Response(ts + 300, vantage, node, Ping, tid, tidLen, values: 0);
    }

    private void Exchange(long t, int remote, int method, bool inbound, bool forceNoReply)
    {
        int vantage = _pop.Ip[remote].IsV4 ? NodePopulation.VantageV4 : NodePopulation.VantageV6;
        int from = inbound ? remote : vantage;
        int to = inbound ? vantage : remote;
        var tid = NewTid(from, method, out int tidLen);
        Query(t, from, to, method, tid, tidLen, omitT: false);
        if (forceNoReply) return;

        // The vantage answers within a millisecond; remote answers take a WAN round trip (or never come).
        long rtt = inbound
            ? _rng.Between(80, 900)
            : Math.Min(1_500_000, 15_000 + (long)(-Math.Log(1 - _rng.NextDouble()) * 90_000));
        long ts = t + rtt;
        double u = _rng.NextDouble();
        if (inbound)
        {
            if (method == Vote) Error(ts, to, from, method, tid, tidLen, 204, "unknown message"u8);
            else if (method == Announce && u < 0.10) Error(ts, to, from, method, tid, tidLen, 203, "invalid token"u8);
            else if (u < 0.95) Response(ts, to, from, method, tid, tidLen, ValuesFor(method, remoteResponder: false, _pop.Ip[from].IsV4));
            return;
        }
        var client = _pop.Client[to];
        if (u < 0.28) return; // timeout: the remote node is gone or firewalled
        if (method == Sample && client is ClientKind.WebTorrent or ClientKind.Transmission)
            Error(ts, to, from, method, tid, tidLen, 204, "Method Unknown"u8);
        else if (u < 0.295)
            Error(ts, to, from, method, tid, tidLen, 201, "A Generic Error Ocurred"u8);
        else
            Response(ts, to, from, method, tid, tidLen, ValuesFor(method, remoteResponder: true, _pop.Ip[to].IsV4));
    }

    /// <summary>Number of `values` entries in a get_peers response (0 = nodes only).</summary>
    private int ValuesFor(int method, bool remoteResponder, bool v4)
    {
        if (method != GetPeers) return 0;
        if (remoteResponder && _rng.Chance(_o.FragmentShare))
            return v4 ? _rng.Between(190, 400) : _rng.Between(70, 150); // over the 1500-byte MTU
        if (!_rng.Chance(remoteResponder ? 0.45 : 0.30)) return 0;
        return v4 ? _rng.Between(1, 50) : _rng.Between(1, 40);
    }

    private Span<byte> NewTid(int from, int method, out int length)
    {
        var tid = _tid.AsSpan();
        switch (_pop.Client[from])
        {
            case ClientKind.LibTorrent when from <= NodePopulation.VantageV6:
                BinaryPrimitives.WriteUInt16BigEndian(tid, _vantageTid++);
                length = 2;
                break;
            case ClientKind.LibTorrent:
            case ClientKind.WebTorrent:
                _rng.Fill(tid[..2]);
                length = 2;
                break;
            case ClientKind.Transmission:
                TransmissionTags[method].CopyTo(tid);
                _rng.Fill(tid[2..]);
                length = 4;
                break;
            default:
                _rng.Fill(tid);
                length = 4;
                break;
        }
        return tid;
    }

    private static int TokenLength(ClientKind c) => c switch
    {
        ClientKind.LibTorrent => 4,
        ClientKind.WebTorrent => 20,
        _ => 8,
    };

    private static bool SendsIp(ClientKind c) => c is ClientKind.LibTorrent or ClientKind.MuTorrent;

    private void WriteVersion(ref BencodeWriter w, int node)
    {
        var c = _pop.Client[node];
        if (c == ClientKind.WebTorrent) return;
        w.Raw("1:v4:"u8);
        w.Raw(c switch { ClientKind.LibTorrent => "LT"u8, ClientKind.Transmission => "TR"u8, _ => "UT"u8 });
        w.Raw(_pop.Version.AsSpan(node * 2, 2));
    }

    private void Query(long ts, int from, int to, int method, ReadOnlySpan<byte> tid, int tidLen, bool omitT)
    {
        int slot = NewSlot();
        var w = new BencodeWriter(_bufs[slot]);
        var client = _pop.Client[from];
        bool want = client == ClientKind.LibTorrent && _hasV4 && _hasV6 && _rng.Chance(0.10);
        w.Dict();
        w.Raw("1:ad"u8);
        if (method == Put && _rng.Chance(0.2)) { w.Raw("3:cas"u8); w.Int(_rng.Between(1, 5000)); }
        w.Raw("2:id"u8);
        w.Bytes(_pop.Id(from));
        switch (method)
        {
            case FindNode:
                w.Raw("6:target"u8);
                _rng.Fill(w.BytesInPlace(20));
                if (want) w.Raw("4:wantl2:n42:n6e"u8);
                break;
            case GetPeers:
                w.Raw("9:info_hash"u8);
                w.Bytes(InfoHash());
                if (want) w.Raw("4:wantl2:n42:n6e"u8);
                break;
            case Announce:
                w.Raw("12:implied_port"u8);
                w.Int(_rng.Chance(0.6) ? 1 : 0);
                w.Raw("9:info_hash"u8);
                w.Bytes(InfoHash());
                w.Raw("4:port"u8);
                w.Int(_rng.Chance(0.3) ? _pop.Port[from] : _rng.Between(1024, 65535));
                w.Raw("5:token"u8);
                _rng.Fill(w.BytesInPlace(TokenLength(_pop.Client[to])));
                break;
            case Sample:
                w.Raw("6:target"u8);
                _rng.Fill(w.BytesInPlace(20));
                break;
            case Get:
                if (_rng.Chance(0.5)) { w.Raw("3:seq"u8); w.Int(_rng.Between(0, 100_000)); }
                w.Raw("6:target"u8);
                _rng.Fill(w.BytesInPlace(20));
                break;
            case Put:
                w.Raw("1:k"u8);
                _rng.Fill(w.BytesInPlace(32));
                if (_rng.Chance(0.2)) { w.Raw("4:salt"u8); _rng.Fill(w.BytesInPlace(_rng.Between(4, 16))); }
                w.Raw("3:seq"u8);
                w.Int(_rng.Between(1, 100_000));
                w.Raw("3:sig"u8);
                _rng.Fill(w.BytesInPlace(64));
                w.Raw("5:token"u8);
                _rng.Fill(w.BytesInPlace(TokenLength(_pop.Client[to])));
                w.Raw("1:v"u8);
                FillText(w.BytesInPlace(_rng.Between(8, 120)));
                break;
            case Vote:
                w.Raw("6:target"u8);
                _rng.Fill(w.BytesInPlace(20));
                w.Raw("4:vote"u8);
                w.Int(_rng.Between(1, 5));
                break;
        }
        w.End();
        w.Raw("1:q"u8);
        w.Raw(MethodKeys[method]);
        if (client == ClientKind.LibTorrent && _rng.Chance(0.05)) w.Raw("2:roi1e"u8); // BEP 43
        if (!omitT) { w.Raw("1:t"u8); w.Bytes(tid[..tidLen]); }
        WriteVersion(ref w, from);
        w.Raw("1:y1:qe"u8);
        int len = w.Length;

        if (omitT) { Commit(slot, ts, from, to, len); return; }
        Commit(slot, ts, from, to, len);
        CountMessage(Y_Q, method, ts);
        SightSender(from, ts);
        if (method == Announce) SightAnnounce(from, ts);
    }

    private void FillText(Span<byte> s)
    {
        for (int i = 0; i < s.Length; i++) s[i] = (byte)('a' + _rng.Next(26));
    }

    private void Response(long ts, int from, int to, int method, ReadOnlySpan<byte> tid, int tidLen, int values)
    {
        int slot = NewSlot();
        var w = new BencodeWriter(_bufs[slot]);
        var client = _pop.Client[from];
        bool v4 = _pop.Ip[to].IsV4;
        w.Dict();
        if (SendsIp(client))
        {
            // BEP 42: the requester's address as the responder sees it.
            w.Raw("2:ip"u8);
            var ip = w.BytesInPlace(v4 ? 6 : 18);
            WriteCompact(ip, _pop.Ip[to], _pop.Port[to]);
        }
        w.Raw("1:rd"u8);
        w.Raw("2:id"u8);
        w.Bytes(_pop.Id(from));
        // libtorrent answers a dual-stack `want` with both lists; otherwise the requester's family.
        bool both = _hasV4 && _hasV6 && _rng.Chance(0.08);
        int nodeCount = _rng.Chance(0.05) ? _rng.Between(1, 7) : 8;
        switch (method)
        {
            case FindNode:
                WriteNodeLists(ref w, v4, both, nodeCount, ts);
                break;
            case GetPeers:
                WriteNodeLists(ref w, v4, both, nodeCount, ts);
                w.Raw("5:token"u8);
                _rng.Fill(w.BytesInPlace(TokenLength(client)));
                if (values > 0) WriteValues(ref w, v4, values, ts);
                break;
            case Sample:
                w.Raw("8:interval"u8);
                w.Int(21600);
                WriteNodeLists(ref w, v4, both, nodeCount, ts);
                // At least one: Wireshark 4.0 flags an empty `samples` string as malformed.
                int samples = _rng.Between(1, 20);
                w.Raw("3:num"u8);
                w.Int(samples + _rng.Between(0, 300));
                w.Raw("7:samples"u8);
                var s = w.BytesInPlace(samples * 20);
                for (int i = 0; i < samples; i++) InfoHash().CopyTo(s[(i * 20)..]);
                break;
            case Get:
                bool found = _rng.Chance(0.6);
                if (found) { w.Raw("1:k"u8); _rng.Fill(w.BytesInPlace(32)); }
                WriteNodeLists(ref w, v4, both, nodeCount, ts);
                if (found)
                {
                    w.Raw("3:seq"u8);
                    w.Int(_rng.Between(0, 100_000));
                    w.Raw("3:sig"u8);
                    _rng.Fill(w.BytesInPlace(64));
                }
                w.Raw("5:token"u8);
                _rng.Fill(w.BytesInPlace(TokenLength(client)));
                if (found) { w.Raw("1:v"u8); FillText(w.BytesInPlace(_rng.Between(8, 120))); }
                break;
        }
        w.End();
        w.Raw("1:t"u8);
        w.Bytes(tid[..tidLen]);
        WriteVersion(ref w, from);
        w.Raw("1:y1:re"u8);
        Commit(slot, ts, from, to, w.Length);
        CountMessage(Y_R, method, ts);
        SightSender(from, ts);
    }

    private void Error(long ts, int from, int to, int method, ReadOnlySpan<byte> tid, int tidLen, int code, ReadOnlySpan<byte> message)
    {
        int slot = NewSlot();
        var w = new BencodeWriter(_bufs[slot]);
        w.Dict();
        w.Raw("1:el"u8);
        w.Int(code);
        w.Bytes(message);
        w.End();
        w.Raw("1:t"u8);
        w.Bytes(tid[..tidLen]);
        WriteVersion(ref w, from);
        w.Raw("1:y1:ee"u8);
        Commit(slot, ts, from, to, w.Length);
        CountMessage(Y_E, method, ts);
        _errors[code] = _errors.GetValueOrDefault(code) + 1;
        // No sighting (an error has no `id`), but `report asn` also counts message senders.
        if (ts >= _windowStartUs) _pop.Flags[from] |= ErrWin;
    }

    private void WriteNodeLists(ref BencodeWriter w, bool v4, bool both, int count, long ts)
    {
        if (v4 || both) WriteNodes(ref w, true, count, ts);
        if (!v4 || both) WriteNodes(ref w, false, count, ts);
    }

    private void WriteNodes(ref BencodeWriter w, bool v4, int count, long ts)
    {
        var list = v4 ? _pop.V4Regular : _pop.V6Regular;
        count = Math.Min(count, list.Length);
        int rec = v4 ? 26 : 38;
        w.Raw(v4 ? "5:nodes"u8 : "6:nodes6"u8);
        var dst = w.BytesInPlace(count * rec);
        for (int i = 0; i < count; i++)
        {
            int n = list[_rng.Next(list.Length)];
            var r = dst.Slice(i * rec, rec);
            _pop.Id(n).CopyTo(r);
            WriteCompact(r[20..], _pop.Ip[n], _pop.Port[n]);
            SightReported(n, ts);
        }
    }

    private void WriteValues(ref BencodeWriter w, bool v4, int count, long ts)
    {
        var list = v4 ? _pop.V4Peers : _pop.V6Peers;
        if (list.Length == 0) list = v4 ? _pop.V6Peers : _pop.V4Peers;
        w.Raw("6:values"u8);
        w.List();
        for (int i = 0; i < count; i++)
        {
            int p = list[_rng.Next(list.Length)];
            var ip = _pop.PeerIp[p];
            WriteCompact(w.BytesInPlace(ip.IsV4 ? 6 : 18), ip, _pop.PeerPort[p]);
            SightPeer(p, ts);
        }
        w.End();
    }

    private static void WriteCompact(Span<byte> dst, IpAddr ip, ushort port)
    {
        if (ip.IsV4)
        {
            BinaryPrimitives.WriteUInt32BigEndian(dst, ip.V4);
            BinaryPrimitives.WriteUInt16BigEndian(dst[4..], port);
        }
        else
        {
            BinaryPrimitives.WriteUInt128BigEndian(dst, ip.Value);
            BinaryPrimitives.WriteUInt16BigEndian(dst[16..], port);
        }
    }

    // ---------------------------------------------------------------- malformed and noise

    private void Malformed(long t)
    {
        bool v4 = PickV4();
        int remote = PickTalker(v4);
        int vantage = _pop.Ip[remote].IsV4 ? NodePopulation.VantageV4 : NodePopulation.VantageV6;
        int method = _rng.Next(3); // ping, find_node, get_peers
        var tid = NewTid(remote, method, out int tidLen);
        bool truncated = _rng.Chance(0.6);
        // Render a whole query into a slot, then damage it: cut it short, or leave out `t`.
        int slot = NewSlot();
        var w = new BencodeWriter(_bufs[slot]);
        w.Dict();
        w.Raw("1:ad2:id"u8);
        w.Bytes(_pop.Id(remote));
        if (method == FindNode) { w.Raw("6:target"u8); _rng.Fill(w.BytesInPlace(20)); }
        if (method == GetPeers) { w.Raw("9:info_hash"u8); w.Bytes(InfoHash()); }
        w.End();
        w.Raw("1:q"u8);
        w.Raw(MethodKeys[method]);
        if (truncated) { w.Raw("1:t"u8); w.Bytes(tid[..tidLen]); }
        WriteVersion(ref w, remote);
        w.Raw("1:y1:qe"u8);
        int len = w.Length;
        // Cut inside the `a` dictionary or later, never before "d1:a": still recognisably KRPC.
        if (truncated) len = _rng.Between(12, len - 1);
        Commit(slot, t, remote, vantage, len);
        _truth.Malformed++;
        if (t >= _windowStartUs) _truth.MalformedInWindow++;
        string kind = truncated ? "truncated" : "missing_t";
        _truth.MalformedByKind[kind] = _truth.MalformedByKind.GetValueOrDefault(kind) + 1;
    }

    private void RandomUdp(long t)
    {
        bool v4 = PickV4();
        int remote = PickTalker(v4);
        int vantage = _pop.Ip[remote].IsV4 ? NodePopulation.VantageV4 : NodePopulation.VantageV6;
        int slot = NewSlot();
        int len = _rng.Between(8, 400);
        var buf = _bufs[slot].AsSpan(0, len);
        _rng.Fill(buf);
        // Never 'd': a payload starting like a bencoded dictionary would be a KRPC candidate.
        if (buf[0] == (byte)'d') buf[0] = 0x00;
        // Garbage arriving on the DHT socket, from a DHT node's port.
        CommitRaw(slot, t, _pop.Ip[remote], _pop.Port[remote], _pop.Ip[vantage], _pop.Port[vantage], false, len);
        _truth.RandomUdp++;
    }

    private void Dns(long t)
    {
        bool v4 = PickV4();
        int vantage = v4 ? NodePopulation.VantageV4 : NodePopulation.VantageV6;
        if (!_pop.Ip[vantage].IsV4 && v4) vantage = NodePopulation.VantageV4;
        var resolver = _pop.Ip[vantage].IsV4 ? IpAddr.FromV4(0x09090909) : IpAddr.Parse("2620:fe::fe");
        ushort sport = (ushort)_rng.Between(32768, 60999);
        ushort id = (ushort)_rng.Next(65536);
        if ((id >> 8) == 'd') id ^= 0x8000;
        string name = DnsNames[_rng.Next(DnsNames.Length)];
        ushort qtype = _rng.Chance(0.5) ? (ushort)1 : (ushort)28;

        int slot = NewSlot();
        int len = WriteDns(_bufs[slot], id, name, qtype, answer: null);
        CommitRaw(slot, t, _pop.Ip[vantage], sport, resolver, 53, true, len);
        _truth.Dns++;

        int slot2 = NewSlot();
        Span<byte> rdata = stackalloc byte[qtype == 1 ? 4 : 16];
        _rng.Fill(rdata);
        len = WriteDns(_bufs[slot2], id, name, qtype, rdata.ToArray());
        CommitRaw(slot2, t + _rng.Between(3_000, 40_000), resolver, 53, _pop.Ip[vantage], sport, false, len);
        _truth.Dns++;
    }

    private static int WriteDns(byte[] buf, ushort id, string name, ushort qtype, byte[]? answer)
    {
        var s = buf.AsSpan();
        BinaryPrimitives.WriteUInt16BigEndian(s, id);
        BinaryPrimitives.WriteUInt16BigEndian(s[2..], answer is null ? (ushort)0x0100 : (ushort)0x8180);
        BinaryPrimitives.WriteUInt16BigEndian(s[4..], 1);
        BinaryPrimitives.WriteUInt16BigEndian(s[6..], answer is null ? (ushort)0 : (ushort)1);
        BinaryPrimitives.WriteUInt32BigEndian(s[8..], 0);
        int p = 12;
        foreach (var label in name.Split('.'))
        {
            s[p++] = (byte)label.Length;
            foreach (char c in label) s[p++] = (byte)c;
        }
        s[p++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(s[p..], qtype);
        BinaryPrimitives.WriteUInt16BigEndian(s[(p + 2)..], 1);
        p += 4;
        if (answer is null) return p;
        BinaryPrimitives.WriteUInt16BigEndian(s[p..], 0xc00c);
        BinaryPrimitives.WriteUInt16BigEndian(s[(p + 2)..], qtype);
        BinaryPrimitives.WriteUInt16BigEndian(s[(p + 4)..], 1);
        BinaryPrimitives.WriteUInt32BigEndian(s[(p + 6)..], 300);
        BinaryPrimitives.WriteUInt16BigEndian(s[(p + 10)..], (ushort)answer.Length);
        answer.CopyTo(s[(p + 12)..]);
        return p + 12 + answer.Length;
    }

    /// <summary>uTP (BEP 29) on the DHT port, as libtorrent multiplexes both on one UDP socket.</summary>
    private void Utp(long t, bool forceSingle)
    {
        bool v4 = PickV4();
        var peers = v4 ? _pop.V4Peers : _pop.V6Peers;
        if (peers.Length == 0) peers = v4 ? _pop.V6Peers : _pop.V4Peers;
        int p = peers[_rng.Next(peers.Length)];
        var peerIp = _pop.PeerIp[p];
        int vantage = peerIp.IsV4 ? NodePopulation.VantageV4 : NodePopulation.VantageV6;
        bool outbound = _rng.Chance(0.5);
        double u = _rng.NextDouble();
        // type in the high nibble, version 1 in the low: ST_DATA 0x01, ST_FIN 0x11, ST_STATE 0x21, ST_RESET 0x31, ST_SYN 0x41
        byte type = forceSingle ? (byte)0x21 : u < 0.6 ? (byte)0x01 : u < 0.95 ? (byte)0x21 : (byte)(0x11 + 0x10 * _rng.Next(3));
        int payload = type == 0x01 ? _rng.Between(100, 1380) : 0;
        ushort conn = (ushort)_rng.Next(65536);
        ushort seq = (ushort)_rng.Next(65536);
        WriteUtp(t, type, conn, seq, payload, outbound, vantage, p);
        if (type == 0x01 && !forceSingle && _rng.Chance(0.5))
            WriteUtp(t + _rng.Between(1_000, 60_000), 0x21, (ushort)(conn + 1), (ushort)_rng.Next(65536), 0, !outbound, vantage, p);
    }

    private void WriteUtp(long t, byte type, ushort conn, ushort seq, int payload, bool outbound, int vantage, int peer)
    {
        int slot = NewSlot();
        var s = _bufs[slot].AsSpan(0, 20 + payload);
        s[0] = type;
        s[1] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(s[2..], conn);
        BinaryPrimitives.WriteUInt32BigEndian(s[4..], (uint)t);
        BinaryPrimitives.WriteUInt32BigEndian(s[8..], (uint)_rng.Between(0, 200_000));
        BinaryPrimitives.WriteUInt32BigEndian(s[12..], (uint)_rng.Between(16_384, 1_048_576));
        BinaryPrimitives.WriteUInt16BigEndian(s[16..], seq);
        BinaryPrimitives.WriteUInt16BigEndian(s[18..], (ushort)_rng.Next(65536));
        _rng.Fill(s[20..]);
        var v = _pop.Ip[vantage];
        var pip = _pop.PeerIp[peer];
        if (outbound) CommitRaw(slot, t, v, _pop.Port[vantage], pip, _pop.PeerPort[peer], true, s.Length);
        else CommitRaw(slot, t, pip, _pop.PeerPort[peer], v, _pop.Port[vantage], false, s.Length);
        _truth.Utp++;
    }

    // ---------------------------------------------------------------- datagrams, frames, truth

    private int NewSlot()
    {
        if (_free.Count > 0) return _free.Pop();
        if (_slotCount == _slots.Length)
        {
            Array.Resize(ref _slots, _slots.Length * 2);
            Array.Resize(ref _bufs, _bufs.Length * 2);
        }
        _bufs[_slotCount] = new byte[SlotBytes];
        return _slotCount++;
    }

    private void Commit(int slot, long ts, int from, int to, int len)
    {
        CommitRaw(slot, ts, _pop.Ip[from], _pop.Port[from], _pop.Ip[to], _pop.Port[to], from <= NodePopulation.VantageV6, len);
    }

    private void CommitRaw(int slot, long ts, IpAddr src, ushort sport, IpAddr dst, ushort dport, bool outbound, int len)
    {
        ref var p = ref _slots[slot];
        p.Ts = ts;
        p.Src = src;
        p.Dst = dst;
        p.SrcPort = sport;
        p.DstPort = dport;
        p.Outbound = outbound;
        p.Hop = outbound ? (byte)64 : (byte)_rng.Between(40, 120);
        p.IpId = (uint)_rng.Between(1, int.MaxValue);
        p.Len = len;
        int frames = FrameBuilder.FrameCount(src.IsV4, len);
        _plannedFrames += frames;
        _truth.Frames += frames;
        if (src.IsV4) _truth.Ipv4Frames += frames; else _truth.Ipv6Frames += frames;
        _truth.UdpDatagrams++;
        if (frames > 1)
        {
            _truth.FragmentFrames += frames;
            _truth.FragmentedDatagrams++;
        }
        if (ts < _truth.FirstTimestampUs) _truth.FirstTimestampUs = ts;
        if (ts > _truth.LastTimestampUs) _truth.LastTimestampUs = ts;
        _queue.Enqueue(slot, (ts, _seq++));
    }

    private void Flush(long upTo)
    {
        while (_queue.TryPeek(out int slot, out var prio) && prio.Ts <= upTo)
        {
            _queue.Dequeue();
            ref var p = ref _slots[slot];
            _frames.Write(p.Ts, p.Outbound, p.Src, p.SrcPort, p.Dst, p.DstPort, _bufs[slot].AsSpan(0, p.Len), p.IpId, p.Hop);
            _free.Push(slot);
        }
    }

    private void CountMessage(int y, int method, long ts)
    {
        _plannedMessages++;
        _truth.KrpcMessages++;
        _msgAll[y, method]++;
        if (ts >= _windowStartUs)
        {
            _truth.KrpcMessagesInWindow++;
            _msgWin[y, method]++;
        }
    }

    private void SightSender(int node, long ts)
    {
        _truth.NodeSightings++;
        _truth.SenderSightings++;
        _pop.Flags[node] |= SeenAll | SentAll;
        if (ts >= _windowStartUs)
        {
            _truth.NodeSightingsInWindow++;
            _truth.SenderSightingsInWindow++;
            _pop.Flags[node] |= SeenWin | SentWin;
        }
    }

    private void SightReported(int node, long ts)
    {
        _truth.NodeSightings++;
        _pop.Flags[node] |= SeenAll;
        if (ts >= _windowStartUs)
        {
            _truth.NodeSightingsInWindow++;
            _pop.Flags[node] |= SeenWin;
        }
    }

    private void SightAnnounce(int node, long ts)
    {
        _truth.PeerSightings++;
        _pop.Flags[node] |= AnnAll;
        if (ts >= _windowStartUs)
        {
            _truth.PeerSightingsInWindow++;
            _pop.Flags[node] |= AnnWin;
        }
    }

    private void SightPeer(int peer, long ts)
    {
        _truth.PeerSightings++;
        _pop.PeerFlags[peer] |= 1;
        if (ts >= _windowStartUs)
        {
            _truth.PeerSightingsInWindow++;
            _pop.PeerFlags[peer] |= 2;
        }
    }

    private sealed class AsnAgg
    {
        public string Org = "";
        public long Ips, Senders, V4, V6, Slash64, Peers, IpsAll, ReportIps, ReportDirect;
    }

    private void Finish()
    {
        for (int y = 0; y < 3; y++)
        {
            for (int m = 0; m < MethodNames.Length; m++)
            {
                string key = "qre"[y] + ":" + MethodNames[m];
                if (_msgAll[y, m] > 0) _truth.Messages[key] = _msgAll[y, m];
                if (_msgWin[y, m] > 0) _truth.MessagesInWindow[key] = _msgWin[y, m];
            }
        }
        foreach (var (code, n) in _errors) _truth.ErrorCodes[code] = n;

        var ipsWin = new HashSet<UInt128>();
        var sendersWin = new HashSet<UInt128>();
        var ipsAll = new HashSet<UInt128>();
        var peersWin = new HashSet<UInt128>();
        var reportIps = new HashSet<UInt128>();
        var reportDirect = new HashSet<UInt128>();
        for (int i = 0; i < _pop.Count; i++)
        {
            byte f = _pop.Flags[i];
            var ip = _pop.Ip[i].Value;
            if ((f & SeenWin) != 0) ipsWin.Add(ip);
            if ((f & SentWin) != 0) sendersWin.Add(ip);
            if ((f & SeenAll) != 0) ipsAll.Add(ip);
            if ((f & AnnWin) != 0) peersWin.Add(ip);
            if ((f & (SeenWin | ErrWin)) != 0) reportIps.Add(ip);
            if ((f & (SentWin | ErrWin)) != 0) reportDirect.Add(ip);
        }
        for (int i = 0; i < _pop.PeerIp.Length; i++)
            if ((_pop.PeerFlags[i] & 2) != 0) peersWin.Add(_pop.PeerIp[i].Value);

        var byAsn = new Dictionary<uint, AsnAgg>();
        // An AS's name is the one on its first range (lowest start), whichever address is seen first.
        var orgs = new Dictionary<uint, string>();
        foreach (var range in _table.Ranges) orgs.TryAdd(range.Asn, range.Org);
        AsnAgg? Agg(UInt128 ip)
        {
            int r = _table.IndexOf(new IpAddr(ip));
            if (r < 0) return null;
            uint asn = _table.Ranges[r].Asn;
            if (!byAsn.TryGetValue(asn, out var a)) byAsn[asn] = a = new AsnAgg { Org = orgs[asn] };
            return a;
        }
        var slash64 = new HashSet<ulong>();
        var slash64PerAsn = new HashSet<(uint, ulong)>();
        long unmatched = 0;
        foreach (var ip in ipsWin)
        {
            var a = Agg(ip);
            var addr = new IpAddr(ip);
            if (!addr.IsV4) slash64.Add((ulong)(ip >> 64));
            if (a is null) { unmatched++; continue; }
            a.Ips++;
            if (addr.IsV4) a.V4++;
            else
            {
                a.V6++;
                int r = _table.IndexOf(addr);
                if (slash64PerAsn.Add((_table.Ranges[r].Asn, (ulong)(ip >> 64)))) a.Slash64++;
            }
        }
        foreach (var ip in sendersWin) { var a = Agg(ip); if (a != null) a.Senders++; }
        foreach (var ip in peersWin) { var a = Agg(ip); if (a != null) a.Peers++; }
        foreach (var ip in ipsAll) { var a = Agg(ip); if (a != null) a.IpsAll++; }
        foreach (var ip in reportIps) { var a = Agg(ip); if (a != null) a.ReportIps++; }
        foreach (var ip in reportDirect) { var a = Agg(ip); if (a != null) a.ReportDirect++; }

        _truth.DistinctIps = ipsWin.Count;
        _truth.DistinctSenderIps = sendersWin.Count;
        _truth.DistinctIpv6Slash64 = slash64.Count;
        _truth.DistinctPeerIps = peersWin.Count;
        _truth.DistinctIpsAllTime = ipsAll.Count;
        _truth.UnmatchedIps = unmatched;
        _truth.ReportIps = reportIps.Count;
        _truth.ReportDirectIps = reportDirect.Count;
        foreach (var (asn, a) in byAsn)
            _truth.Asns.Add(new AsnTruth(asn, a.Org, a.Ips, a.Senders, a.V4, a.V6, a.Slash64, a.Peers, a.IpsAll, a.ReportIps, a.ReportDirect));
        if (_o.Countries is { } countries)
        {
            var byCountry = new SortedDictionary<string, long[]>(StringComparer.Ordinal);
            void Add(HashSet<UInt128> set, int column, bool countMissing)
            {
                foreach (var ip in set)
                {
                    string? cc = countries.Lookup(ip);
                    if (cc is null)
                    {
                        if (countMissing) _truth.NoCountryIps++;
                        continue;
                    }
                    if (!byCountry.TryGetValue(cc, out var c)) byCountry[cc] = c = new long[4];
                    c[column]++;
                }
            }
            Add(ipsWin, 0, false);
            Add(sendersWin, 1, false);
            Add(reportIps, 2, true);
            Add(reportDirect, 3, false);
            foreach (var (cc, c) in byCountry) _truth.Countries.Add(new CountryTruth(cc, c[0], c[1], c[2], c[3]));
            _truth.Countries.Sort(static (x, y) => x.ReportIps != y.ReportIps ? y.ReportIps.CompareTo(x.ReportIps)
                : string.CompareOrdinal(x.Country, y.Country));
        }
        _truth.Asns.Sort(static (x, y) => x.Ips != y.Ips ? y.Ips.CompareTo(x.Ips) : x.Asn.CompareTo(y.Asn));
    }
}
