using BenchmarkDotNet.Running;
using PcapDht.Benchmarks;

if (CaptureBench.Handles(args)) return CaptureBench.Run(args);
if (ReplaySender.Handles(args)) return ReplaySender.Run(args);
if (PcapDht.Benchmarks.Decoder.DecoderCpuBench.Handles(args)) return PcapDht.Benchmarks.Decoder.DecoderCpuBench.Run(args);
if (PcapDht.Benchmarks.Decoder.NodeColumnsBenchmarks.Handles(args)) return PcapDht.Benchmarks.Decoder.NodeColumnsBenchmarks.Run(args);
if (PcapDht.Benchmarks.Decoder.PeerColumnsBenchmarks.Handles(args)) return PcapDht.Benchmarks.Decoder.PeerColumnsBenchmarks.Run(args);
if (PcapDht.Benchmarks.Analysis.ReportSizeBench.Handles(args)) return PcapDht.Benchmarks.Analysis.ReportSizeBench.Run(args);
if (PcapDht.Benchmarks.Store.RollupStoreBench.Handles(args)) return PcapDht.Benchmarks.Store.RollupStoreBench.Run(args);
if (PcapDht.Benchmarks.Store.StoreFloorBench.Handles(args)) return PcapDht.Benchmarks.Store.StoreFloorBench.Run(args);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
