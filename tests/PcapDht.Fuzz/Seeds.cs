using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PcapDht.Tests.Capture;
using PcapDht.Tests.Enrich;
using static PcapDht.Tests.Net.PacketBuilder;

namespace PcapDht.Fuzz;

/// <summary>Small valid and near-valid inputs AFL starts from, per target (written at run time: no corpus in git).</summary>
internal static class Seeds
{
    private static readonly string[] Messages =
    [
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
        "d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re",
        "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee",
        "d1:ad2:id20:abcdefghij01234567896:target20:mnopqrstuvwxyz123456e1:q9:find_node1:t2:aa1:y1:qe",
        "d1:rd2:id20:0123456789abcdefghij5:nodes26:abcdefghij0123456789\u0001\u0002\u0003\u0004\u001a\u00e1e1:t2:aa1:y1:re",
        "d1:rd2:id20:abcdefghij01234567895:token8:aoeusnth6:valuesl6:axje.u6:idhtnm18:0123456789abcdef\u001a\u00e1ee1:t2:aa1:y1:re",
        "d1:ad2:id20:abcdefghij012345678912:implied_porti1e9:info_hash20:mnopqrstuvwxyz1234564:porti6881e5:token8:aoeusnthe1:q13:announce_peer1:t2:aa1:y1:qe",
        "d2:ip6:\u0001\u0002\u0003\u0004\u001a\u00e11:rd2:id20:abcdefghij01234567891:pi6881e7:samples20:mnopqrstuvwxyz1234563:numi3e8:intervali60ee1:t2:aa1:v4:LT\u0001\u00021:y1:re",
        "d1:ad2:id20:abcdefghij01234567891:k32:abcdefghijabcdefghijabcdefghijab3:seqi4e3:cas" + "i3e3:sig64:" + new string('s', 64) + "1:vd1:xli1ei-2eee4:wantl2:n42:n6ee1:q3:put1:t2:aa1:y1:qe",
        "d1:q9:find_node1:rd2:id20:abcdefghij01234567897:nodes\0v0:e1:t4:abcd1:y1:re",
        "li1ei-1e0:d1:ae1:b1:xee",
    ];

    public static IEnumerable<(string Name, byte[] Bytes)> For(string target) => target switch
    {
        "krpc" => Messages.Select((m, i) => ($"msg{i:D2}", Encoding.Latin1.GetBytes(m))),
        "capture" or "anonymize" => Captures(),
        "net" => NetFrames(),
        "ranges" => RangeFiles(),
        _ => throw new ArgumentException($"unknown target {target}"),
    };

    public static void Write(string target, string directory)
    {
        Directory.CreateDirectory(directory);
        foreach (var (name, bytes) in For(target))
            File.WriteAllBytes(Path.Combine(directory, name + ".bin"), bytes);
    }

    private static byte[] Ping => KrpcPing;
    private static byte[] Udp4 => IPv4(17, Udp(6881, 6882, Ping));
    private static byte[] Udp6 => IPv6(17, Udp(6881, 6882, Ping));

    private static IEnumerable<(string, byte[])> Captures()
    {
        var pcap = CaptureBuilder.Pcap(1).PcapRecord(1_700_000_000, 5, Ethernet(0x0800, Udp4))
            .PcapRecord(1_700_000_001, 6, Ethernet(0x86DD, Udp6)).PcapRecord(1_700_000_002, 7, Ethernet(0x0806, new byte[28])).ToArray();
        var pcapBig = CaptureBuilder.Pcap(101, bigEndian: true, magic: 0xA1B23C4D).PcapRecord(1_700_000_000, 999_999_999, Udp4)
            .PcapRecord(1_700_000_000, 1, Udp4[..20], originalLength: Udp4.Length).ToArray();
        var modified = CaptureBuilder.Pcap(113, magic: 0xA1B2CD34).PcapRecord(1, 2, Sll(0x0800, Udp4), modified: true).ToArray();
        var frags = FragmentV4(Udp(6881, 6882, Payload(2000)), 1480);
        var ng = CaptureBuilder.PcapNg().Section(false).Interface(1).Interface(101, tsresol: 9, tsoffsetSeconds: 1_700_000_000)
            .Enhanced(0, 1_700_000_000_000_000, Ethernet(0x0800, Udp4)).Enhanced(1, 5, frags[0]).Enhanced(1, 6, frags[1])
            .Simple(Ethernet(0x0800, Udp4)).Obsolete(0, 7, Ethernet(0x86DD, Udp6)).Block(4, new byte[8]).Block(5, new byte[20]).ToArray();
        var ngBig = CaptureBuilder.PcapNg().Section(true).Interface(276, tsresol: 0x8A).Enhanced(0, 1UL << 40, Sll2(0x0800, Udp4))
            .Section(false).Interface(229).Enhanced(0, 1, Udp6).ToArray();
        yield return ("pcap", [0, .. pcap]);
        yield return ("pcap-ns-be", [0, .. pcapBig]);
        yield return ("pcap-modified", [0, .. modified]);
        yield return ("pcapng", [0, .. ng]);
        yield return ("pcapng-sections", [0, .. ngBig]);
        yield return ("pcap-gzip", [1, .. pcap]);
        yield return ("pcapng-zstd", [2, .. ng]);
        yield return ("pcapng-gzip-members", [3, .. ngBig]);
        yield return ("pcap-trickle", [4, .. pcap]);
        yield return ("pcapng-trickle7", [8, .. ng]);
        yield return ("raw-gzip", [0, .. GzipBytes(pcap)]);
        yield return ("raw-zstd", [0, .. new ZstdSharp.Compressor(3).Wrap(ng).ToArray()]);
    }

