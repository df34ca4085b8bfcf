using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Synth;

/// <summary>The DHT implementations whose encodings the generator imitates.</summary>
internal enum ClientKind : byte
{
    /// <summary>libtorrent: `v` "LT"+2 bytes, 2-byte `t`, BEP 42 `ip` in responses, 4-byte tokens.</summary>
    LibTorrent,
    /// <summary>webtorrent (bittorrent-dht over k-rpc): no `v`, 2-byte `t`, no `ip`, 20-byte tokens.</summary>
    WebTorrent,
    /// <summary>Transmission (jech/dht): `v` "TR"+2 bytes, 4-byte `t` = 2-letter method tag + 2 bytes.</summary>
    Transmission,
    /// <summary>µTorrent: `v` "UT"+2 bytes, 4-byte `t`, `ip` in responses.</summary>
    MuTorrent,
}

/// <summary>
/// Draws public addresses from the imported ranges with a Zipf-like ISP mix: ASes are ranked by the
/// address space they hold (big access ISPs first) and the AS of rank r is chosen with weight 1/r^s;
/// inside an AS a range is chosen by size (IPv4) or by log2 of its size (IPv6, where sizes span
/// 2^32..2^96 and raw size would always pick the largest).
/// </summary>
internal sealed class AddressSampler
{
    private readonly AsnRangeTable _table;
    private readonly Family _v4;
    private readonly Family _v6;

    private sealed class Family
    {
        public readonly List<int[]> AsnRanges = [];       // per AS (in rank order): range indices
        public readonly List<double[]> AsnRangeCum = [];  // per AS: cumulative range weights
        public double[] AsnCum = [];                      // cumulative Zipf weights over ranked ASes
        public bool Any => AsnRanges.Count > 0;
    }

    public AddressSampler(AsnRangeTable table, double zipf)
    {
        _table = table;
        _v4 = BuildFamily(table, true, zipf);
        _v6 = BuildFamily(table, false, zipf);
    }

    public bool HasV4 => _v4.Any;
    public bool HasV6 => _v6.Any;

    private static Family BuildFamily(AsnRangeTable table, bool v4, double zipf)
    {
        var byAsn = new SortedDictionary<uint, List<int>>();
        var ranges = table.Ranges;
        for (int i = 0; i < ranges.Count; i++)
        {
            if (ranges[i].IsV4 != v4) continue;
            if (!byAsn.TryGetValue(ranges[i].Asn, out var list)) byAsn[ranges[i].Asn] = list = [];
            list.Add(i);
        }
        var ranked = new List<(uint Asn, double Space, List<int> Ranges)>();
        foreach (var (asn, list) in byAsn)
        {
            double space = 0;
            foreach (int i in list) space += (double)ranges[i].Size;
            ranked.Add((asn, space, list));
        }
        ranked.Sort(static (a, b) => a.Space != b.Space ? b.Space.CompareTo(a.Space) : a.Asn.CompareTo(b.Asn));
        var f = new Family { AsnCum = new double[ranked.Count] };
        double cum = 0;
        for (int r = 0; r < ranked.Count; r++)
        {
            cum += 1.0 / Math.Pow(r + 1, zipf);
            f.AsnCum[r] = cum;
            var idx = ranked[r].Ranges.ToArray();
            var rc = new double[idx.Length];
            double c = 0;
            for (int k = 0; k < idx.Length; k++)
            {
                double size = (double)ranges[idx[k]].Size;
                c += v4 ? size : 1 + Math.Log2(size);
                rc[k] = c;
            }
            f.AsnRanges.Add(idx);
            f.AsnRangeCum.Add(rc);
        }
        return f;
    }

    private static int Pick(double[] cum, double u)
    {
        double x = u * cum[^1];
        int i = Array.BinarySearch(cum, x);
        if (i < 0) i = ~i;
        return Math.Min(i, cum.Length - 1);
    }

    /// <summary>A random address of the family; <paramref name="topAsn"/> picks from the top-ranked AS (the vantage point's ISP).</summary>
    public IpAddr Sample(SynthRandom rng, bool v4, bool topAsn = false)
    {
        var f = v4 ? _v4 : _v6;
        int a = topAsn ? 0 : Pick(f.AsnCum, rng.NextDouble());
        int range = f.AsnRanges[a][Pick(f.AsnRangeCum[a], rng.NextDouble())];
        var r = _table.Ranges[range];
        return new IpAddr(r.Start.Value + rng.NextU128(r.Size));
    }
}

/// <summary>
/// Every endpoint that speaks KRPC in the capture: the vantage point (one IPv4 and one IPv6 address),
/// two nodes reserved for the window-boundary test, and the remote nodes.
/// </summary>
internal sealed class NodePopulation
{
    public const int VantageV4 = 0;
    public const int VantageV6 = 1;
    public const int BoundaryOutside = 2;
    public const int BoundaryInside = 3;
    public const int FirstRegular = 4;

    public readonly IpAddr[] Ip;
    public readonly ushort[] Port;
    public readonly ClientKind[] Client;
    public readonly byte[] Version;     // 2 bytes per node after the 2-letter client code
    public readonly byte[] Ids;         // 20 bytes per node
    public readonly int[] V4Regular;
    public readonly int[] V6Regular;
    public readonly byte[] Flags;       // sighting bits, see SynthGenerator

    public readonly IpAddr[] PeerIp;
    public readonly ushort[] PeerPort;
    public readonly int[] V4Peers;
    public readonly int[] V6Peers;
    public readonly byte[] PeerFlags;

