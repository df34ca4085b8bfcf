using BenchmarkDotNet.Running;
using PcapDht.Benchmarks;

if (CaptureBench.Handles(args)) return CaptureBench.Run(args);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
