using PcapDht.Bencode.Simd;
using PcapDht.Krpc;
using PcapDht.Tests.Bencode;
using static PcapDht.Tests.Bencode.Benc;

namespace PcapDht.Tests.Krpc;

/// <summary>Seeded random messages: encode, decode, same fields; every SIMD variant equals scalar.</summary>
public class KrpcPropertyTests
{
    private static readonly string[] Methods = ["ping", "find_node", "get_peers", "announce_peer", "get", "put", "sample_infohashes", "vote"];

    private sealed class Model
    {
        public char Y;
        public byte[] T = [];
        public string? Q;
        public byte[]? V, Ip;
        public long? Ro;
        public readonly Dictionary<string, byte[]> Strings = [];
        public readonly Dictionary<string, long> Integers = [];
        public List<byte[]>? Values;
        public List<string>? Want;
        public long? ErrorCode;
        public byte[]? ErrorMessage;
        public bool Unknown, Shuffled;
    }

    private static byte[] RandomBytes(Random r, int length)
    {
        byte[] b = new byte[length];
        r.NextBytes(b);
        return b;
    }

    private static int PickLength(Random r, int record) => r.Next(5) switch
    {
        0 => r.Next(0, 3 * record),
        _ => record * r.Next(0, 9),
    };

    private static (Model, byte[]) Generate(Random r)
    {
        var m = new Model { Y = "qre"[r.Next(3)], T = RandomBytes(r, r.Next(0, 9)) };
        var top = new List<(string, object)> { ("t", m.T), ("y", m.Y.ToString()) };
        if (r.Next(2) == 0) { m.V = RandomBytes(r, 4); top.Add(("v", m.V)); }
        if (r.Next(4) == 0) { m.Ip = RandomBytes(r, r.Next(2) == 0 ? 6 : 18); top.Add(("ip", m.Ip)); }
        if (r.Next(4) == 0) { m.Ro = r.Next(2); top.Add(("ro", m.Ro.Value)); }
        if (r.Next(6) == 0) { m.Unknown = true; top.Add(("zz" + r.Next(100), new object[] { r.Next(), "x" })); }
        if (m.Y == 'e')
        {
            m.ErrorCode = r.Next(200, 210);
            m.ErrorMessage = RandomBytes(r, r.Next(0, 30));
            top.Add(("e", new object[] { m.ErrorCode.Value, m.ErrorMessage }));
        }
        else
        {
            if (m.Y == 'q')
            {
                m.Q = Methods[r.Next(Methods.Length)];
                top.Add(("q", m.Q));
            }
            var inner = new List<(string, object)>();
            void Str(string key, int length)
            {
                if (r.Next(3) == 0)
                    return;
                byte[] value = RandomBytes(r, length);
                m.Strings[key] = value;
                inner.Add((key, value));
            }
            void Int(string key, long min, long max)
            {
                if (r.Next(3) == 0)
                    return;
                long value = r.NextInt64(min, max);
                m.Integers[key] = value;
                inner.Add((key, value));
            }
            Str("id", r.Next(8) == 0 ? 19 : 20);
            Str("target", 20);
            Str("info_hash", 20);
            Str("token", r.Next(0, 20));
            Str("nodes", PickLength(r, 26));
            Str("nodes6", PickLength(r, 38));
            Str("samples", PickLength(r, 20));
            Str("BFsd", 256);
            Str("BFpe", 256);
            Str("k", 32);
            Str("sig", 64);
            Str("salt", r.Next(0, 64));
            Int("port", 0, r.Next(10) == 0 ? 100_000 : 65_536);
            Int("implied_port", 0, 2);
            Int("scrape", 0, 2);
            Int("noseed", 0, 2);
            Int("num", 0, 1_000_000);
            Int("interval", 0, 21_600);
            Int("seq", long.MinValue / 2, long.MaxValue);
            Int("cas", 0, long.MaxValue);
            if (r.Next(3) == 0)
            {
                m.Values = [];
                int n = r.Next(0, 10);
                for (int i = 0; i < n; i++)
                    m.Values.Add(RandomBytes(r, r.Next(8) == 0 ? r.Next(0, 30) : r.Next(2) == 0 ? 6 : 18));
                inner.Add(("values", m.Values.Cast<object>().ToArray()));
            }
            if (r.Next(4) == 0)
            {
                m.Want = r.Next(3) switch { 0 => ["n4"], 1 => ["n6"], _ => ["n4", "n6", "n8"] };
                inner.Add(("want", m.Want.Cast<object>().ToArray()));
            }
            if (r.Next(6) == 0)
            {
                m.Unknown = true;
                inner.Add(("unknown" + r.Next(10), new Dict(("x", 1))));
            }
            inner.Sort((x, y) => string.CompareOrdinal(x.Item1, y.Item1));
            top.Add((m.Y == 'q' ? "a" : "r", new Dict([.. inner])));
        }
        top.Sort((x, y) => string.CompareOrdinal(x.Item1, y.Item1));
        if (r.Next(10) == 0)
        {
            var shuffled = top.OrderBy(_ => r.Next()).ToList();
            m.Shuffled = !shuffled.Select(e => e.Item1).SequenceEqual(top.Select(e => e.Item1));
            top = shuffled;
        }
        return (m, Encode(new Dict([.. top])));
    }

