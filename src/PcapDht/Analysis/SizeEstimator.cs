namespace PcapDht.Analysis;

/// <summary>A population estimate with its 95 % interval (all NULL when the data cannot support one).</summary>
public sealed record Interval(double Estimate, double Low, double High);

/// <summary>
/// The statistics behind <c>report size</c>; docs/analysis.md derives every formula here.
/// <para>
/// XOR distance: for N node ids uniform in [0, 1) (fractions of 2^160) and any target chosen
/// independently of them, the distances id ⊕ target are N independent uniforms, so the k-th smallest,
/// d_(k), follows Beta(k, N−k+1) and N·d_(k) tends to Gamma(k, 1). d_(k) is a sufficient statistic for N
/// (the k−1 closer ids are uniform below it whatever N is): an estimator from the k closest ids can use
/// d_(k) alone. Per lookup (k−1)/d_(k) is unbiased; over lookups this uses the median of d_(k), whose
/// expectation is m_k / N with m_k the median of Gamma(k, 1) — robust to the few lookups a Sybil
/// cluster or a lost answer makes extreme — so N̂ = m_k / median(d_(k)), interval by bootstrap.
/// </para>
/// <para>
/// Mark–recapture: Chapman's (1951) form of the Lincoln–Petersen estimator for two samples, each made of
/// the k closest ids of lookups, with a bootstrap interval over lookups.
/// </para>
/// </summary>
public static class SizeEstimator
{
    /// <summary>The k of Mainline DHT's k-buckets (BEP 5) and of the k closest ids a lookup returns.</summary>
    public const int K = 8;

    /// <summary>Bootstrap resamples; the percentile interval's coverage is checked in the tests (docs/analysis.md).</summary>
    public const int Resamples = 2000;

    /// <summary>Fewer converged lookups than this give no estimate (the bootstrap of a median needs about 20).</summary>
    public const int MinimumLookups = 20;

    /// <summary>Fewer ids seen in both halves than this give no Chapman estimate (Robson and Regier 1964 ask for 7+).</summary>
    public const int MinimumRecaptures = 10;

    /// <summary>The median of Gamma(k, 1): P(k, x) = 1/2 with P(k, x) = 1 − e^−x Σ_{j&lt;k} x^j/j!.</summary>
    public static double MedianOfGamma(int k)
    {
        double lo = 0, hi = 4 * k + 10;
        for (int i = 0; i < 200; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (GammaCdf(k, mid) < 0.5) lo = mid; else hi = mid;
        }
        return 0.5 * (lo + hi);
    }

    /// <summary>Regularized lower incomplete gamma P(k, x) for integer k.</summary>
    public static double GammaCdf(int k, double x)
    {
        double term = 1, sum = 1;
        for (int j = 1; j < k; j++)
        {
            term *= x / j;
            sum += term;
        }
        return 1 - Math.Exp(-x) * sum;
    }

    private static readonly double MedianK = MedianOfGamma(K);

    /// <summary>The unbiased estimate of one lookup, (k−1)/d_(k).</summary>
    public static double PerLookup(double kthDistance) => (K - 1) / kthDistance;

    /// <summary>
    /// N̂ = m_k / median(d_(k)) with a 95 % percentile-bootstrap interval over lookups (fixed seed: the same
    /// data always prints the same interval). The bootstrap replicates of the median are drawn exactly and in
    /// O(1) each rather than by resampling n values: the j-th smallest of n draws from the data is
    /// x_(⌈n·U⌉) with U the j-th smallest of n uniforms, U ~ Beta(j, n−j+1) (for an even n the next one
    /// follows from it), so 2000 replicates cost the same for 20 lookups or 200 000.
    /// </summary>
    public static Interval FromKthDistances(IReadOnlyList<double> kthDistances, int seed = 14)
    {
        int n = kthDistances.Count;
        if (n == 0) throw new ArgumentException("no lookups", nameof(kthDistances));
        var x = kthDistances.ToArray();
        Array.Sort(x);
        double median = n % 2 == 1 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
        var rng = new Random(seed);
        var boot = new double[Resamples];
        int j = (n + 1) / 2; // 1-based rank of the (lower) middle value
        for (int b = 0; b < Resamples; b++)
        {
            double g = Gamma(rng, j);
            double u = g / (g + Gamma(rng, n - j + 1));
            double m = x[Rank(n, u)];
            if (n % 2 == 0)
            {
                // The next order statistic: the smallest of the n − j uniforms above u.
                double next = u + (1 - u) * (1 - Math.Pow(1 - rng.NextDouble(), 1.0 / (n - j)));
                m = 0.5 * (m + x[Rank(n, next)]);
            }
            boot[b] = MedianK / m;
        }
        Array.Sort(boot);
        return new Interval(MedianK / median, Percentile(boot, 0.025), Percentile(boot, 0.975));
    }