    private static byte[] GzipBytes(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    private static IEnumerable<(string, byte[])> NetFrames()
    {
        // Selector = index in NetTarget's link-type table: 0 Ethernet, 1 raw, 2 IPv4, 3 IPv6, 4 SLL, 5 SLL2, 6 NULL,
        // 7 LOOP, 8 PPP, 9 PPP-HDLC, 10 PPPoE, 11 Cisco HDLC.
        static byte[] Rec(byte selector, byte flags, byte[] frame) =>
            [selector, flags, (byte)frame.Length, (byte)(frame.Length >> 8), .. frame];
        var big = Udp(6881, 6882, Payload(3000));
        var v4 = FragmentV4(big, 1480);
        var v6 = FragmentV6(big, 1448);
        yield return ("eth-vlan", [.. Rec(0, 0, Ethernet(0x0800, Udp4, (0x8100, 5), (0x88A8, 7))), .. Rec(0, 2, Ethernet(0x86DD, Udp6))]);
        yield return ("v4-frags", [.. Rec(1, 2, v4[2]), .. Rec(1, 2, v4[0]), .. Rec(1, 2, v4[1])]);
        yield return ("v6-frags", [.. Rec(3, 2, v6[0]), .. Rec(3, 2, v6[0]), .. Rec(3, 8, v6[1]), .. Rec(3, 2, v6[2])]);
        yield return ("v4-overlap", [.. Rec(1, 2, v4[0]), .. Rec(1, 2, IPv4(17, big.AsSpan(1472, 808), id: 0x4242, fragmentOffset: 1472, moreFragments: true)), .. Rec(1, 2, v4[1])]);
        yield return ("tunnels", [.. Rec(2, 0, IPv4(47, Gre(0x0800, Udp4, key: true))), .. Rec(2, 0, IPv4(17, Udp(1, 4789, Vxlan(Ethernet(0x0800, Udp4))))),
            .. Rec(0, 0, Ethernet(0x8847, Mpls(2, Udp4))), .. Rec(10, 0, Pppoe(0x0021, Udp4)), .. Rec(2, 0, IPv4(47, Gre(0x88BE, ErspanII(Ethernet(0x0800, Udp4)), sequence: true)))]);
        yield return ("geneve-ext", [.. Rec(2, 0, IPv4(17, Udp(1, 6081, Geneve(0x0800, Udp4, optionWords: 1)))), .. Rec(3, 0, IPv6(0, Extension(51, AuthenticationHeader(17, Udp(1, 2, Ping)))))]);
        yield return ("links", [.. Rec(4, 0, Sll(0x0800, Udp4)), .. Rec(5, 0, Sll2(0x86DD, Udp6)), .. Rec(6, 0, Null(2, false, Udp4)), .. Rec(7, 0, Null(30, true, Udp6)),
            .. Rec(8, 0, [0xFF, 0x03, .. Ppp(0x0021), .. Udp4]), .. Rec(11, 0, [0x0F, 0, 0x08, 0, .. Udp4]), .. Rec(14, 0, Udp4)]);
        yield return ("truncated", [.. Rec(0, 1, Ethernet(0x0800, Udp4)[..30]), .. Rec(1, 0, IPv4(17, Udp(1, 2, Ping, lengthField: 900)))]);
    }

    private static IEnumerable<(string, byte[])> RangeFiles()
    {
        static byte[] T(string s) => Encoding.UTF8.GetBytes(s);
        yield return ("iptoasn", T("1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n2001:db8::\t2001:db8::ffff\t64496\tZZ\t\"odd name\n"));
        yield return ("iptoasn-u32", T("16777216\t16777471\t13335\tUS\tCLOUDFLARENET\n16777472\t16778239\t0\tNone\tNot routed\n"));
        yield return ("ipinfo-lite", T("network,country,country_code,continent,continent_code,asn,as_name,as_domain\n1.0.0.0/24,Australia,AU,Oceania,OC,AS13335,\"Cloudflare, Inc.\",cloudflare.com\n2a02:6b8::/29,Russia,RU,Europe,EU,AS13238,YANDEX LLC,yandex.ru\n"));
        yield return ("geolite2", T("network,autonomous_system_number,autonomous_system_organization\n1.0.0.0/24,13335,CLOUDFLARENET\n::ffff:1.0.4.0/118,38803,\"Wirefreebroadband \"\"Pty\"\" LTD\"\n"));
        yield return ("ipl-asn", T("1.0.0.0,1.0.0.255,13335,Cloudflare\n2001:200::,2001:200:ffff:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project\n"));
        yield return ("ipl-country", T("\uFEFF1.0.0.0,1.0.0.255,AU\r\n1.0.1.0,1.0.3.255,CN\r\n"));
        yield return ("ipl-asn-gz", GzipBytes(T("1.0.0.0,1.0.0.255,13335,Cloudflare\n")));
        yield return ("mmdb-asn", new TestMmdbWriter("GeoLite2-ASN")
            .Add("1.0.0.0/24", new() { ["autonomous_system_number"] = 13335u, ["autonomous_system_organization"] = "CLOUDFLARENET" })
            .Add("2a02:6b8::/29", new() { ["autonomous_system_number"] = 13238u, ["autonomous_system_organization"] = "YANDEX LLC" })
            .Build(new DateTimeOffset(2026, 5, 1, 0, 0, 0, TimeSpan.Zero)));
        yield return ("mmdb-ipinfo", new TestMmdbWriter("ipinfo lite")
            .Add("1.0.0.0/24", new() { ["asn"] = "AS13335", ["as_name"] = "Cloudflare, Inc.", ["country_code"] = "AU" })
            .Add("95.24.0.0/13", new() { ["country"] = new Dictionary<string, object> { ["iso_code"] = "RU" } })
            .Build(DateTimeOffset.UnixEpoch.AddDays(20000)));
    }
}
