using PcapDht.Live;

namespace PcapDht.Tests.Live;

public class DistinctCounterTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(5_000)]
    [InlineData(200_000)]
    public void Estimate_RandomKeysEachAddedThreeTimes_WithinThreePercent(int n)
    {
        var c = new DistinctCounter();
        var rng = new Random(42);
        var keys = new UInt128[n];
        for (int i = 0; i < n; i++) keys[i] = new UInt128((ulong)rng.NextInt64(), (ulong)rng.NextInt64());
        for (int rep = 0; rep < 3; rep++)
            foreach (var k in keys) c.Add(k);
        long e = c.Estimate();
        Assert.InRange(e, (long)Math.Floor(n * 0.97), (long)Math.Ceiling(n * 1.03));
    }

    [Fact]
    public void Estimate_SequentialKeys_NotFooledByStructure()
    {
        // Crafted ids (a counter in the low bytes) must spread as well as random ones.
        var c = new DistinctCounter();
        for (ulong i = 0; i < 100_000; i++) c.Add(new UInt128(0xABCDUL, i));
        Assert.InRange(c.Estimate(), 97_000, 103_000);
    }
}
