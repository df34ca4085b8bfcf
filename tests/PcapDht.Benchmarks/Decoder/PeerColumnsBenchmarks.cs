using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;
using PcapDht.Pipeline;

namespace PcapDht.Benchmarks.Decoder;

/// <summary>
/// The <c>values</c> transpose (<see cref="PeerColumns"/>) per variant over every values list of the decoder's sample
/// mix, into the columns of one DuckDB chunk (2,048 rows, wrapping), as the row encoder calls it. Mean is per pass over
/// the mix's lists; scalar is the baseline. <c>peer-columns-cpu</c> times the same passes in thread CPU time, the
/// variants interleaved (<see cref="StageCpu"/>).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Config))]
public unsafe class PeerColumnsBenchmarks : ColumnStageBenchmarks
{
    private const int Rows = 2048;

    private static (byte[] Data, (int Offset, int Length)[] Lists, long Records, long Bytes)? _mix;

    private readonly ulong[] _hi = GC.AllocateArray<ulong>(Rows, pinned: true), _lo = GC.AllocateArray<ulong>(Rows, pinned: true);
    private readonly ushort[] _port = GC.AllocateArray<ushort>(Rows, pinned: true);
    private byte[] _data = [];
    private (int Offset, int Length)[] _lists = [];

    /// <summary>The values lists of the sample mix, packed: peers and list bytes per pass.</summary>
    public static (byte[] Data, (int Offset, int Length)[] Lists, long Records, long Bytes) Mix() => _mix ??= BuildMix();

    private static (byte[], (int, int)[], long, long) BuildMix()
    {
        var (data, offsets, _) = DecoderPayloads.Load();
        var packed = new MemoryStream();
        var lists = new List<(int, int)>();
        long peers = 0;
        for (int i = 0; i < DecoderPayloads.Count; i++)
        {
            if (KrpcDecoder.Decode(data.AsSpan(offsets[i], offsets[i + 1] - offsets[i]), SimdVariant.Scalar, out var m, out _) != KrpcDecodeResult.Message
                || m.Kind == KrpcKind.Query || m.Values.IsEmpty)
                continue;
            lists.Add(((int)packed.Length, m.Values.Length));
            packed.Write(m.Values);
            foreach (var _ in CompactLists.Values(m.Values)) peers++;
        }
        return (packed.ToArray(), lists.ToArray(), peers, packed.Length);
    }

    [GlobalSetup]
    public void Setup() => (_data, _lists, _, _) = Mix();

    internal override int TransposeAll(SimdVariant variant)
    {
        ReadOnlySpan<byte> data = _data;
        int row = 0, total = 0;
        fixed (ulong* hi = _hi, lo = _lo)
        fixed (ushort* port = _port)
        {
            foreach (var (offset, length) in _lists)
            {
                var list = data.Slice(offset, length);
                int at = PeerColumns.Start(list);
                for (bool done = false; !done;)
                {
                    if (row == Rows) row = 0; // a new chunk
                    int n = PeerColumns.Values(variant, list, ref at, Rows - row, hi + row, lo + row, port + row, out done);
                    row += n;
                    total += n;
                }
            }
        }
        return total;
    }

    /// <summary>What the row encoder did per peer before: the enumerator, and the address and port stored into the columns.</summary>
    internal int Enumerate()
    {
        ReadOnlySpan<byte> data = _data;
        int row = 0, total = 0;
        foreach (var (offset, length) in _lists)
            foreach (var peer in CompactLists.Values(data.Slice(offset, length)))
            {
                if (row == Rows) row = 0;
                _hi[row] = (ulong)(peer.Address.Value >> 64);
                _lo[row] = (ulong)peer.Address.Value;
                _port[row] = peer.Port;
                row++;
                total++;
            }
        return total;
    }

    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "peer-columns-cpu";

    public static int Run(string[] args)
    {
        var (_, lists, records, bytes) = Mix();
        Console.WriteLine($"values lists of the decoder's sample mix ({DecoderPayloads.Count} messages): {lists.Length} lists, {records} peers, {bytes} bytes per pass");
        var bench = new PeerColumnsBenchmarks();
        bench.Setup();
        // Before the transpose the encoder walked CompactLists.Values and stored each peer's fields (an arm of its own here).
        StageCpu.Run([("Enumerator (before)", bench.Enumerate), .. new[] { SimdVariant.Scalar, SimdVariant.Vector128, SimdVariant.Vector256 }
            .Select(v => (v.ToString(), (Func<int>)(() => bench.TransposeAll(v))))], records, bytes);
        return 0;
    }

    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddColumn(new StageRateColumn("Mpeers/s", "values peers transposed per second, millions", false, () => (Mix().Records, Mix().Bytes)));
            AddColumn(new StageRateColumn("MB/s", "values-list bytes transposed per second (10^6)", true, () => (Mix().Records, Mix().Bytes)));
            SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
        }
    }
}
