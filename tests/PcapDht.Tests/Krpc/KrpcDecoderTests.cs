using PcapDht.Bencode;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;
using PcapDht.Tests.Bencode;
using static PcapDht.Tests.Bencode.Benc;

namespace PcapDht.Tests.Krpc;

public class KrpcDecoderTests
{
    private const string Id = "abcdefghij0123456789";
    private const string Hash = "mnopqrstuvwxyz123456";

    private static KrpcDecodeResult Decode(byte[] payload, SimdVariant variant, out KrpcMessage m, out KrpcError e) =>
        KrpcDecoder.Decode(payload, variant, out m, out e);

    private static byte[] Query(string method, Dict args, params (string, object)[] extra)
    {
        var entries = new List<(string, object)> { ("a", args) };
        entries.AddRange(extra);
        entries.Add(("q", method));
        entries.Add(("t", "tx"));
        entries.Add(("y", "q"));
        entries.Sort((x, y) => string.CompareOrdinal(x.Item1, y.Item1));
        return Encode(new Dict([.. entries]));
    }

    private static byte[] Response(Dict r, params (string, object)[] extra)
    {
        var entries = new List<(string, object)> { ("r", r), ("t", "tx"), ("y", "r") };
        entries.AddRange(extra);
        entries.Sort((x, y) => string.CompareOrdinal(x.Item1, y.Item1));
        return Encode(new Dict([.. entries]));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void DecodeInto_ReusedMessage_KeepsNothingFromThePreviousOne(SimdVariant v)
    {
        // The ingest loop decodes every packet into the same message: no field may survive from the last one.
        var announce = Query("announce_peer", new Dict(("id", Id), ("implied_port", 1), ("info_hash", Hash), ("port", 6881), ("token", "tok")), ("v", "LT20"));
        var reply = Response(new Dict(("id", Id), ("nodes", new string('n', 26)), ("token", "tok")));
        var ping = Query("ping", new Dict(("id", Hash)));
        KrpcMessage m = default;
        Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.DecodeInto(announce, v, ref m, out _));
        Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.DecodeInto(reply, v, ref m, out _));
        Assert.Equal((KrpcKind.Response, 26, -1, -1, 0, 0), (m.Kind, m.Nodes.Length, m.Port, m.ImpliedPort, m.InfoHash.Length, m.Version.Length));
        Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.DecodeInto(ping, v, ref m, out _));

        Decode(ping, v, out var fresh, out _);
        Assert.Equal((KrpcKind.Query, KrpcMethod.Ping, Hash, 0, 0, -1), (m.Kind, m.Method, Text(m.NodeId), m.Nodes.Length, m.Token.Length, m.Port));
        Assert.Equal((fresh.Kind, fresh.Method, fresh.Flags, fresh.Port, fresh.ImpliedPort, fresh.ValuesCount, fresh.Want),
            (m.Kind, m.Method, m.Flags, m.Port, m.ImpliedPort, m.ValuesCount, m.Want));

        Assert.Equal(KrpcDecodeResult.NotKrpc, KrpcDecoder.DecodeInto("\u0001garbage"u8, v, ref m, out _));
        Assert.Equal((0, 0), (m.NodeId.Length, m.TransactionId.Length));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_Bep5Queries_FillMethodAndArguments(SimdVariant v)
    {
        Assert.Equal(KrpcDecodeResult.Message, Decode(Query("ping", new Dict(("id", Id))), v, out var ping, out _));
        Assert.Equal((KrpcKind.Query, KrpcMethod.Ping, "ping", Id, "tx"), (ping.Kind, ping.Method, Text(ping.MethodName), Text(ping.NodeId), Text(ping.TransactionId)));
        Assert.Equal(KrpcFlags.None, ping.Flags);
        Assert.Equal((-1, -1, -1L, -1L, -1L, -1L, -1L), (ping.Port, ping.ImpliedPort, ping.Num, ping.Interval, ping.Seq, ping.Cas, ping.ErrorCode));

        Decode(Query("find_node", new Dict(("id", Id), ("target", Hash), ("want", new object[] { "n4", "n6" }))), v, out var find, out _);
        Assert.Equal((KrpcMethod.FindNode, Hash, (byte)3), (find.Method, Text(find.Target), find.Want));

        Decode(Query("get_peers", new Dict(("id", Id), ("info_hash", Hash), ("noseed", 1), ("scrape", 1), ("want", new object[] { "n6" }))), v, out var gp, out _);
        Assert.Equal((KrpcMethod.GetPeers, Hash, true, true, (byte)2), (gp.Method, Text(gp.InfoHash), gp.Scrape, gp.NoSeed, gp.Want));

        Decode(Query("announce_peer", new Dict(("id", Id), ("implied_port", 1), ("info_hash", Hash), ("port", 6881), ("token", "tok"))), v, out var ap, out _);
        Assert.Equal((KrpcMethod.AnnouncePeer, 1, 6881, "tok"), (ap.Method, ap.ImpliedPort, ap.Port, Text(ap.Token)));

        Decode(Query("sample_infohashes", new Dict(("id", Id), ("target", Hash))), v, out var si, out _);
        Assert.Equal(KrpcMethod.SampleInfohashes, si.Method);

        Decode(Query("vote", new Dict(("id", Id))), v, out var other, out _);
        Assert.Equal((KrpcMethod.Other, "vote"), (other.Method, Text(other.MethodName)));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_Bep44PutAndGet_FillsMutableItemFields(SimdVariant v)
    {
        string key = new('k', 32), sig = new('s', 64);
        var put = Query("put", new Dict(("cas", 7), ("id", Id), ("k", key), ("salt", "salty"), ("seq", 8), ("sig", sig), ("token", "tt"),
            ("v", new Dict(("x", new object[] { 1, "two" })))));
        Assert.Equal(KrpcDecodeResult.Message, Decode(put, v, out var m, out _));
        Assert.Equal((KrpcMethod.Put, key, sig, 8L, 7L, "salty"), (m.Method, Text(m.Key), Text(m.Signature), m.Seq, m.Cas, Text(m.Salt)));
        Assert.Equal("d1:xli1e3:twoee", Text(m.Value));

        var got = Response(new Dict(("id", Id), ("k", key), ("nodes", ""), ("seq", 9), ("sig", sig), ("token", "tt"), ("v", "12:not a list")));
        Decode(got, v, out var r, out _);
        // `v` is kept as the raw bencoded value, whatever its type.
        Assert.Equal((9L, "13:12:not a list"), (r.Seq, Text(r.Value)));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_Responses_FillNodesValuesSamplesAndExtensions(SimdVariant v)
    {
        byte[] node = Bytes(Id + "\x01\x02\x03\x04\x1a\xe1");
        byte[] node6 = Bytes(Id + "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01\x1a\xe1");
        byte[] bloom = new byte[256];
        var response = Response(new Dict(("BFpe", bloom), ("BFsd", bloom), ("id", Id), ("interval", 60), ("nodes", node.Concat(node).ToArray()),
            ("nodes6", node6), ("num", 1234), ("p", 51413), ("samples", Hash + Hash), ("token", "tk"),
            ("values", new object[] { "\x7f\0\0\x01\x1a\xe1", Bytes("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x1a\xe2") })),
            ("ip", "\x0a\0\0\x01\x1a\xe1"), ("ro", 1), ("v", "LT\x01\x02"));
        Assert.Equal(KrpcDecodeResult.Message, Decode(response, v, out var m, out var e));
        Assert.Equal(KrpcErrorReason.None, e.Reason);
        Assert.Equal((KrpcKind.Response, KrpcMethod.None, KrpcFlags.None), (m.Kind, m.Method, m.Flags));
        Assert.Equal((256, 256, 60L, 1234L, 51413, true, 2), (m.BFpe.Length, m.BFsd.Length, m.Interval, m.Num, m.LtPort, m.ReadOnly, m.ValuesCount));
        Assert.Equal("LT\x01\x02", Text(m.Version));
        Assert.Equal(6, m.ExternalIp.Length);

        var nodes = new List<string>();
        foreach (var (id, address, port) in CompactLists.Nodes(m.Nodes))
            nodes.Add($"{Text(id)} {address}:{port}");
        Assert.Equal([$"{Id} 1.2.3.4:6881", $"{Id} 1.2.3.4:6881"], nodes);
        var nodes6 = new List<string>();
        foreach (var n in CompactLists.Nodes6(m.Nodes6))
            nodes6.Add($"{Text(n.Id)} [{n.Address}]:{n.Port}");
        Assert.Equal([$"{Id} [2001:db8::1]:6881"], nodes6);
        var peers = new List<string>();
        foreach (var p in CompactLists.Values(m.Values))
            peers.Add($"{p.Address}:{p.Port}");
        Assert.Equal(["127.0.0.1:6881", "::1:6882"], peers);
        var samples = new List<string>();
        foreach (var s in CompactLists.Samples(m.Samples))
            samples.Add(Text(s));
        Assert.Equal([Hash, Hash], samples);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_ErrorMessage_FillsCodeAndText(SimdVariant v)
    {
        var error = Encode(new Dict(("e", new object[] { 204, "Method Unknown" }), ("t", "xy"), ("y", "e")));
        Assert.Equal(KrpcDecodeResult.Message, Decode(error, v, out var m, out _));
        Assert.Equal((KrpcKind.Error, 204L, "Method Unknown"), (m.Kind, m.ErrorCode, Text(m.ErrorMessage)));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_FlagsForOddListsAndIds(SimdVariant v)
    {
        var response = Response(new Dict(("id", "short"), ("nodes", new string('n', 27)), ("nodes6", new string('n', 39)),
            ("port", 70000), ("samples", new string('s', 21)), ("values", new object[] { "123456789012", "\x01\x02\x03\x04\x00\x50" })));
        Assert.Equal(KrpcDecodeResult.Message, Decode(response, v, out var m, out _));
        Assert.Equal(KrpcFlags.IdNot20Bytes | KrpcFlags.NodesTrailingBytes | KrpcFlags.Nodes6TrailingBytes | KrpcFlags.PortOutOfRange
            | KrpcFlags.SamplesTrailingBytes | KrpcFlags.ValuesOddEntry, m.Flags);
        Assert.Equal(-1, m.Port);
        Assert.Equal(70000L, m.RawPort);
        Assert.Equal(1, CompactLists.Nodes(m.Nodes).Count);
        Assert.Equal(1, CompactLists.Nodes6(m.Nodes6).Count);
        Assert.Equal(1, CompactLists.Samples(m.Samples).Count);
        var peers = new List<string>();
        foreach (var p in CompactLists.Values(m.Values))
            peers.Add($"{p.Address}:{p.Port}");
        Assert.Equal(["1.2.3.4:80"], peers);
        Assert.Equal(2, m.ValuesCount);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_LongMixedValuesList_CountsAndYieldsEveryPeer(SimdVariant v)
    {
        var entries = new List<object>();
        for (int i = 0; i < 150; i++)
            entries.Add(new byte[] { 10, 0, (byte)(i >> 8), (byte)i, 0x1a, 0xe1 });
        entries.Add(new byte[] { 0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 80 });
        for (int i = 0; i < 5; i++)
            entries.Add(new byte[] { 192, 0, 2, (byte)i, 0, 53 });
        entries.Add(new byte[12]);
        entries.Add(new byte[] { 198, 51, 100, 1, 0, 1 });
        var payload = Response(new Dict(("id", Id), ("token", "tk"), ("values", entries.ToArray())));
        Assert.Equal(KrpcDecodeResult.Message, Decode(payload, v, out var m, out _));
        Assert.Equal(158, m.ValuesCount);
        Assert.Equal(KrpcFlags.ValuesOddEntry, m.Flags);
        var peers = new List<string>();
        foreach (var p in CompactLists.Values(m.Values))
            peers.Add($"{p.Address}:{p.Port}");
        Assert.Equal(157, peers.Count);
        Assert.Equal("10.0.0.149:6881", peers[149]);
        Assert.Equal("2001:db8::9:80", peers[150]);
        Assert.Equal("192.0.2.4:53", peers[155]);
        Assert.Equal("198.51.100.1:1", peers[156]);

        // Cut inside the run of peers: the skip must leave the broken entry to the reader.
        var cut = payload[..(payload.Length / 2)];
        Assert.Equal(KrpcDecodeResult.Malformed, Decode(cut, v, out _, out var error));
        Assert.Equal(KrpcErrorReason.InvalidBencode, error.Reason);
        Assert.Equal(KrpcDecodeResult.Malformed, KrpcDecoder.Decode(cut, SimdVariant.Scalar, out _, out var scalarError));
        Assert.Equal(scalarError, error);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_UnsortedKeys_DecodedAndFlagged(SimdVariant v)
    {
        var unsorted = Encode(new Dict(("y", "q"), ("t", "tx"), ("q", "ping"), ("a", new Dict(("id", Id)))));
        Assert.Equal(KrpcDecodeResult.Message, Decode(unsorted, v, out var m, out _));
        Assert.Equal((KrpcMethod.Ping, Id, KrpcFlags.UnsortedKeys), (m.Method, Text(m.NodeId), m.Flags));

        var innerUnsorted = Query("get_peers", new Dict(("info_hash", Hash), ("id", Id)));
        Decode(innerUnsorted, v, out var inner, out _);
        Assert.Equal((KrpcFlags.UnsortedKeys, Id), (inner.Flags, Text(inner.NodeId)));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_DuplicateKeys_LastValueWinsAndFlagged(SimdVariant v)
    {
        var adjacent = Encode(new Dict(("a", new Dict(("id", Id))), ("q", "ping"), ("t", "first"), ("t", "second"), ("y", "q")));
        Assert.Equal(KrpcDecodeResult.Message, Decode(adjacent, v, out var m, out _));
        Assert.Equal(("second", KrpcFlags.DuplicateKeys), (Text(m.TransactionId), m.Flags));

        // Not adjacent (and so also unsorted): still caught for known keys.
        var apart = Query("ping", new Dict(("id", Id), ("port", 1), ("id", Hash)));
        Decode(apart, v, out var a, out _);
        Assert.Equal((Hash, KrpcFlags.DuplicateKeys | KrpcFlags.UnsortedKeys), (Text(a.NodeId), a.Flags));

        var unknownTwice = Query("ping", new Dict(("id", Id), ("zz", 1), ("zz", 2)));
        Decode(unknownTwice, v, out var u, out _);
        Assert.Equal(KrpcFlags.DuplicateKeys | KrpcFlags.UnknownKeys, u.Flags);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_UnknownKeysAnywhere_SkippedNotFatal(SimdVariant v)
    {
        var message = Encode(new Dict(("a", new Dict(("id", Id), ("zzz", new Dict(("deep", new object[] { new object[] { 1 } }))))),
            ("q", "ping"), ("t", "tx"), ("x-extension", new object[] { "a", 1 }), ("y", "q")));
        Assert.Equal(KrpcDecodeResult.Message, Decode(message, v, out var m, out _));
        Assert.Equal((Id, KrpcFlags.UnknownKeys), (Text(m.NodeId), m.Flags));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_IpInsideR_UsedWhenNoTopLevelIp(SimdVariant v)
    {
        Decode(Response(new Dict(("id", Id), ("ip", "\x01\x02\x03\x04\x00\x50"))), v, out var inner, out _);
        Assert.Equal(("\x01\x02\x03\x04\x00\x50", KrpcFlags.ResponseIpInR), (Text(inner.ExternalIp), inner.Flags));

        Decode(Response(new Dict(("id", Id), ("ip", "\x01\x02\x03\x04\x00\x50")), ("ip", "\x05\x06\x07\x08\x00\x51")), v, out var both, out _);
        Assert.Equal("\x05\x06\x07\x08\x00\x51", Text(both.ExternalIp));
    }

    public static TheoryData<string, KrpcErrorReason, BencodeErrorKind, int> MalformedTable => new()
    {
        // missing keys: at the closing 'e' of the dictionary
        { "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:y1:qe", KrpcErrorReason.MissingTransactionId, BencodeErrorKind.None, 48 },
        { "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aae", KrpcErrorReason.MissingType, BencodeErrorKind.None, 49 },
        { "d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe", KrpcErrorReason.MissingMethod, BencodeErrorKind.None, 46 },
        { "d1:q4:ping1:t2:aa1:y1:qe", KrpcErrorReason.MissingArguments, BencodeErrorKind.None, 23 },
        { "d1:t2:aa1:y1:re", KrpcErrorReason.MissingResponse, BencodeErrorKind.None, 14 },
        { "d1:t2:aa1:y1:ee", KrpcErrorReason.MissingError, BencodeErrorKind.None, 14 },
        { "d1:t2:aa1:y1:xe", KrpcErrorReason.InvalidType, BencodeErrorKind.None, 11 },
        { "d1:t2:aa1:y2:rre", KrpcErrorReason.InvalidType, BencodeErrorKind.None, 11 },
        // wrong types: at the offending value
        { "d1:ti1e1:y1:qe", KrpcErrorReason.WrongType, BencodeErrorKind.None, 4 },
        { "d1:t2:aa1:yi1ee", KrpcErrorReason.WrongType, BencodeErrorKind.None, 11 },
        { "d1:rl2:ide1:t2:aa1:y1:re", KrpcErrorReason.WrongType, BencodeErrorKind.None, 4 },
        { "d1:rd2:idi5ee1:t2:aa1:y1:re", KrpcErrorReason.WrongType, BencodeErrorKind.None, 9 },
        { "d1:rd4:port4:6881e1:t2:aa1:y1:re", KrpcErrorReason.WrongType, BencodeErrorKind.None, 11 },
        { "d1:rd6:values6:abcdefe1:t2:aa1:y1:re", KrpcErrorReason.WrongType, BencodeErrorKind.None, 13 },
        { "d1:rd6:valuesli1eee1:t2:aa1:y1:re", KrpcErrorReason.WrongType, BencodeErrorKind.None, 14 },
        { "d1:eli201ei202ee1:t2:aa1:y1:ee", KrpcErrorReason.InvalidErrorList, BencodeErrorKind.None, 10 },
        { "d1:el3:bad3:msge1:t2:aa1:y1:ee", KrpcErrorReason.InvalidErrorList, BencodeErrorKind.None, 5 },
        // issue 19 #9: one rule, BEP 5's: a missing code or message is malformed like a wrong-typed one
        { "d1:ele1:t2:aa1:y1:ee", KrpcErrorReason.InvalidErrorList, BencodeErrorKind.None, 5 },
        { "d1:eli201ee1:t2:aa1:y1:ee", KrpcErrorReason.InvalidErrorList, BencodeErrorKind.None, 10 },
        // bencode errors once the payload looks like KRPC
        { "d1:t2:aa1:y1:qe\n", KrpcErrorReason.InvalidBencode, BencodeErrorKind.TrailingBytes, 15 },
        { "d1:t2:aa1:y1:q", KrpcErrorReason.InvalidBencode, BencodeErrorKind.UnterminatedContainer, 14 },
        { "d1:t02:aa1:y1:qe", KrpcErrorReason.InvalidBencode, BencodeErrorKind.LeadingZero, 4 },
        { "d1:rd4:porti-0ee1:t2:aa1:y1:re", KrpcErrorReason.InvalidBencode, BencodeErrorKind.NegativeZero, 11 },
        { "d1:rd2:id99999999999999999999:e1:t2:aa1:y1:re", KrpcErrorReason.InvalidBencode, BencodeErrorKind.StringLengthOverflow, 9 },
        { "d1:rd2:id5:abc", KrpcErrorReason.InvalidBencode, BencodeErrorKind.StringPastEnd, 9 },
        { "d1:rdi1e2:ide1:t2:aa1:y1:re", KrpcErrorReason.InvalidBencode, BencodeErrorKind.NonStringKey, 5 },
        { "d1:ad2:idi12345678901234567890eee", KrpcErrorReason.InvalidBencode, BencodeErrorKind.IntegerOverflow, 9 },
        { "d3:foo3:bar1:t2:aa1:y1:qi1e", KrpcErrorReason.InvalidBencode, BencodeErrorKind.NonStringKey, 24 },
    };

    [Theory]
    [MemberData(nameof(MalformedTable))]
    public void Decode_MalformedKrpc_ReportsReasonAndOffset(string payload, KrpcErrorReason reason, BencodeErrorKind bencode, int offset)
    {
        foreach (var variant in SimdSelection.All)
        {
            var result = KrpcDecoder.Decode(Bytes(payload), variant, out _, out var error);
            Assert.Equal(KrpcDecodeResult.Malformed, result);
            Assert.Equal((reason, bencode, offset), (error.Reason, error.Bencode, error.Offset));
            Assert.Contains($"at byte {offset}", error.ToString());
        }
    }

    public static TheoryData<string, byte[]> NotKrpcTable => new()
    {
        { "empty", [] },
        // uTP (BEP 29) ST_SYN, version 1: type 4 << 4 | 1
        { "uTP SYN", [0x41, 0x00, 0x12, 0x34, 0x00, 0x01, 0x02, 0x03, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 1, 0, 0] },
        { "uTP DATA", [0x01, 0x00, 0x12, 0x35, 0x00, 0x01, 0x02, 0x03, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 2, 0, 1, 0x64, 0x31] },
        // DNS query for example.com whose id happens to start with 'd'
        { "DNS", [0x64, 0x31, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, (byte)'e', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 3, (byte)'c', (byte)'o', (byte)'m', 0, 0, 1, 0, 1] },
        // QUIC short header whose first byte is 0x64 ('d')
        { "QUIC short header", [0x64, 0x9a, 0x13, 0xee, 0x01, 0x77, 0x2f, 0x00, 0x42] },
        { "QUIC long header", [0xc3, 0, 0, 0, 1, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0] },
        { "bencoded torrent-like dictionary", Bytes("d8:announce3:url4:infod4:name1:xee") },
        { "bencoded list", Bytes("l1:t1:ye") },
        { "empty dictionary", Bytes("de") },
        { "truncated non-KRPC dictionary", Bytes("d8:announce3:u") },
        { "dictionary with a NUL key", Bytes("d1:\0i1ee") },
        { "text", Bytes("GET / HTTP/1.1\r\n\r\n") },
    };

    [Theory]
    [MemberData(nameof(NotKrpcTable))]
    public void Decode_OtherProtocols_AreNotKrpc(string what, byte[] payload)
    {
        foreach (var variant in SimdSelection.All)
            Assert.True(KrpcDecodeResult.NotKrpc == KrpcDecoder.Decode(payload, variant, out _, out _), what);
    }

    [Fact]
    public void Decode_RandomBinary_NeverAMessageAndVariantsAgree()
    {
        var random = new Random(7);
        int notKrpc = 0;
        for (int i = 0; i < 20_000; i++)
        {
            byte[] payload = new byte[random.Next(0, 200)];
            random.NextBytes(payload);
            if (i % 2 == 0 && payload.Length > 0)
                payload[0] = (byte)'d';
            var scalar = KrpcDecoder.Decode(payload, SimdVariant.Scalar, out _, out var scalarError);
            Assert.NotEqual(KrpcDecodeResult.Message, scalar);
            if (scalar == KrpcDecodeResult.NotKrpc)
                notKrpc++;
            foreach (var variant in SimdSelection.All)
            {
                Assert.Equal(scalar, KrpcDecoder.Decode(payload, variant, out _, out var error));
                Assert.Equal(scalarError, error);
            }
        }
        Assert.Equal(20_000, notKrpc);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_HostileInputs_RejectedCleanly(SimdVariant v)
    {
        byte[] nested = Bytes("d1:t2:aa1:y1:q1:a" + new string('l', 100_000));
        Assert.Equal(KrpcDecodeResult.Malformed, KrpcDecoder.Decode(nested, v, out _, out var e1));
        Assert.Equal((BencodeErrorKind.DepthLimit, 17 + BencodeReaderOptions.DefaultMaxDepth - 1), (e1.Bencode, e1.Offset));

        Assert.Equal(KrpcDecodeResult.Malformed, KrpcDecoder.Decode(Bytes("d1:t99999999999999999999:"), v, out _, out var e2));
        Assert.Equal((BencodeErrorKind.StringLengthOverflow, 4), (e2.Bencode, e2.Offset));

        Assert.Equal(KrpcDecodeResult.Malformed, KrpcDecoder.Decode(Bytes("d1:t4294967296:aa1:y1:qe"), v, out _, out var e3));
        Assert.Equal((BencodeErrorKind.StringLengthOverflow, 4), (e3.Bencode, e3.Offset));

        Assert.Equal(KrpcDecodeResult.Malformed, KrpcDecoder.Decode(Bytes("d1:rd4:porti99999999999999999999ee1:t2:aa1:y1:re"), v, out _, out var e4));
        Assert.Equal((BencodeErrorKind.IntegerOverflow, 11), (e4.Bencode, e4.Offset));

        Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(Bytes("d1:ad2:id20:abcdefghij01234567891:\0i0ee1:q4:ping1:t2:aa1:y1:qe"), v, out var nul, out _));
        Assert.Equal(KrpcFlags.UnknownKeys | KrpcFlags.UnsortedKeys, nul.Flags); // "\0" sorts before "id"
    }
}
