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
    /// N̂ = m_k / median(d_(k)) with a 95 % percentile-bootstrap interval over lookups (resampled with a
    /// fixed seed, so the same data always prints the same interval).
    /// </summary>
    public static Interval FromKthDistances(IReadOnlyList<double> kthDistances, int seed = 14)
    {
        int n = kthDistances.Count;
        if (n == 0) throw new ArgumentException("no lookups", nameof(kthDistances));
        var data = kthDistances.ToArray();
        var scratch = new double[n];
        double estimate = MedianK / Median(data, scratch, copy: true);
        var rng = new Random(seed);
        var boot = new double[Resamples];
        for (int b = 0; b < Resamples; b++)
        {
            for (int i = 0; i < n; i++) scratch[i] = data[rng.Next(n)];
            boot[b] = MedianK / Median(scratch, scratch, copy: false);
        }
        Array.Sort(boot);
        return new Interval(estimate, Percentile(boot, 0.025), Percentile(boot, 0.975));
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
        // Bounded work: about 2·10^8 id visits whatever the number of lookups (at least 200 resamples).
        long ids = a.Sum(c => (long)c.Length) + b.Sum(c => (long)c.Length);
        int resamples = (int)Math.Clamp(200_000_000 / Math.Max(1, ids), 200, Resamples);
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

    /// <summary>The median (mean of the two middle values for an even count), by selection in O(n).</summary>
    private static double Median(double[] values, double[] scratch, bool copy)
    {
        int n = values.Length;
        if (copy) Array.Copy(values, scratch, n);
        double upper = Select(scratch, 0, n - 1, n / 2);
        if (n % 2 == 1) return upper;
        // After selecting index n/2 everything left of it is smaller or equal: the other middle is their maximum.
        double lower = double.NegativeInfinity;
        for (int i = 0; i < n / 2; i++) if (scratch[i] > lower) lower = scratch[i];
        return 0.5 * (lower + upper);
    }

    private static double Select(double[] a, int lo, int hi, int k)
    {
        while (lo < hi)
        {
            double pivot = a[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (a[i] < pivot) i++;
                while (a[j] > pivot) j--;
                if (i <= j) { (a[i], a[j]) = (a[j], a[i]); i++; j--; }
            }
            if (k <= j) hi = j;
            else if (k >= i) lo = i;
            else return a[k];
        }
        return a[k];
    }
}
