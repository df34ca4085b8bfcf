using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Pipeline;

namespace PcapDht.Tests.Pipeline;

public class TransactionMatcherTests
{
    private static readonly IpAddr A = IpAddr.Parse("10.0.0.1"), B = IpAddr.Parse("2001:db8::1"), C = IpAddr.Parse("10.0.0.2");
    private static readonly UInt128 HashHi = ((UInt128)0x0102030405060708UL << 64) | 0x090a0b0c0d0e0f10UL;

    private static UdpDatagram D(long ts, IpAddr src, ushort sport, IpAddr dst, ushort dport) => new(1, ts, src, sport, dst, dport, default);

    [Fact]
    public void TryMatch_ResponseFromQueriedNode_ReturnsQueryMethodTimeAndInfoHashOnce()
    {
        var m = new TransactionMatcher();
        m.AddQuery(0xaa01, 2, D(1000, A, 6881, B, 51413), KrpcMethod.GetPeers, null, true, HashHi, 0x11223344);

        Assert.True(m.TryMatch(0xaa01, 2, D(5000, B, 51413, A, 6881), out var match));
        Assert.Equal(KrpcMethod.GetPeers, match.Method);
        Assert.Equal(1000, match.QueryTimestampNs);
        Assert.True(match.HasInfoHash);
        Assert.Equal(HashHi, match.InfoHashHi);
        Assert.Equal(0x11223344u, match.InfoHashLo);
        Assert.Null(match.OtherName);
        // A query is answered once: a duplicate response finds nothing.
        Assert.False(m.TryMatch(0xaa01, 2, D(6000, B, 51413, A, 6881), out _));
    }

    [Theory]
    [InlineData(0xaa02UL, 2, "2001:db8::1", 51413, "10.0.0.1", 6881)] // other t
    [InlineData(0xaa01UL, 3, "2001:db8::1", 51413, "10.0.0.1", 6881)] // same value, other length (t = 00 aa 01)
    [InlineData(0xaa01UL, 2, "10.0.0.2", 51413, "10.0.0.1", 6881)]    // other responder
    [InlineData(0xaa01UL, 2, "2001:db8::1", 51414, "10.0.0.1", 6881)] // other responder port
    [InlineData(0xaa01UL, 2, "2001:db8::1", 51413, "10.0.0.2", 6881)] // sent to another querier
    [InlineData(0xaa01UL, 2, "2001:db8::1", 51413, "10.0.0.1", 6882)] // other querier port
    [InlineData(0xaa01UL, 2, "10.0.0.1", 6881, "2001:db8::1", 51413)] // the query's own direction
    public void TryMatch_AnyKeyPartDiffers_DoesNotMatch(ulong tx, byte txLen, string src, ushort sport, string dst, ushort dport)
    {
        var m = new TransactionMatcher();
        m.AddQuery(0xaa01, 2, D(1000, A, 6881, B, 51413), KrpcMethod.Ping, null, false, 0, 0);

        Assert.False(m.TryMatch(tx, txLen, D(2000, IpAddr.Parse(src), sport, IpAddr.Parse(dst), dport), out _));
        Assert.True(m.TryMatch(0xaa01, 2, D(3000, B, 51413, A, 6881), out var match));
        Assert.Equal(KrpcMethod.Ping, match.Method);
    }

    [Fact]
    public void AddQuery_SameKeyAgain_NewerQueryReplacesOlder()
    {
        var m = new TransactionMatcher();
        m.AddQuery(7, 1, D(1000, A, 1, B, 2), KrpcMethod.Other, "vote", false, 0, 0);
        m.AddQuery(7, 1, D(2000, A, 1, B, 2), KrpcMethod.FindNode, null, false, 0, 0);

        Assert.True(m.TryMatch(7, 1, D(2500, B, 2, A, 1), out var match));
        Assert.Equal(KrpcMethod.FindNode, match.Method);
        Assert.Equal(2000, match.QueryTimestampNs);
        Assert.Null(match.OtherName);
        Assert.False(m.TryMatch(7, 1, D(2600, B, 2, A, 1), out _));
        Assert.Equal(0, m.Evicted);
    }

