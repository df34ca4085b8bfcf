using PcapDht.Fuzz;
using SharpFuzz;

// scripts/fuzz.sh runs this under afl-fuzz; the other modes write seeds and replay findings.
if (args.Length == 2 && args[0] == "--write-seeds")
{
    Seeds.Write(args[1]);
    return 0;
}
if (args.Length == 2 && args[0] == "--replay")
{
    int failures = 0;
    foreach (string file in Directory.EnumerateFiles(args[1]))
    {
        try
        {
            DecoderTarget.Check(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            failures++;
            Console.Error.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
        }
    }
    Console.WriteLine($"replayed: {failures} failing input(s)");
    return failures == 0 ? 0 : 1;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    DecoderTarget.Check(buffer.ToArray());
});
return 0;
