using PcapDht.Fuzz;

namespace PcapDht.Tests.Fuzz;

/// <summary>
/// Every input a fuzzer found (tests/PcapDht.Tests/Fuzz/Findings/TARGET/, kept from scripts/fuzz.sh runs) goes
/// through its target again: the target throws on the crash or broken invariant the input once caused, so a
/// fixed finding stays fixed.
/// </summary>
public sealed class FuzzFindingsTests
{
    private static string Findings => Path.Combine(AppContext.BaseDirectory, "Fuzz", "Findings");

    private static Action<byte[]> Target(string name) => name switch
    {
        "krpc" => KrpcTarget.Check,
        "capture" => CaptureTarget.Check,
        "net" => NetTarget.Check,
        "ranges" => RangeTarget.Check,
        "anonymize" => AnonymizeTarget.Check,
        _ => throw new ArgumentException(name),
    };

    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var dir in Directory.EnumerateDirectories(Findings).Order())
            foreach (var file in Directory.EnumerateFiles(dir).Order())
                data.Add(Path.GetFileName(dir), Path.GetFileName(file));
        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Finding_NoLongerBreaksItsTarget(string target, string file)
    {
        var input = File.ReadAllBytes(Path.Combine(Findings, target, file));
        Target(target)(input); // throws (FuzzInvariantException or the library's own) when the finding is back
    }
}
