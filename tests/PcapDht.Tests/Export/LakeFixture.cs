using System.Text;
using DuckDB.NET.Data;
using PcapDht.Anonymize;
using PcapDht.Enrich;
using PcapDht.Export;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Synth;
using PcapDht.Tests.Analysis;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Export;

/// <summary>
/// Two sensors and the database that holds what both saw: sensor alpha ingested a synthetic capture (seed 5, ending
/// 2026-09-30) and the real libtorrent/webtorrent recording; sensor beta another synthetic capture (seed 6, ending
/// 2026-06-30, so each capture's ground-truth window holds only its own traffic) and the SLL2 recording. The
/// database "all" ingested the same four files in the same order (so its capture ids are the lake's). All three
/// have the same ASN ranges and a country set derived from them, imported at the same instant. Both sensors are
/// exported into one plain lake and, with a key and --anonymize-ids, into one anonymized lake.
/// </summary>
public sealed class LakeFixture : IDisposable
{
    public const string Collection = "lake";

    private readonly TempFiles _temp = new();

    public SynthTruth Truth1 { get; }
    public SynthTruth Truth2 { get; }
    public string Alpha { get; }
    public string Beta { get; }
    public string All { get; }
    public string Lake { get; }
    public string AnonymizedLake { get; }
    public AnonymizationKey Key { get; } = AnonymizationKey.Generate();
    public string KeyFile { get; }
    public ExportSummary AlphaExport { get; }
    public ExportSummary BetaExport { get; }

    public static string Sample(string name) => Path.Combine(RepoPaths.Root, "samples-pcap", name);

    public LakeFixture()
    {
        var ranges = AsnRangeTable.Load(SynthDatabaseFixture.FixtureRanges);
        string synth1 = _temp.Path("synth-a.pcap"), synth2 = _temp.Path("synth-b.pcap");
        using (var fs = File.Create(synth1))
            Truth1 = SynthGenerator.Generate(new SynthOptions { Seed = 5, Packets = 8_000 }, ranges, fs);
        using (var fs = File.Create(synth2))
            Truth2 = SynthGenerator.Generate(new SynthOptions { Seed = 6, Packets = 6_000, End = new DateTimeOffset(2026, 6, 30, 12, 0, 0, TimeSpan.Zero) }, ranges, fs);
        string loopback = Sample("dht-loopback.pcapng.zst"), sll2 = Sample("dht-any-sll2.pcap");
        Alpha = Database("alpha.duckdb", synth1, loopback);
        Beta = Database("beta.duckdb", synth2, sll2);
        All = Database("all.duckdb", synth1, loopback, synth2, sll2);
        Lake = _temp.Path("lake");
        AlphaExport = LakeExporter.Run(new ExportOptions { Lake = Lake, Database = Alpha, Sensor = "alpha" });
        BetaExport = LakeExporter.Run(new ExportOptions { Lake = Lake, Database = Beta, Sensor = "beta" });
        AnonymizedLake = _temp.Path("anonymized");
        KeyFile = _temp.Path("lake.key");
        Key.WriteNew(KeyFile);
        foreach (var (db, sensor) in new[] { (Alpha, "alpha"), (Beta, "beta") })
            LakeExporter.Run(new ExportOptions { Lake = AnonymizedLake, Database = db, Sensor = sensor, Key = Key, AnonymizeIds = true });
    }

    public string TempPath(string name) => _temp.Path(name);

    /// <summary>A database of these captures (ingested in this order) with the fixture's ranges.</summary>
    public string Database(string name, params string[] captures)
    {
        string path = _temp.Path(name);
        using (var store = PcapDhtDatabase.Open(path))
        {
            var pipeline = new IngestPipeline(store);
            foreach (var capture in captures)
            {
                var result = pipeline.IngestFile(capture);
                if (result.Error is not null) throw new InvalidOperationException(result.Error);
            }
        }
        Store.RollupScaffold.Ensure(path);
        var countries = new StringBuilder();
        foreach (var r in RangeFileReader.Read(SynthDatabaseFixture.FixtureRanges).Ranges)
            countries.Append(r.Start).Append(',').Append(r.End).Append(',').Append(r.Asn % 2 == 0 ? "DE" : "KR").Append('\n');
        string countryFile = _temp.Path("country.csv");
        if (!File.Exists(countryFile)) File.WriteAllText(countryFile, countries.ToString());
        using var db = Open(path);
        RangeStore.Import(db, [RangeFileReader.Read(SynthDatabaseFixture.FixtureRanges), RangeFileReader.Read(countryFile)], DateTimeOffset.UnixEpoch);
        return path;
    }

    /// <summary>A read-write connection to one of the databases (the enriched views exist, as a report's open makes them).</summary>
    public static DuckDBConnection Open(string path)
    {
        var c = new DuckDBConnection($"Data Source={path}");
        c.Open();
        RangeStore.EnsureEnrichedViews(c);
        return c;
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>The lake tests share one fixture (it ingests four captures into three databases and exports twice).</summary>
[CollectionDefinition(LakeFixture.Collection)]
public sealed class LakeCollection : ICollectionFixture<LakeFixture>;
