using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PcapDht.Bencode.Simd;

namespace PcapDht.Benchmarks.Decoder;

/// <summary>
/// Times passes of a column stage per SIMD variant in thread CPU time, the variants interleaved round by round
/// (100 rounds of 20 passes, the best round after 10 warm-up rounds kept): on a shared, loaded machine wall-clock
/// numbers mostly measure waiting. Prints a markdown table with scalar as the baseline.
/// </summary>
public static class StageCpu
{
    public static void Run(Func<SimdVariant, int> pass, long records, long bytes) =>
        Run([.. new[] { SimdVariant.Scalar, SimdVariant.Vector128, SimdVariant.Vector256 }.Select(v => (v.ToString(), (Func<int>)(() => pass(v))))], records, bytes);

    /// <summary>As above for named arms; the first is the baseline.</summary>
    public static void Run((string Name, Func<int> Pass)[] arms, long records, long bytes)
    {
        var best = new double[arms.Length];
        Array.Fill(best, double.MaxValue);
        long sink = 0;
        const int Repeats = 20;
        for (int round = 0; round < 100; round++)
        {
            for (int k = 0; k < arms.Length; k++)
            {
                long start = DecoderCpuBench.ThreadCpuNs();
                for (int repeat = 0; repeat < Repeats; repeat++) sink += arms[k].Pass();
                double ns = (DecoderCpuBench.ThreadCpuNs() - start) / (double)Repeats;
                if (round >= 10) best[k] = Math.Min(best[k], ns);
            }
        }
        Console.WriteLine($"| Variant | ns/record | M records/s | MB/s | Ratio to {arms[0].Name} |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        for (int k = 0; k < arms.Length; k++)
            Console.WriteLine($"| {arms[k].Name} | {best[k] / records:F2} | {records / best[k] * 1e3:F1} | {bytes / best[k] * 1e3:F0} | {best[0] / best[k]:F2}x |");
        GC.KeepAlive(sink);
    }
}

/// <summary>A column stage's three variants as BenchmarkDotNet benchmarks, scalar the baseline: one pass each over the sample mix.</summary>
public abstract class ColumnStageBenchmarks
{
    [BenchmarkDotNet.Attributes.Benchmark(Baseline = true)]
    public int Scalar() => TransposeAll(SimdVariant.Scalar);

    [BenchmarkDotNet.Attributes.Benchmark]
    public int Vector128() => TransposeAll(SimdVariant.Vector128);

    [BenchmarkDotNet.Attributes.Benchmark]
    public int Vector256() => TransposeAll(SimdVariant.Vector256);

    /// <summary>One pass of the stage over the mix with <paramref name="variant"/>; returns the records written.</summary>
    internal abstract int TransposeAll(SimdVariant variant);
}

/// <summary>A BenchmarkDotNet column: records (millions) or bytes (10^6) of one pass per second, from the mean.</summary>
public sealed class StageRateColumn(string name, string legend, bool bytes, Func<(long Records, long Bytes)> mix) : IColumn
{
    public string Id => "Rate" + name;
    public string ColumnName => name;
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => bytes ? 1 : 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics == null) return "-";
        var (records, size) = mix();
        double perSecond = 1e9 / report.ResultStatistics.Mean; // passes per second
        return bytes ? (size * perSecond / 1e6).ToString("F0") : (records * perSecond / 1e6).ToString("F1");
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