    [Fact]
    public void TryMatch_OtherMethod_ReturnsItsName()
    {
        var m = new TransactionMatcher();
        m.AddQuery(9, 2, D(1000, A, 1, B, 2), KrpcMethod.Other, "vote", false, 0, 0);
        m.AddQuery(10, 2, D(1000, A, 1, B, 2), KrpcMethod.Ping, null, false, 0, 0);

        Assert.True(m.TryMatch(10, 2, D(1100, B, 2, A, 1), out var ping));
        Assert.Null(ping.OtherName);
        Assert.True(m.TryMatch(9, 2, D(1200, B, 2, A, 1), out var vote));
        Assert.Equal(KrpcMethod.Other, vote.Method);
        Assert.Equal("vote", vote.OtherName);
    }

    [Fact]
    public void AddQuery_FullBucket_ForgetsTheOldestPendingQuery()
    {
        // One bucket of 4 ways: the fifth pending query evicts the one with the oldest timestamp.
        var m = new TransactionMatcher(buckets: 1);
        long[] ts = [5000, 1000, 3000, 4000, 6000];
        for (int i = 0; i < ts.Length; i++)
            m.AddQuery((ulong)i, 1, D(ts[i], A, 1, B, 2), KrpcMethod.Ping, null, false, 0, 0);

        Assert.Equal(1, m.Evicted);
        Assert.False(m.TryMatch(1, 1, D(7000, B, 2, A, 1), out _));
        foreach (int i in new[] { 0, 2, 3, 4 })
        {
            Assert.True(m.TryMatch((ulong)i, 1, D(7000, B, 2, A, 1), out var match));
            Assert.Equal(ts[i], match.QueryTimestampNs);
        }
    }

    [Theory]
    [InlineData(1, 4000)]       // one bucket: constant eviction, compared with an exact model of it
    [InlineData(1 << 16, 400)]  // a real-sized table that never fills a bucket
    public void RandomTraffic_AgreesWithExactKeyModel(int buckets, int steps)
    {
        var rnd = new Random(1234 + buckets);
        var m = new TransactionMatcher(buckets);
        var model = new List<(ulong Tx, byte Len, IpAddr Q, ushort Qp, IpAddr R, ushort Rp, long Ts, KrpcMethod Method, string? Name, uint Lo)>();
        IpAddr[] hosts = [A, B, C];
        KrpcMethod[] methods = [KrpcMethod.Ping, KrpcMethod.GetPeers, KrpcMethod.Other, KrpcMethod.SampleInfohashes];
        long evicted = 0;
        for (int step = 0; step < steps; step++)
        {
            ulong tx = (ulong)rnd.Next(4);
            byte len = (byte)rnd.Next(1, 3);
            var x = hosts[rnd.Next(3)];
            var y = hosts[rnd.Next(3)];
            ushort xp = (ushort)rnd.Next(1, 3), yp = (ushort)rnd.Next(1, 3);
            long ts = step * 10L + rnd.Next(10);
            if (rnd.Next(2) == 0)
            {
                var method = methods[rnd.Next(methods.Length)];
                string? name = method == KrpcMethod.Other ? "m" + step : null;
                uint lo = (uint)step;
                m.AddQuery(tx, len, D(ts, x, xp, y, yp), method, name, method == KrpcMethod.GetPeers, HashHi, lo);
                int same = model.FindIndex(e => e.Tx == tx && e.Len == len && e.Q == x && e.Qp == xp && e.R == y && e.Rp == yp);
                if (same >= 0) model.RemoveAt(same);
                else if (buckets == 1 && model.Count == 4)
                {
                    int oldest = 0;
                    for (int i = 1; i < 4; i++) if (model[i].Ts < model[oldest].Ts) oldest = i;
                    model.RemoveAt(oldest);
                    evicted++;
                }
                model.Add((tx, len, x, xp, y, yp, ts, method, name, lo));
            }
            else
            {
                // A response from x to y answers a query y sent to x.
                bool got = m.TryMatch(tx, len, D(ts, x, xp, y, yp), out var match);
                int i = model.FindIndex(e => e.Tx == tx && e.Len == len && e.Q == y && e.Qp == yp && e.R == x && e.Rp == xp);
                Assert.Equal(i >= 0, got);
                if (i < 0) continue;
                var e = model[i];
                model.RemoveAt(i);
                Assert.Equal(e.Method, match.Method);
                Assert.Equal(e.Ts, match.QueryTimestampNs);
                Assert.Equal(e.Name, match.OtherName);
                Assert.Equal(e.Method == KrpcMethod.GetPeers, match.HasInfoHash);
                if (match.HasInfoHash) { Assert.Equal(HashHi, match.InfoHashHi); Assert.Equal(e.Lo, match.InfoHashLo); }
            }
        }
        Assert.Equal(evicted, m.Evicted);
    }
}
