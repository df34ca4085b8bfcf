using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PcapDht.Bencode;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;

namespace PcapDht.Benchmarks.Decoder;

/// <summary>
/// Full KRPC decode (classification, every field, compact-list walk) of the sample message mix, one
/// benchmark per SIMD variant; scalar is the baseline. Mean is per message (OperationsPerInvoke).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class KrpcDecodeBenchmarks
{
    private byte[] _data = [];
    private int[] _offsets = [];

    [GlobalSetup]
    public void Setup() => (_data, _offsets, _) = DecoderPayloads.Load();

    [Benchmark(Baseline = true, OperationsPerInvoke = DecoderPayloads.Count)]
    public long Scalar() => DecodeAll(SimdVariant.Scalar);

    [Benchmark(OperationsPerInvoke = DecoderPayloads.Count)]
    public long Vector128() => DecodeAll(SimdVariant.Vector128);

    [Benchmark(OperationsPerInvoke = DecoderPayloads.Count)]
    public long Vector256() => DecodeAll(SimdVariant.Vector256);

    private long DecodeAll(SimdVariant variant)
    {
        long sum = 0;
        ReadOnlySpan<byte> data = _data;
        int[] offsets = _offsets;
        for (int i = 0; i < DecoderPayloads.Count; i++)
        {
            var payload = data[offsets[i]..offsets[i + 1]];
            var result = KrpcDecoder.Decode(payload, variant, out var m, out _);
            sum += (int)result + m.TransactionId.Length + m.ValuesCount + m.Nodes.Length;
        }
        return sum;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new ThroughputColumn());
            SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
        }
    }
}

/// <summary>The same on the large messages only (at least 1,000 bytes: long `values` lists, BEP 44 items).</summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class KrpcDecodeLargeBenchmarks
{
    private byte[] _data = [];
    private int[] _offsets = [];

    [GlobalSetup]
    public void Setup() => (_data, _offsets, _) = DecoderPayloads.LoadLarge();

    [Benchmark(Baseline = true, OperationsPerInvoke = DecoderPayloads.Count)]
    public long Scalar() => DecodeAll(SimdVariant.Scalar);

    [Benchmark(OperationsPerInvoke = DecoderPayloads.Count)]
    public long Vector128() => DecodeAll(SimdVariant.Vector128);

    [Benchmark(OperationsPerInvoke = DecoderPayloads.Count)]
    public long Vector256() => DecodeAll(SimdVariant.Vector256);

    private long DecodeAll(SimdVariant variant)
    {
        long sum = 0;
        ReadOnlySpan<byte> data = _data;
        int[] offsets = _offsets;
        for (int i = 0; i < DecoderPayloads.Count; i++)
        {
            var result = KrpcDecoder.Decode(data[offsets[i]..offsets[i + 1]], variant, out var m, out _);
            sum += (int)result + m.ValuesCount + m.Value.Length;
        }
        return sum;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new ThroughputColumn(large: true));
            SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
        }
    }
}

/// <summary>Tokenizing only (BencodeReader over every token), to separate the reader from the KRPC layer.</summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class BencodeReadBenchmarks
{
    private byte[] _data = [];
    private int[] _offsets = [];

    [GlobalSetup]
    public void Setup() => (_data, _offsets, _) = DecoderPayloads.Load();

    [Benchmark(Baseline = true, OperationsPerInvoke = DecoderPayloads.Count)]
    public long Scalar() => ReadAll(SimdVariant.Scalar);

    [Benchmark(OperationsPerInvoke = DecoderPayloads.Count)]
    public long Vector128() => ReadAll(SimdVariant.Vector128);

    [Benchmark(OperationsPerInvoke = DecoderPayloads.Count)]
    public long Vector256() => ReadAll(SimdVariant.Vector256);

    private long ReadAll(SimdVariant variant)
    {
        long sum = 0;
        ReadOnlySpan<byte> data = _data;
        int[] offsets = _offsets;
        for (int i = 0; i < DecoderPayloads.Count; i++)
        {
            var reader = new BencodeReader(data[offsets[i]..offsets[i + 1]], new BencodeReaderOptions(0, variant));
            while (reader.Read())
                sum += reader.ValueSpan.Length;
        }
        return sum;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new ThroughputColumn());
            SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
        }
    }
}

/// <summary>MB/s of UDP payload and messages/s, from the per-message mean and the mix's average size.</summary>
public sealed class ThroughputColumn(bool large = false) : IColumn
{
    public string Id => nameof(ThroughputColumn);
    public string ColumnName => "MB/s";
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => 0;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend => "UDP payload megabytes (10^6) decoded per second, from Mean (ns/message) and the mix's average message size";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase)
    {
        var report = summary[benchmarkCase];
        if (report?.ResultStatistics == null)
            return "-";
        double nsPerMessage = report.ResultStatistics.Mean;
        double bytes = large ? DecoderPayloads.AverageLargeBytes : DecoderPayloads.AverageBytes;
        return (bytes / nsPerMessage * 1e3).ToString("F0");
    }

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) => GetValue(summary, benchmarkCase);
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    public bool IsAvailable(Summary summary) => true;
}
