using System.Runtime.InteropServices;
using PcapDht.Bencode;
using PcapDht.Bencode.Simd;
using PcapDht.Krpc;

namespace PcapDht.Benchmarks.Decoder;

/// <summary>
/// `decoder-cpu [large]`: the decoder benchmarks timed in thread CPU time, the three variants
/// interleaved round by round, best round kept. On a shared, overloaded machine wall-clock
/// BenchmarkDotNet numbers mostly measure waiting; this measures the decoder.
/// </summary>
public static class DecoderCpuBench
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "decoder-cpu";

    public static int Run(string[] args)
    {
        bool large = args.Length > 1 && args[1] == "large";
        var (data, offsets, source) = large ? DecoderPayloads.LoadLarge() : DecoderPayloads.Load();
        double average = (double)offsets[^1] / DecoderPayloads.Count;
        Console.WriteLine($"{source}{(large ? $", messages >= {DecoderPayloads.LargeBytes} B" : "")}: {DecoderPayloads.Count} messages, {average:F1} B average");
        SimdVariant[] variants = [SimdVariant.Scalar, SimdVariant.Vector128, SimdVariant.Vector256];
        Console.WriteLine("| Benchmark | Variant | ns/message | MB/s | M messages/s | Ratio to scalar |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|");
        foreach (bool decode in new[] { true, false })
        {
            var best = new double[variants.Length];
            Array.Fill(best, double.MaxValue);
            long sink = 0;
            for (int round = 0; round < 60; round++)
            {
                for (int k = 0; k < variants.Length; k++)
                {
                    long start = ThreadCpuNs();
                    for (int repeat = 0; repeat < 5; repeat++)
                        sink += decode ? Decode(data, offsets, variants[k]) : Tokenize(data, offsets, variants[k]);
                    double ns = (ThreadCpuNs() - start) / 5.0 / DecoderPayloads.Count;
                    if (round >= 5)
                        best[k] = Math.Min(best[k], ns);
                }
            }
            for (int k = 0; k < variants.Length; k++)
            {
                Console.WriteLine($"| {(decode ? "KRPC decode" : "bencode tokenize")} | {variants[k]} | {best[k]:F0} | {average / best[k] * 1000:F0} | " +
                    $"{1000 / best[k]:F2} | {best[0] / best[k]:F2}x |");
            }
            GC.KeepAlive(sink);
        }
        return 0;
    }

    private static long Decode(byte[] data, int[] offsets, SimdVariant variant)
    {
        long sum = 0;
        for (int i = 0; i < DecoderPayloads.Count; i++)
        {
            KrpcMessage m = default;
            var result = KrpcDecoder.DecodeInto(data.AsSpan(offsets[i], offsets[i + 1] - offsets[i]), variant, ref m, out _);
            sum += (int)result + m.TransactionId.Length + m.ValuesCount + m.Nodes.Length;
        }
        return sum;
    }

    private static long Tokenize(byte[] data, int[] offsets, SimdVariant variant)
    {
        long sum = 0;
        for (int i = 0; i < DecoderPayloads.Count; i++)
        {
            var reader = new BencodeReader(data.AsSpan(offsets[i], offsets[i + 1] - offsets[i]), new BencodeReaderOptions(0, variant));
            while (reader.Read())
                sum += reader.ValueSpan.Length;
        }
        return sum;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    internal static long ThreadCpuNs()
    {
        const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID (Linux)
        ClockGetTime(ClockThreadCpuTime, out var t);
        return t.Seconds * 1_000_000_000 + t.Nanoseconds;
    }
}
