using DuckDB.NET.Data;
using PcapDht.Enrich;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Synth;
using PcapDht.Synth.Population;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// A real DuckDB store made by ingesting a population-scenario capture (generator → pcap → ingest), with
/// the fixture's ASN ranges imported, and the generator's ground truth.
/// </summary>
public sealed class PopulationStore : IDisposable
{
    private readonly TempFiles _temp = new();
    public string DbPath { get; }
    public PopulationTruth Truth { get; }

    public PopulationStore(PopulationOptions options)
    {
        string capture = _temp.Path("population.pcap");
        var ranges = AsnRangeTable.Load(SynthDatabaseFixture.FixtureRanges);
        using (var fs = File.Create(capture))
            Truth = PopulationGenerator.Generate(options, ranges, fs);
        DbPath = _temp.Path("population.duckdb");
        using (var store = PcapDhtDatabase.Open(DbPath))
        {
            var result = new IngestPipeline(store).IngestFile(capture);
            if (result.Error is not null) throw new InvalidOperationException(result.Error);
        }
        using var db = Open();
        RangeStore.Import(db, [RangeFileReader.Read(SynthDatabaseFixture.FixtureRanges)], DateTimeOffset.UnixEpoch);
    }

    public DuckDBConnection Open()
    {
        var c = new DuckDBConnection($"Data Source={DbPath}");
        c.Open();
        return c;
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>One small population store with every planted feature, shared by a test class.</summary>
public sealed class PlantedPopulationFixture : IDisposable
{
    public PopulationStore Store { get; } = new(new PopulationOptions
    {
        Seed = 21, Population = 5_000, Lookups = 120, Days = 5,
        Visitors = 300, SybilAddresses = 4, IdChangers = 3, PrefixClusters = 2,
    });

    public void Dispose() => Store.Dispose();
}
