using System.Text;
using DuckDB.NET.Data;
using PcapDht.Enrich;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Synth;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// One database in the real store schema, filled once per test class by ingesting a small
/// synthetic capture, with the synth fixture's ASN ranges and a country set derived from them.
/// Tests open their own connections; the fixture keeps none open.
/// </summary>
public sealed class SynthDatabaseFixture : IDisposable
{
    private readonly TempFiles _temp = new();
    public string DbPath { get; }
    public SynthTruth Truth { get; }

    public static string FixtureRanges => Path.Combine(RepoPaths.Root, "tests", "PcapDht.Tests", "Synth", "synth-test-asn.csv");

    public SynthDatabaseFixture()
    {
        string capture = _temp.Path("synth.pcap");
        using (var fs = File.Create(capture))
            Truth = SynthGenerator.Generate(new SynthOptions { Seed = 5, Packets = 8_000 }, AsnRangeTable.Load(FixtureRanges), fs);
        DbPath = _temp.Path("synth.duckdb");
        using (var store = PcapDhtDatabase.Open(DbPath))
        {
            var result = new IngestPipeline(store).IngestFile(capture);
            if (result.Error is not null) throw new InvalidOperationException(result.Error);
        }
        // A country for every range: the AS number's parity picks one of two fictional codes.
        var countries = new StringBuilder();
        foreach (var r in RangeFileReader.Read(FixtureRanges).Ranges)
            countries.Append(r.Start).Append(',').Append(r.End).Append(',').Append(r.Asn % 2 == 0 ? "DE" : "KR").Append('\n');
        using var db = Open();
        RangeStore.Import(db, [RangeFileReader.Read(FixtureRanges), RangeFileReader.Read(_temp.Write("country.csv", countries.ToString()))], DateTimeOffset.UnixEpoch);
    }

    public DuckDBConnection Open()
    {
        var c = new DuckDBConnection($"Data Source={DbPath}");
        c.Open();
        return c;
    }

    public void Dispose() => _temp.Dispose();
}