    private static KrpcFlags ExpectedFlags(Model m)
    {
        var flags = KrpcFlags.None;
        if (m.Shuffled) flags |= KrpcFlags.UnsortedKeys;
        if (m.Unknown) flags |= KrpcFlags.UnknownKeys;
        if (m.Strings.TryGetValue("id", out var id) && id.Length != 20) flags |= KrpcFlags.IdNot20Bytes;
        if (m.Strings.TryGetValue("nodes", out var n) && n.Length % 26 != 0) flags |= KrpcFlags.NodesTrailingBytes;
        if (m.Strings.TryGetValue("nodes6", out var n6) && n6.Length % 38 != 0) flags |= KrpcFlags.Nodes6TrailingBytes;
        if (m.Strings.TryGetValue("samples", out var s) && s.Length % 20 != 0) flags |= KrpcFlags.SamplesTrailingBytes;
        if (m.Values != null && m.Values.Any(v => v.Length is not (6 or 18))) flags |= KrpcFlags.ValuesOddEntry;
        if (m.Integers.TryGetValue("port", out long port) && port > 65535) flags |= KrpcFlags.PortOutOfRange;
        return flags;
    }

    private static void AssertField(Model m, string key, ReadOnlySpan<byte> actual) =>
        Assert.Equal(m.Strings.TryGetValue(key, out var expected) ? Convert.ToHexString(expected) : "", Convert.ToHexString(actual));

