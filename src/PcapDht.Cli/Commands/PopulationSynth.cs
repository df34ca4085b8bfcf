using System.Diagnostics;
using System.Globalization;
using PcapDht.Synth;
using PcapDht.Synth.Population;

namespace PcapDht.Cli.Commands;

/// <summary>`pcapdht synth --population N`: the population scenario (docs/synth.md).</summary>
internal static class PopulationSynth
{
    public static int Run(SynthSettings settings, int population, SynthFormat format, AsnRangeTable table, string label, string truthPath)
    {
        var options = new PopulationOptions
        {
            Seed = settings.Seed,
            Population = population,
            Lookups = settings.Lookups ?? 300,
            EarlyStopShare = settings.EarlyStop ?? 0.2,
            Days = settings.Days ?? 1,
            Format = format,
            Visitors = settings.Visitors,
            SybilAddresses = settings.Sybils,
            IdChangers = settings.IdChangers,
            PrefixClusters = settings.PrefixClusters,
            RangesLabel = label,
            End = settings.End is null ? new PopulationOptions().End
                : DateTimeOffset.Parse(settings.End, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
        };
        var sw = Stopwatch.StartNew();
        PopulationTruth truth;
        try
        {
            using (var stream = new FileStream(settings.Out!, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                truth = PopulationGenerator.Generate(options, table, stream);
            using (var ts = new FileStream(truthPath, FileMode.Create, FileAccess.Write))
                truth.WriteJson(ts);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"pcapdht synth: {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && !settings.Verbose)
        {
            Console.Error.WriteLine($"pcapdht synth: cannot write: {ex.Message}");
            return ExitCodes.Failure;
        }
        var inv = CultureInfo.InvariantCulture;
        Console.Out.WriteLine(string.Create(inv,
            $"wrote {truth.Frames} frames ({truth.KrpcMessages} KRPC messages) to {settings.Out}: {truth.Lookups.Count} lookups ({truth.LookupsComplete} complete, {truth.LookupsConverged} of them converged, {truth.LookupsStopped} stopped early) in a DHT of exactly {population} nodes"));
        Console.Out.WriteLine(string.Create(inv, $"ground truth: {truthPath}"));
        Console.Out.WriteLine(string.Create(inv, $"{sw.Elapsed.TotalSeconds:F2} s"));
        return ExitCodes.Ok;
    }
}
