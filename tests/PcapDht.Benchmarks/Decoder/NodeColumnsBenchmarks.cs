using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;
using PcapDht.Pipeline;

namespace PcapDht.Benchmarks.Decoder;

/// <summary>
/// The node-list transpose (<see cref="NodeColumns"/>) per variant over every <c>nodes</c> and <c>nodes6</c> list
/// of the decoder's sample mix, into column vectors of one DuckDB chunk (2,048 rows, wrapping as the encoder's
/// chunks fill), as the row encoder calls it. Mean is per pass over all the mix's lists; the columns give
/// records per second and list megabytes per second. Scalar is the baseline. <c>node-columns-cpu</c> times the same
/// passes in thread CPU time, the variants interleaved round by round (best round kept): on a shared, loaded machine
/// the wall-clock numbers mostly measure waiting.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public unsafe class NodeColumnsBenchmarks : ColumnStageBenchmarks
{
    private const int Rows = 2048;

    private static (byte[] Data, (int Offset, int Length, bool V6)[] Lists, long Records, long Bytes)? _mix;

    private readonly ulong[] _a = GC.AllocateArray<ulong>(Rows, pinned: true), _b = GC.AllocateArray<ulong>(Rows, pinned: true),
        _ep = GC.AllocateArray<ulong>(Rows, pinned: true), _hi = GC.AllocateArray<ulong>(Rows, pinned: true), _lo6 = GC.AllocateArray<ulong>(Rows, pinned: true);
    private readonly uint[] _lo = GC.AllocateArray<uint>(Rows, pinned: true);
    private readonly ushort[] _port = GC.AllocateArray<ushort>(Rows, pinned: true);
    private byte[] _data = [];
    private (int Offset, int Length, bool V6)[] _lists = [];

    /// <summary>The node lists of the sample mix, packed: records and bytes per pass.</summary>
    public static (byte[] Data, (int Offset, int Length, bool V6)[] Lists, long Records, long Bytes) Mix() => _mix ??= BuildMix();

    private static (byte[], (int, int, bool)[], long, long) BuildMix()
    {
        var (data, offsets, _) = DecoderPayloads.Load();
        var packed = new MemoryStream();
        var lists = new List<(int, int, bool)>();
        long records = 0;
        for (int i = 0; i < DecoderPayloads.Count; i++)
        {
            if (KrpcDecoder.Decode(data.AsSpan(offsets[i], offsets[i + 1] - offsets[i]), SimdVariant.Scalar, out var m, out _) != KrpcDecodeResult.Message)
                continue;
            foreach (var (list, v6) in new[] { (m.Nodes.ToArray(), false), (m.Nodes6.ToArray(), true) })
            {
                int size = v6 ? NodeColumns.Node6Length : NodeColumns.NodeLength;
                if (list.Length < size) continue;
                lists.Add(((int)packed.Length, list.Length, v6));
                packed.Write(list);
                records += list.Length / size;
            }
        }
        return (packed.ToArray(), lists.ToArray(), records, packed.Length);
    }

    [GlobalSetup]
    public void Setup() => (_data, _lists, _, _) = Mix();

    internal override int TransposeAll(SimdVariant variant)
    {
        ReadOnlySpan<byte> data = _data;
        int row = 0;
        fixed (ulong* a = _a, b = _b, ep = _ep, hi = _hi, lo6 = _lo6)
        fixed (uint* lo = _lo)
        fixed (ushort* port = _port)
        {
            foreach (var (offset, length, v6) in _lists)
            {
                int n = length / (v6 ? NodeColumns.Node6Length : NodeColumns.NodeLength);
                if (row + n > Rows) row = 0; // a new chunk (lists in the mix are far shorter than a chunk)
                var list = data.Slice(offset, length);
                if (v6) NodeColumns.Nodes6(variant, list, n, hi + row, lo6 + row, port + row, a + row, b + row, lo + row);
                else NodeColumns.Nodes(variant, list, n, ep + row, a + row, b + row, lo + row);
                row += n;
            }
        }
        return row;
    }

    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "node-columns-cpu";

    public static int Run(string[] args)
    {
        var (_, lists, records, bytes) = Mix();
        Console.WriteLine($"node lists of the decoder's sample mix ({DecoderPayloads.Count} messages): {lists.Length} lists, {records} records, {bytes} bytes per pass");
        var bench = new NodeColumnsBenchmarks();
        bench.Setup();
        StageCpu.Run(bench.TransposeAll, records, bytes);
        return 0;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new StageRateColumn("Mrecords/s", "node records (nodes and nodes6) transposed per second, millions", false, () => (Mix().Records, Mix().Bytes)));
            AddColumn(new StageRateColumn("MB/s", "node-list bytes transposed per second (10^6)", true, () => (Mix().Records, Mix().Bytes)));
            SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
        }
    }
}
