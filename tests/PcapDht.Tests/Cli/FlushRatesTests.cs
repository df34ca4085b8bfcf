using PcapDht.Cli.Rendering;

namespace PcapDht.Tests.Cli;

public class FlushRatesTests
{
    [Fact]
    public void Rates_ShareTheFlushInterval_SoKrpcNeverOutrunsPackets()
    {
        // 1,000 packets a second for 10 s, every one a KRPC message, committed by flushes every 5 s;
        // then the traffic stops and one more flush lands.
        var rates = new FlushRates();
        long frames = 0, krpc = 0, flushes = 0;
        for (int second = 1; second <= 12; second++)
        {
            if (second <= 10) frames += 1_000;
            if (second % 5 == 0 || second == 12)
            {
                krpc = frames;
                flushes++;
            }
            rates.Observe(second, frames, krpc, flushes);
            if (rates.KrpcPerSecond is { } k) Assert.True(k <= rates.PacketsPerSecond + 1e-9, $"second {second}: {k} KRPC/s beside {rates.PacketsPerSecond} pkt/s");
            if (second < 5)
            {
                Assert.Null(rates.KrpcPerSecond);
                Assert.Equal(1_000, rates.PacketsPerSecond, 6);
            }
            if (second is 5 or 10)
            {
                Assert.Equal(1_000, rates.PacketsPerSecond, 6);
                Assert.Equal(1_000, rates.KrpcPerSecond!.Value, 6);
            }
            if (second == 11)
            {
                // No flush since second 10: still the last interval's rates, not "0 pkt/s beside 1,000 KRPC/s".
                Assert.Equal(1_000, rates.PacketsPerSecond, 6);
            }
        }
        Assert.Equal(0, rates.PacketsPerSecond, 6);
        Assert.Equal(0, rates.KrpcPerSecond!.Value, 6);
    }
}