    private static long IntOr(Model m, string key, long absent) => m.Integers.TryGetValue(key, out long v) ? v : absent;

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Decode_RandomEncodedMessages_RoundTripEveryField(SimdVariant variant)
    {
        var random = new Random(20261130);
        for (int i = 0; i < 2000; i++)
        {
            var (model, payload) = Generate(random);
            Assert.Equal(KrpcDecodeResult.Message, KrpcDecoder.Decode(payload, variant, out var m, out var error));
            Assert.Equal(KrpcErrorReason.None, error.Reason);
            Assert.Equal((byte)model.Y, (byte)m.Kind);
            Assert.Equal(Convert.ToHexString(model.T), Convert.ToHexString(m.TransactionId));
            Assert.Equal(model.Q ?? "", Text(m.MethodName));
            Assert.Equal(model.Q == null ? KrpcMethod.None : KrpcDecoder.ParseMethod(Bytes(model.Q)), m.Method);
            Assert.Equal(Convert.ToHexString(model.V ?? []), Convert.ToHexString(m.Version));
            Assert.Equal(Convert.ToHexString(model.Ip ?? []), Convert.ToHexString(m.ExternalIp));
            Assert.Equal(model.Ro == 1, m.ReadOnly);
            AssertField(model, "id", m.NodeId);
            AssertField(model, "target", m.Target);
            AssertField(model, "info_hash", m.InfoHash);
            AssertField(model, "token", m.Token);
            AssertField(model, "nodes", m.Nodes);
            AssertField(model, "nodes6", m.Nodes6);
            AssertField(model, "samples", m.Samples);
            AssertField(model, "BFsd", m.BFsd);
            AssertField(model, "BFpe", m.BFpe);
            AssertField(model, "k", m.Key);
            AssertField(model, "sig", m.Signature);
            AssertField(model, "salt", m.Salt);
            long port = IntOr(model, "port", -1);
            Assert.Equal(port > 65535 ? -1 : port, m.Port);
            Assert.Equal(IntOr(model, "implied_port", -1), m.ImpliedPort);
            Assert.Equal(IntOr(model, "scrape", 0) == 1, m.Scrape);
            Assert.Equal(IntOr(model, "noseed", 0) == 1, m.NoSeed);
            Assert.Equal(IntOr(model, "num", -1), m.Num);
            Assert.Equal(IntOr(model, "interval", -1), m.Interval);
            Assert.Equal(IntOr(model, "seq", -1), m.Seq);
            Assert.Equal(IntOr(model, "cas", -1), m.Cas);
            Assert.Equal(model.ErrorCode ?? -1, m.ErrorCode);
            Assert.Equal(Convert.ToHexString(model.ErrorMessage ?? []), Convert.ToHexString(m.ErrorMessage));
            Assert.Equal(model.Want == null ? 0 : (model.Want.Contains("n4") ? 1 : 0) | (model.Want.Contains("n6") ? 2 : 0), m.Want);
            Assert.Equal(ExpectedFlags(model), m.Flags);

            Assert.Equal(model.Values?.Count ?? 0, m.ValuesCount);
            var peers = new List<string>();
            foreach (var p in CompactLists.Values(m.Values))
                peers.Add($"{p.Address}/{p.Port}");
            var expectedPeers = new List<string>();
            foreach (var v in model.Values ?? [])
            {
                if (CompactLists.TryReadEndpoint(v, out var address, out ushort vp))
                    expectedPeers.Add($"{address}/{vp}");
            }
            Assert.Equal(expectedPeers, peers);

            int nodes = 0;
            foreach (var node in CompactLists.Nodes(m.Nodes))
            {
                Assert.True(node.Id.SequenceEqual(m.Nodes.Slice(nodes * 26, 20)));
                nodes++;
            }
            Assert.Equal(m.Nodes.Length / 26, nodes);
        }
    }

    [Fact]
    public void Decode_RandomMessagesAndTheirMutations_EveryVariantAgreesWithScalar()
    {
        var random = new Random(99);
        for (int i = 0; i < 3000; i++)
        {
            var (_, payload) = Generate(random);
            // Mutate some: flip a byte, cut, or duplicate a slice, to exercise error paths too.
            switch (random.Next(4))
            {
                case 0:
                    payload[random.Next(payload.Length)] = (byte)random.Next(256);
                    break;
                case 1:
                    payload = payload[..random.Next(payload.Length)];
                    break;
                case 2:
                    int at = random.Next(payload.Length);
                    payload = [.. payload[..at], .. payload[at..(at + random.Next(payload.Length - at))], .. payload[at..]];
                    break;
            }
            var expected = KrpcDecoder.Decode(payload, SimdVariant.Scalar, out var sm, out var se);
            string expectedSummary = Summary(expected, sm, se);
            foreach (var variant in SimdSelection.All)
            {
                var result = KrpcDecoder.Decode(payload, variant, out var vm, out var ve);
                Assert.Equal(expectedSummary, Summary(result, vm, ve));
            }
        }
    }

    private static string Summary(KrpcDecodeResult result, in KrpcMessage m, KrpcError e) =>
        $"{result} {e} {m.Kind} {m.Method} {m.Flags} {Convert.ToHexString(m.TransactionId)} {Convert.ToHexString(m.NodeId)} " +
        $"{m.Nodes.Length} {m.Nodes6.Length} {m.ValuesCount} {m.Port} {m.ErrorCode} {m.Seq} {m.Values.Length} {m.Value.Length}";
}
