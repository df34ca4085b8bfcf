using PcapDht.Analysis;
using PcapDht.Krpc;
using PcapDht.Tests.Krpc;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// The "v" bytes each client sends, as its public source builds them (file and commit in docs/analysis.md,
/// "Clients"), and as real captures carry them.
/// </summary>
public class ClientVersionTests
{
    private static byte[] V(string code, byte hi, byte lo) => [(byte)code[0], (byte)code[1], hi, lo];

    public static TheoryData<byte[], string, string, string> Clients => new()
    {
        // libtorrent 2.0.8 as recorded in samples-pcap: {major, minor << 4 | tiny} (dht_tracker.cpp since 2020).
        { V("LT", 0x02, 0x08), "LT", "libtorrent", "2.0.8" },
        // libtorrent 1.2.15 in the same nibble form (RC_1_2 commit 224cc0e, February 2020).
        { V("LT", 0x01, 0x2f), "LT", "libtorrent", "1.2.15" },
        // libtorrent 1.1 and 0.16 with {LIBTORRENT_VERSION_MAJOR, LIBTORRENT_VERSION_MINOR} (node.cpp, 2011-2020).
        { V("LT", 0x01, 0x01), "LT", "libtorrent", "1.1" },
        { V("LT", 0x00, 0x10), "LT", "libtorrent", "0.16" },
        // qBittorrent and Deluge send libtorrent's bytes: qBittorrent 4.6 with libtorrent 2.0.9.
        { V("LT", 0x02, 0x09), "LT", "libtorrent", "2.0.9" },
        // rakshasa libtorrent (rTorrent), configure.ac PEER_VERSION: "lt\x10\x14" is 0.16.20, "lt\x0D\x80" 0.13.8.
        { V("lt", 0x10, 0x14), "lt", "libtorrent (rakshasa)", "0.16.20" },
        { V("lt", 0x0D, 0x80), "lt", "libtorrent (rakshasa)", "0.13.8" },
        // µTorrent / BitTorrent (libbtdht ClientID::from_compact: ver = b[2] << 8 | b[3]), a build number.
        { V("UT", 0xb5, 0x4a), "UT", "uTorrent", "build 46410" },
        // Transmission 1.70-2.10: the SVN revision (tr-dht.c, 2009-05-20), here r10000.
        { V("TR", 0x27, 0x10), "TR", "Transmission", "r10000" },
        // Transmission 2.11: {MAJOR_VERSION, MINOR_VERSION} (tr-dht.c, 2010-10-13); 2.12 removed "v".
        { V("TR", 0x02, 0x0b), "TR", "Transmission", "2.11" },
        // mldht >= 0.1: DHTConstants.setVersion(11), "// 0.1.1".
        { V("ml", 0x00, 0x0b), "ml", "mldht", "0.1.1" },
        // Vuze mlDHT plugin: "Az" + the plugin version's digits as a 16-bit number (MlDHTPlugin.java), 1.5.8 -> 158.
        { V("Az", 0x00, 0x9e), "Az", "Vuze mlDHT plugin", "1.5.8" },
        // mldht's default before the plugin set a version: the string "AZ00".
        { V("AZ", (byte)'0', (byte)'0'), "AZ", "Vuze mlDHT plugin", "(unset)" },
    };

    [Theory]
    [MemberData(nameof(Clients))]
    public void TryDecode_EachClientsEncoding_GivesItsNameAndVersion(byte[] v, string code, string client, string version)
    {
        Assert.True(ClientVersion.TryDecode(v, out var c, out var ver));
        Assert.Equal(code, c);
        Assert.Equal(client, ClientVersion.ClientName(c));
        Assert.Equal(version, ver);
    }

    [Fact]
    public void TryDecode_UnlistedCode_ShowsTheNumber()
    {
        Assert.True(ClientVersion.TryDecode(V("XY", 0x01, 0x02), out var c, out var ver));
        Assert.Null(ClientVersion.ClientName(c));
        Assert.Equal("258", ver);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'L', (byte)'T', 0x02 })]
    [InlineData(new byte[] { 0x00, (byte)'T', 0x02, 0x08 })]
    public void TryDecode_NotTwoLettersAndTwoBytes_IsRejected(byte[] v)
        => Assert.False(ClientVersion.TryDecode(v, out _, out _));

    /// <summary>Real µTorrent and libtorrent nodes in third-party captures (arkime bt-udp, nDPI).</summary>
    [CapturesTheory]
    [InlineData("arkime_bt-udp.pcap", "UT", "uTorrent", "build 29682")]
    [InlineData("arkime_bt-udp.pcap", "UT", "uTorrent", "build 30303")]
    [InlineData("nDPI_targusdataspeed_false_positives.pcap", "LT", "libtorrent", "1.2")]
    public void TryDecode_RealCaptures_GiveKnownClients(string capture, string code, string client, string version)
    {
        var found = new List<(string, string)>();
        foreach (var d in TestPcapReader.ReadUdp(ThirdPartyCaptures.PathOf(capture)))
        {
            if (KrpcDecoder.Decode(d.Payload, out var m, out _) == KrpcDecodeResult.Message &&
                ClientVersion.TryDecode(m.Version, out var c, out var ver)) found.Add((c, ver));
        }
        Assert.Contains((code, version), found);
        Assert.Equal(client, ClientVersion.ClientName(code));
    }
}
