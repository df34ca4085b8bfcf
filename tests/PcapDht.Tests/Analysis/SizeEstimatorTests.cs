using PcapDht.Analysis;

namespace PcapDht.Tests.Analysis;

public class SizeEstimatorTests
{
    /// <summary>The k-th smallest of N uniform distances, drawn exactly: the k-th point of a Poisson process scaled to N.</summary>
    private static double KthDistance(Random rng, double n)
    {
        double sum = 0;
        for (int i = 0; i < SizeEstimator.K; i++) sum += -Math.Log(1 - rng.NextDouble());
        return sum / n;
    }

    [Fact]
    public void MedianOfGamma_MatchesKnownValues()
    {
        Assert.Equal(Math.Log(2), SizeEstimator.MedianOfGamma(1), 9);  // the exponential's median
        Assert.Equal(7.669, SizeEstimator.MedianOfGamma(8), 3);         // Gamma(8, 1): k - 1/3 + 8/(405 k)
        Assert.Equal(0.5, SizeEstimator.GammaCdf(8, SizeEstimator.MedianOfGamma(8)), 9);
    }

    [Fact]
    public void PerLookup_IsUnbiased()
    {
        var rng = new Random(1);
        const double n = 2_000_000;
        double mean = Enumerable.Range(0, 40_000).Average(_ => SizeEstimator.PerLookup(KthDistance(rng, n)));
        Assert.InRange(mean / n, 0.98, 1.02);
    }

    [Theory]
    [InlineData(20)]
    [InlineData(60)]
    public void FromKthDistances_IntervalCoversTheTruthAbout95PercentOfTheTime(int lookups)
    {
        // 400 independent data sets of `lookups` lookups each: the nominal 95 % interval must cover N in
        // 91-99 % of them (binomial 95 % range for 400 trials at p = 0.95 is about 92.5-97 %).
        var rng = new Random(lookups);
        const double n = 5_000_000;
        int covered = 0;
        double sumLog = 0;
        for (int rep = 0; rep < 400; rep++)
        {
            var d = new double[lookups];
            for (int i = 0; i < lookups; i++) d[i] = KthDistance(rng, n);
            var est = SizeEstimator.FromKthDistances(d, seed: rep);
            if (est.Low <= n && n <= est.High) covered++;
            Assert.True(est.Low <= est.Estimate && est.Estimate <= est.High);
            sumLog += Math.Log(est.Estimate / n);
        }
        Assert.InRange(covered, 364, 396);
        Assert.InRange(Math.Exp(sumLog / 400), 0.97, 1.03); // no bias beyond the noise of 400 data sets
    }

    [Fact]
    public void FromKthDistances_SameDataSameInterval()
    {
        var rng = new Random(3);
        var d = Enumerable.Range(0, 50).Select(_ => KthDistance(rng, 1e6)).ToArray();
        Assert.Equal(SizeEstimator.FromKthDistances(d), SizeEstimator.FromKthDistances(d));
    }

    [Fact]
    public void Chapman_FormulaAndMinimumRecaptures()
    {
        Assert.Equal(101.0 * 81 / 21 - 1, SizeEstimator.Chapman(100, 80, 20), 9);
        Assert.Equal(50, SizeEstimator.Chapman(50, 50, 50), 9); // every id seen twice: the population is what was seen
        var few = SizeEstimator.Chapman([[1UL, 2, 3]], [[3UL, 4, 5]]);
        Assert.Null(few.Estimate);
        Assert.Equal((3L, 3L, 1L), (few.N1, few.N2, few.M));
    }

    [Fact]
    public void Chapman_OverRandomNeighbourhoods_CoversThePopulation()
    {
        // Lookups of random targets in a population of 4000: each brings the 8 nodes nearest its target
        // (8 consecutive ids on a ring), the clustered sampling report size feeds to Chapman.
        const int n = 4000;
        var rng = new Random(9);
        IReadOnlyList<ulong>[] Sample(int lookups) => Enumerable.Range(0, lookups)
            .Select(_ => { int start = rng.Next(n); return (IReadOnlyList<ulong>)Enumerable.Range(0, 8).Select(i => (ulong)((start + i) % n)).ToArray(); })
            .ToArray();
        var (est, n1, n2, m) = SizeEstimator.Chapman(Sample(150), Sample(150));
        Assert.NotNull(est);
        Assert.True(m >= 10, $"only {m} recaptures");
        Assert.InRange(n, est.Low, est.High);
        Assert.InRange(est.Estimate, 0.6 * n, 1.6 * n);
        Assert.True(n1 <= 1200 && n2 <= 1200);
    }
}