    /// <summary>The 0-based index of F_n⁻¹(u) for n equally weighted values: ⌈n·u⌉ − 1.</summary>
    private static int Rank(int n, double u) => Math.Clamp((int)Math.Ceiling(n * u) - 1, 0, n - 1);

    /// <summary>A Gamma(shape, 1) variate, shape ≥ 1 (Marsaglia and Tsang 2000).</summary>
    private static double Gamma(Random rng, double shape)
    {
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z, v;
            do
            {
                z = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                v = 1 + c * z;
            }
            while (v <= 0);
            v = v * v * v;
            double u = 1 - rng.NextDouble();
            if (u < 1 - 0.0331 * z * z * z * z || Math.Log(u) < 0.5 * z * z + d * (1 - v + Math.Log(v))) return d * v;
        }
    }

    /// <summary>Chapman's estimate from two samples: N̂ = (n1+1)(n2+1)/(m+1) − 1, m ids caught in both.</summary>
    public static double Chapman(long n1, long n2, long m) => (n1 + 1.0) * (n2 + 1.0) / (m + 1.0) - 1;

    /// <summary>
    /// Chapman over two samples made of clusters (the k closest ids of each lookup), with a 95 % interval
    /// by bootstrap over the clusters of each sample: ids of one lookup are caught together, so the
    /// textbook variance (which assumes independent captures) would be too narrow. Null when fewer than
    /// <see cref="MinimumRecaptures"/> ids are in both samples.
    /// </summary>
    public static (Interval? Estimate, long N1, long N2, long M) Chapman(
        IReadOnlyList<IReadOnlyList<ulong>> first, IReadOnlyList<IReadOnlyList<ulong>> second, int seed = 15)
    {
        // Dense numbers for the ids, so a resample counts distinct ids with stamps instead of hash sets.
        var dense = new Dictionary<ulong, int>();
        int[][] Densify(IReadOnlyList<IReadOnlyList<ulong>> sample) => sample.Select(c => c.Select(id =>
        {
            if (!dense.TryGetValue(id, out int d)) dense[id] = d = dense.Count;
            return d;
        }).ToArray()).ToArray();
        var a = Densify(first);
        var b = Densify(second);
        var stampA = new int[dense.Count];
        var stampB = new int[dense.Count];
        (long N1, long N2, long M) Count(int[][] x, int[][] y, Func<int, int> pickX, Func<int, int> pickY, int stamp)
        {
            long n1 = 0, n2 = 0, m = 0;
            for (int i = 0; i < x.Length; i++)
                foreach (int id in x[pickX(i)])
                    if (stampA[id] != stamp) { stampA[id] = stamp; n1++; }
            for (int i = 0; i < y.Length; i++)
                foreach (int id in y[pickY(i)])
                    if (stampB[id] != stamp) { stampB[id] = stamp; n2++; if (stampA[id] == stamp) m++; }
            return (n1, n2, m);
        }
        var (n1, n2, m) = Count(a, b, i => i, i => i, 1);
        if (m < MinimumRecaptures || a.Length == 0 || b.Length == 0) return (null, n1, n2, m);
        // Bounded work: about 5·10^7 id visits whatever the number of lookups (between 200 and 1000 resamples).
        long ids = a.Sum(c => (long)c.Length) + b.Sum(c => (long)c.Length);
        int resamples = (int)Math.Clamp(50_000_000 / Math.Max(1, ids), 200, 1000);
        var rng = new Random(seed);
        var boot = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            var (x1, x2, xm) = Count(a, b, _ => rng.Next(a.Length), _ => rng.Next(b.Length), r + 2);
            boot[r] = Chapman(x1, x2, xm);
        }
        Array.Sort(boot);
        return (new Interval(Chapman(n1, n2, m), Percentile(boot, 0.025), Percentile(boot, 0.975)), n1, n2, m);
    }

    private static double Percentile(double[] sorted, double p)
    {
        double pos = p * (sorted.Length - 1);
        int i = (int)Math.Floor(pos);
        if (i >= sorted.Length - 1) return sorted[^1];
        return sorted[i] + (pos - i) * (sorted[i + 1] - sorted[i]);
    }
}