    public int Count => Ip.Length;

    public NodePopulation(SynthRandom rng, AddressSampler sampler, int regular, double v6Share)
    {
        int n = FirstRegular + regular;
        Ip = new IpAddr[n];
        Port = new ushort[n];
        Client = new ClientKind[n];
        Version = new byte[n * 2];
        Ids = new byte[n * 20];
        Flags = new byte[n];
        var used = new HashSet<UInt128>(n);
        var v4 = new List<int>();
        var v6 = new List<int>();
        bool hasV4 = sampler.HasV4, hasV6 = sampler.HasV6;

        for (int i = 0; i < n; i++)
        {
            bool isV4 = i switch
            {
                VantageV4 => hasV4,
                VantageV6 => !hasV6,
                _ => hasV4 && (!hasV6 || !rng.Chance(v6Share)),
            };
            IpAddr ip;
            if (i >= FirstRegular && isV4 && v4.Count > 0 && rng.Chance(0.04))
            {
                // NAT: several nodes behind one public IPv4 address, told apart by port and id.
                ip = Ip[v4[rng.Next(v4.Count)]];
            }
            else if (i >= FirstRegular && !isV4 && v6.Count > 0 && rng.Chance(0.15))
            {
                // Several hosts (or privacy addresses) in one /64: distinct IPs, one /64.
                var sibling = Ip[v6[rng.Next(v6.Count)]];
                ip = new IpAddr((sibling.Value & ~(UInt128)ulong.MaxValue) | rng.NextU64());
                if (!used.Add(ip.Value)) ip = FreshAddress(rng, sampler, isV4, used, false);
            }
            else
            {
                ip = FreshAddress(rng, sampler, isV4, used, i <= VantageV6);
            }
            Ip[i] = ip;
            Port[i] = i <= VantageV6 ? (ushort)rng.Between(20000, 59999) : RandomPort(rng);
            double c = rng.NextDouble();
            Client[i] = i <= VantageV6 ? ClientKind.LibTorrent
                : c < 0.55 ? ClientKind.LibTorrent : c < 0.72 ? ClientKind.MuTorrent
                : c < 0.87 ? ClientKind.Transmission : ClientKind.WebTorrent;
            var ver = Version.AsSpan(i * 2, 2);
            switch (Client[i])
            {
                case ClientKind.LibTorrent:
                    ver[0] = i <= VantageV6 ? (byte)2 : (byte)rng.Between(1, 2);
                    ver[1] = i <= VantageV6 ? (byte)0 : (byte)rng.Between(0, 2);
                    break;
                case ClientKind.MuTorrent:
                    ver[0] = 0xb5;
                    ver[1] = (byte)rng.Between(0x40, 0x4f);
                    break;
                default:
                    ver[0] = (byte)rng.Between(0x30, 0x40);
                    ver[1] = 0;
                    break;
            }
            var id = Ids.AsSpan(i * 20, 20);
            rng.Fill(id);
            // libtorrent and µTorrent enforce BEP 42 for their own ids; others mostly do not.
            if (Client[i] is ClientKind.LibTorrent or ClientKind.MuTorrent || rng.Chance(0.3))
                ApplyBep42(ip, (byte)rng.Next(256), id);
            if (i >= FirstRegular) (isV4 ? v4 : v6).Add(i);
        }
        V4Regular = [.. v4];
        V6Regular = [.. v6];

        int peers = regular / 2 + 50;
        PeerIp = new IpAddr[peers];
        PeerPort = new ushort[peers];
        PeerFlags = new byte[peers];
        var p4 = new List<int>();
        var p6 = new List<int>();
        for (int i = 0; i < peers; i++)
        {
            // Many peers are DHT nodes too (same address, the torrent port); the rest only appear in `values`.
            if (rng.Chance(0.6) && regular > 0)
            {
                PeerIp[i] = Ip[FirstRegular + rng.Next(regular)];
            }
            else
            {
                bool isV4 = hasV4 && (!hasV6 || !rng.Chance(v6Share * 0.6));
                PeerIp[i] = sampler.Sample(rng, isV4);
            }
            PeerPort[i] = RandomPort(rng);
            (PeerIp[i].IsV4 ? p4 : p6).Add(i);
        }
        V4Peers = [.. p4];
        V6Peers = [.. p6];
    }

    private static IpAddr FreshAddress(SynthRandom rng, AddressSampler sampler, bool v4, HashSet<UInt128> used, bool top)
    {
        for (int attempt = 0; ; attempt++)
        {
            var ip = sampler.Sample(rng, v4, top);
            // A tiny range can run out of fresh addresses: after many tries accept a repeat.
            if (used.Add(ip.Value) || attempt > 50) return ip;
        }
    }

    private static ushort RandomPort(SynthRandom rng)
    {
        double u = rng.NextDouble();
        if (u < 0.08) return 6881;
        if (u < 0.12) return 51413;
        return (ushort)rng.Between(1024, 65535);
    }

    public ReadOnlySpan<byte> Id(int node) => Ids.AsSpan(node * 20, 20);

    /// <summary>Makes a random id BEP 42-conforming: 21 CRC32-C bits first, the random byte last.</summary>
    internal static void ApplyBep42(IpAddr ip, byte random, Span<byte> id)
    {
        uint crc = Bep42.ExpectedPrefix(ip, random);
        id[0] = (byte)(crc >> 24);
        id[1] = (byte)(crc >> 16);
        id[2] = (byte)(((crc >> 8) & 0xf8) | (id[2] & 0x07u));
        id[19] = random;
    }
}
