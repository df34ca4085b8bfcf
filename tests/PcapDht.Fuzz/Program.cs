using PcapDht.Fuzz;
using SharpFuzz;

// scripts/fuzz.sh runs `PcapDht.Fuzz TARGET` under afl-fuzz; the other modes write seeds and replay findings.
//   PcapDht.Fuzz TARGET                        the AFL++ persistent loop in this process (SharpFuzz's Fuzzer.Run)
//   PcapDht.Fuzz --out-of-process TARGET       the loop in a child process that SharpFuzz restarts when it dies
//                                              (survives a hang or a stack overflow, but costs a second process
//                                              and two pipe round-trips per execution: docs/fuzzing.md, Throughput)
//   PcapDht.Fuzz --write-seeds TARGET DIR      the target's seed inputs
//   PcapDht.Fuzz --replay TARGET PATH...       runs files (or every file of directories) through the target
Action<byte[]> Target(string name) => name switch
{
    "krpc" => KrpcTarget.Check,
    "capture" => CaptureTarget.Check,
    "net" => NetTarget.Check,
    "ranges" => RangeTarget.Check,
    "anonymize" => AnonymizeTarget.Check,
    _ => throw new ArgumentException($"unknown fuzz target '{name}' (krpc, capture, net, ranges, anonymize)"),
};

if (args.Length == 3 && args[0] == "--write-seeds")
{
    Seeds.Write(args[1], args[2]);
    return 0;
}
if (args.Length >= 3 && args[0] == "--replay")
{
    var check = Target(args[1]);
    int failures = 0, inputs = 0;
    foreach (string path in args.Skip(2))
    {
        var files = Directory.Exists(path) ? Directory.EnumerateFiles(path).Order() : (IEnumerable<string>)[path];
        foreach (string file in files)
        {
            if (Path.GetFileName(file) == "README.txt") continue;
            inputs++;
            try
            {
                check(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures++;
                Console.Error.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
            }
        }
    }
    Console.WriteLine($"replayed {inputs} input(s): {failures} failing");
    return failures == 0 ? 0 : 1;
}
if (args.Length == 1 || (args.Length == 2 && args[0] == "--out-of-process"))
{
    var check = Target(args[^1]);
    Action<Stream> run = stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        check(buffer.ToArray());
    };
    if (args.Length == 2)
        Fuzzer.OutOfProcess.Run(run);
    else
        Fuzzer.Run(run);
    return 0;
}
Console.Error.WriteLine("usage: PcapDht.Fuzz [--out-of-process] TARGET | --write-seeds TARGET DIR | --replay TARGET PATH...");
return 2;
