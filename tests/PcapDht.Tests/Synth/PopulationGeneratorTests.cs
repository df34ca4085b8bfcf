using PcapDht.Synth;
using PcapDht.Synth.Population;
using PcapDht.Tests.Analysis;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Synth;

public class PopulationGeneratorTests
{
    private static ulong[] TrueClosest(IdPopulation pop, ulong target, int k) =>
        Enumerable.Range(0, pop.Count).Select(pop.Prefix).OrderBy(p => p ^ target).Take(k).ToArray();

    [Fact]
    public void IdPopulation_HoldsExactlyNDistinctSortedIds()
    {
        var pop = new IdPopulation(50_000, 3);
        Assert.Equal(50_000, pop.Count);
        for (int i = 1; i < pop.Count; i++) Assert.True(pop.Prefix(i - 1) < pop.Prefix(i));
    }

    [Fact]
    public void Range_FindsEveryIdWithThePrefix()
    {
        var pop = new IdPopulation(20_000, 4);
        var rng = new Random(4);
        for (int t = 0; t < 50; t++)
        {
            ulong prefix = (ulong)rng.NextInt64();
            foreach (int bits in new[] { 0, 3, 9, 14, 20 })
            {
                var (lo, hi) = pop.Range(prefix, bits);
                int expected = Enumerable.Range(0, pop.Count).Count(i => bits == 0 || (pop.Prefix(i) ^ prefix) >> (64 - bits) == 0);
                Assert.Equal(expected, hi - lo);
            }
        }
    }

    [Fact]
    public void Answer_InASmallDht_IsEveryOtherNodeByDistance()
    {
        // Nine nodes: no bucket can hold more than the 8 others, so every node knows all of them.
        var pop = new IdPopulation(9, 5);
        var rng = new Random(5);
        Span<int> answer = stackalloc int[IdPopulation.BucketSize];
        for (int node = 0; node < pop.Count; node++)
        {
            ulong target = (ulong)rng.NextInt64();
            int n = pop.Answer(pop.Prefix(node), target, answer);
            var others = Enumerable.Range(0, pop.Count).Where(i => i != node).Select(pop.Prefix).OrderBy(p => p ^ target);
            Assert.Equal(others, answer[..n].ToArray().Select(pop.Prefix));
        }
    }

    [Theory]
    [InlineData(3_000)]
    [InlineData(200_000)]
    public void ConvergedLookups_SeeExactlyTheTrueClosestEight(int size)
    {
        // What an observer of the lookup learns (the nodes that answered and the contacts they returned)
        // holds the 8 ids closest to the target whenever the lookup converged: the premise of report size.
        var pop = new IdPopulation(size, 6);
        var sim = new LookupSimulator(pop, 6);
        var rng = new Random(6);
        var all = Enumerable.Range(0, pop.Count).Select(pop.Prefix).ToArray();
        int converged = 0;
        for (int t = 0; t < 80; t++)
        {
            ulong target = (ulong)rng.NextInt64(), self = (ulong)rng.NextInt64();
            var run = sim.Run(self, target);
            if (!run.Converged) continue;
            converged++;
            var seen = new HashSet<ulong>();
            foreach (var q in run.Rounds.SelectMany(r => r).Where(q => q.Answered))
            {
                seen.Add(pop.Prefix(q.Node));
                foreach (int c in q.Contacts) seen.Add(pop.Prefix(c));
            }
            Assert.Equal(all.OrderBy(p => p ^ target).Take(8), seen.OrderBy(p => p ^ target).Take(8));
            Assert.True(run.Rounds.Count >= 2 || size < 5_000);
        }
        Assert.True(converged >= 72, $"{converged} of 80 lookups converged");
    }

    [Fact]
    public void Generate_IsDeterministic()
    {
        var options = new PopulationOptions { Seed = 11, Population = 2_000, Lookups = 20, Visitors = 20, SybilAddresses = 1, Days = 2 };
        byte[] Run()
        {
            using var ms = new MemoryStream();
            PopulationGenerator.Generate(options, AsnRangeTable.Load(SynthDatabaseFixture.FixtureRanges), ms);
            return ms.ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void SynthCli_Population_WritesCaptureAndTruth()
    {
        using var t = new TempFiles();
        string pcap = t.Path("p.pcap");
        var o = CliRunner.Run(["synth", "--out", pcap, "--population", "3000", "--lookups", "30", "--sybils", "2", "--asn-ranges", SynthDatabaseFixture.FixtureRanges]);
        Assert.True(o.ExitCode == 0, o.Stderr);
        Assert.Contains("in a DHT of exactly 3000 nodes", o.Stdout);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(t.Path("p.truth.json")));
        Assert.Equal(3000, doc.RootElement.GetProperty("population").GetInt32());
        Assert.Equal(30, doc.RootElement.GetProperty("lookups").GetProperty("total").GetInt32());
        Assert.Equal(2, doc.RootElement.GetProperty("sybil").GetProperty("addresses_over_8_ids").EnumerateObject().Count());

        var bad = CliRunner.Run(["synth", "--out", pcap, "--population", "3000", "--packets", "100"]);
        Assert.Equal(PcapDht.Cli.ExitCodes.Usage, bad.ExitCode);
    }
}
