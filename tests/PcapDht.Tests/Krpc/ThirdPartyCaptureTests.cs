using PcapDht.Bencode;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Tests.Bencode;

namespace PcapDht.Tests.Krpc;

/// <summary>The captures in ../shared/captures decode as their README says other tools decode them.</summary>
public class ThirdPartyCaptureTests
{
    private static List<TestDatagram> Load(string name) => TestPcapReader.ReadUdp(ThirdPartyCaptures.PathOf(name));

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes).ToLowerInvariant();

    [CapturesTheory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Suricata_SixteenPackets_FifteenMessagesAndOneMalformed(SimdVariant variant)
    {
        var datagrams = Load("suricata-verify_bittorrent-dht_input.pcap");
        Assert.Equal(16, datagrams.Count);
        var kinds = new List<string>();
        foreach (var d in datagrams)
        {
            var result = KrpcDecoder.Decode(d.Payload, variant, out var m, out var error);
            if (d.FrameNumber == 15)
            {
                Assert.Equal(KrpcDecodeResult.Malformed, result);
                Assert.Equal(KrpcErrorReason.MissingTransactionId, error.Reason);
                Assert.Equal(d.Payload.Length - 1, error.Offset);
                kinds.Add("malformed");
                continue;
            }
            Assert.Equal(KrpcDecodeResult.Message, result);
            Assert.Equal("aa", Benc.Text(m.TransactionId));
            kinds.Add($"{(char)m.Kind}:{m.Method}");
        }
        Assert.Equal(
        [
            "q:Ping", "r:None", "q:Ping", "e:None", "q:FindNode", "r:None", "q:GetPeers", "r:None",
            "q:GetPeers", "r:None", "q:AnnouncePeer", "r:None", "q:AnnouncePeer", "r:None", "malformed", "e:None",
        ], kinds);
    }

    [CapturesTheory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Suricata_FieldsOfEachMessage(SimdVariant variant)
    {
        var d = Load("suricata-verify_bittorrent-dht_input.pcap");

        KrpcDecoder.Decode(d[0].Payload, variant, out var ping, out _);
        Assert.Equal("abcdefghij0123456789", Benc.Text(ping.NodeId));
        Assert.Equal(KrpcFlags.None, ping.Flags);

        KrpcDecoder.Decode(d[3].Payload, variant, out var error201, out _);
        Assert.Equal(KrpcKind.Error, error201.Kind);
        Assert.Equal(201, error201.ErrorCode);
        Assert.Equal("A Generic Error Ocurred", Benc.Text(error201.ErrorMessage));
        KrpcDecoder.Decode(d[15].Payload, variant, out var error203, out _);
        Assert.Equal(203, error203.ErrorCode);
        Assert.Equal("Malformed Packet", Benc.Text(error203.ErrorMessage));

        KrpcDecoder.Decode(d[4].Payload, variant, out var findNode, out _);
        Assert.Equal("mnopqrstuvwxyz123456", Benc.Text(findNode.Target));
        Assert.Equal("UT01", Benc.Text(findNode.Version));

        foreach (int index in new[] { 5, 9 })
        {
            KrpcDecoder.Decode(d[index].Payload, variant, out var nodes, out _);
            Assert.Equal(9, nodes.Nodes.Length);
            Assert.True(nodes.Flags.HasFlag(KrpcFlags.NodesTrailingBytes));
            Assert.Equal(0, CompactLists.Nodes(nodes.Nodes).Count);
        }
        KrpcDecoder.Decode(d[9].Payload, variant, out var withToken, out _);
        Assert.Equal("aoeusnth", Benc.Text(withToken.Token));

        KrpcDecoder.Decode(d[7].Payload, variant, out var values, out _);
        Assert.Equal("aoeusnth", Benc.Text(values.Token));
        Assert.Equal(2, values.ValuesCount);
        var peers = new List<string>();
        foreach (var peer in CompactLists.Values(values.Values))
            peers.Add($"{peer.Address}:{peer.Port}");
        Assert.Equal(["97.120.106.101:11893", "105.100.104.116:28269"], peers);

        KrpcDecoder.Decode(d[10].Payload, variant, out var announce, out _);
        Assert.Equal(6881, announce.Port);
        Assert.Equal(-1, announce.ImpliedPort);
        Assert.Equal("mnopqrstuvwxyz123456", Benc.Text(announce.InfoHash));
        Assert.Equal("aoeusnth", Benc.Text(announce.Token));
        KrpcDecoder.Decode(d[12].Payload, variant, out var implied, out _);
        Assert.Equal(1, implied.ImpliedPort);
        Assert.Equal(6881, implied.Port);
    }

    [CapturesTheory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Arkime_ResponseStartingWithQ_IsValid(SimdVariant variant)
    {
        var d = Load("arkime_bt-udp.pcap");
        Assert.Equal(3, d.Count);

        Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(d[0].Payload, variant, out var query, out _));
        Assert.Equal((KrpcKind.Query, KrpcMethod.FindNode), (query.Kind, query.Method));
        Assert.Equal("76fd8227", Hex(query.TransactionId));
        Assert.Equal("555473f2", Hex(query.Version));

        Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(d[1].Payload, variant, out var response, out _));
        Assert.Equal(KrpcKind.Response, response.Kind);
        Assert.Equal(8, CompactLists.Nodes(response.Nodes).Count);
        Assert.Equal("40ec803e", Hex(response.ExternalIp));
        Assert.True(response.Flags.HasFlag(KrpcFlags.ResponseIpInR));

        Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(d[2].Payload, variant, out var third, out var error));
        Assert.Equal(KrpcErrorReason.None, error.Reason);
        Assert.Equal(KrpcKind.Response, third.Kind);
        Assert.Equal(KrpcMethod.FindNode, third.Method);
        Assert.Equal("cdc65548", Hex(third.TransactionId));
        Assert.Equal("490185250d558c60740521d22f6fae2e3f048f5b", Hex(third.NodeId));
        // "nodes\0v" is not "nodes": skipped as unknown, not read as a node list.
        Assert.True(third.Nodes.IsEmpty);
        Assert.True(third.Flags.HasFlag(KrpcFlags.UnknownKeys));
        Assert.True(third.Flags.HasFlag(KrpcFlags.ResponseIpInR));
    }

    [CapturesTheory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Ndpi_FourMessagesSixteenNodes(SimdVariant variant)
    {
        var d = Load("nDPI_targusdataspeed_false_positives.pcap");
        Assert.Equal(4, d.Count);
        int nodes = 0;
        foreach (var datagram in d)
        {
            Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(datagram.Payload, variant, out var m, out _));
            Assert.Equal(8, m.TransactionId.Length);
            foreach (var node in CompactLists.Nodes(m.Nodes))
            {
                Assert.Equal(20, node.Id.Length);
                Assert.True(node.Address.IsV4);
                nodes++;
            }
        }
        Assert.Equal(16, nodes);

        KrpcDecoder.Decode(d[3].Payload, variant, out var last, out _);
        Assert.True(CompactLists.TryReadEndpoint(last.ExternalIp, out var ip, out ushort port));
        Assert.Equal("93.47.225.248:46645", $"{ip}:{port}");
        Assert.Equal(46645, last.LtPort);
        Assert.Equal("4c540102", Hex(last.Version));
        Assert.False(last.Flags.HasFlag(KrpcFlags.ResponseIpInR));

        var first = new List<string>();
        foreach (var node in CompactLists.Nodes(last.Nodes))
            first.Add($"{Hex(node.Id)}@{node.Address}:{node.Port}");
        Assert.Equal("09e84d6727e43cf55ac0bb3091a2d7d5ba9077d7@192.131.44.89:65260", first[0]);
    }

    [CapturesTheory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void HappyShark_Ipv6Peer_Decoded(SimdVariant variant)
    {
        var d = Load("happy-shark_bt-dht_get_peers_response_with_ipv6_peer.pcapng");
        Assert.Single(d);
        Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(d[0].Payload, variant, out var m, out _));
        Assert.Equal("b7afd1ad108240de", Hex(m.TransactionId));
        var peers = new List<string>();
        foreach (var peer in CompactLists.Values(m.Values))
            peers.Add($"[{peer.Address}]:{peer.Port}");
        Assert.Equal(["[::1]:7881"], peers);
    }

    [CapturesTheory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void HappyShark_StrangeValueLengthWithoutT_IsMalformed(SimdVariant variant)
    {
        var d = Load("happy-shark_bt-dht_get_peers_reply_with_strange_value_length.pcapng");
        Assert.Single(d);
        Assert.Equal(KrpcDecodeResult.Malformed, KrpcDecoder.Decode(d[0].Payload, variant, out _, out var error));
        Assert.Equal(KrpcErrorReason.MissingTransactionId, error.Reason);
        Assert.Equal(d[0].Payload.Length - 1, error.Offset);
    }

    [CapturesFact]
    public void AllCaptures_EveryStrictPrefixOfEveryPayload_IsNeverAMessage()
    {
        foreach (string file in Directory.EnumerateFiles(ThirdPartyCaptures.Directory!, "*.pcap*"))
        {
            foreach (var d in TestPcapReader.ReadUdp(file))
            {
                foreach (var variant in SimdSelection.All)
                {
                    for (int length = 0; length < d.Payload.Length; length++)
                    {
                        var result = KrpcDecoder.Decode(d.Payload.AsSpan(0, length), variant, out _, out var error);
                        Assert.NotEqual(KrpcDecodeResult.Message, result);
                        if (result == KrpcDecodeResult.Malformed)
                            Assert.InRange(error.Offset, 0, length);
                        // Past the first key every KRPC prefix is recognized as KRPC, never dropped.
                        if (length > 4)
                            Assert.Equal(KrpcDecodeResult.Malformed, result);
                    }
                }
            }
        }
    }
}
