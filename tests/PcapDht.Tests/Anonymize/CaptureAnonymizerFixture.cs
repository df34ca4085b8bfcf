using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Anonymize;
using PcapDht.Capture;
using PcapDht.Store;
using PcapDht.Tests.Capture;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Anonymize;

/// <summary>
/// The sample captures (samples-pcap/ and, when present, the third-party ones in ../shared/captures/),
/// each anonymized with one fixed key, and both sets ingested by the real `pcapdht ingest` into two
/// DuckDB files: shared by the end-to-end tests so every capture is rewritten and ingested once.
/// </summary>
public sealed class CaptureAnonymizerFixture : IDisposable
{
    public const string KeyHex = "3a1f0c9e5b7d2468ace013579bdf02468ace13579bdf0246a1b2c3d4e5f60718";

    public sealed record Sample(string Name, string Original, string Anonymized, AnonymizeCounters Counters);

    private readonly Capture.TempDir _dir = new();

    public CaptureAnonymizerFixture()
    {
        Key = AnonymizationKey.Parse(KeyHex);
        string samples = Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap");
        // The nanosecond pcap and the pcapng hold the loopback recording's frames: ingested beside it they would be one
        // capture (a capture is identified by its frames). Time-shifted copies (1 s, 2 s; same container, resolution and
        // compression) keep the three containers as three captures.
        Directory.CreateDirectory(_dir.File("orig"));
        string ns = _dir.File(Path.Combine("orig", "dht-loopback-ns.pcap"));
        CaptureTestFiles.Run("editcap", "-F", "nsecpcap", "-t", "1", Path.Combine(samples, "dht-loopback-ns.pcap"), ns);
        string ng = _dir.File("loopback.pcapng"), ngShifted = _dir.File("loopback-shifted.pcapng");
        File.WriteAllBytes(ng, new ZstdSharp.Decompressor().Unwrap(File.ReadAllBytes(Path.Combine(samples, "dht-loopback.pcapng.zst"))).ToArray());
        CaptureTestFiles.Run("editcap", "-F", "pcapng", "-t", "2", ng, ngShifted);
        string zst = _dir.File(Path.Combine("orig", "dht-loopback.pcapng.zst"));
        File.WriteAllBytes(zst, new ZstdSharp.Compressor(3).Wrap(File.ReadAllBytes(ngShifted)).ToArray());
        var originals = new List<string>
        {
            Path.Combine(samples, "dht-loopback.pcap"),
            ns,
            zst,
            Path.Combine(samples, "dht-any-sll2.pcap"),
            Path.Combine(samples, "synthetic-dht.pcap"),
        };
        if (CaptureTestFiles.SharedCaptures is { } shared)
            originals.AddRange(Directory.GetFiles(shared).Where(f => f.EndsWith(".pcap") || f.EndsWith(".pcapng")).Order());
        HasSharedCaptures = CaptureTestFiles.SharedCaptures != null;

        Directory.CreateDirectory(_dir.File("anon"));
        foreach (var original in originals)
        {
            using var reader = CaptureReader.Open(original);
            string name = Path.GetFileName(original);
            string anonymized = _dir.File(Path.Combine("anon", "anon-" + name.Replace(".zst", "").Replace(".gz", "")));
            using var anonymizer = new CaptureAnonymizer(Key, new AnonymizeOptions());
            using (var output = File.Create(anonymized))
                anonymizer.Run(reader, output);
            Samples.Add(new Sample(name, original, anonymized, anonymizer.Counters));
        }

        OriginalDb = _dir.File("original.duckdb");
        AnonymizedDb = _dir.File("anonymized.duckdb");
        foreach (var (db, files) in new[] { (OriginalDb, originals), (AnonymizedDb, Samples.Select(s => s.Anonymized).ToList()) })
        {
            var run = CliRunner.Run(["ingest", .. files, "--db", db], _dir.Path, timeout: TimeSpan.FromMinutes(5));
            if (run.ExitCode != 0) throw new InvalidOperationException($"ingest failed ({run.ExitCode}): {run.Stderr}");
        }
        _originalStore = PcapDhtDatabase.Open(OriginalDb);
        _anonymizedStore = PcapDhtDatabase.Open(AnonymizedDb);
    }

    public AnonymizationKey Key { get; }
    public bool HasSharedCaptures { get; }
    public List<Sample> Samples { get; } = [];
    public string OriginalDb { get; }
    public string AnonymizedDb { get; }
    private readonly PcapDhtDatabase _originalStore;
    private readonly PcapDhtDatabase _anonymizedStore;
    public DuckDBConnection Original => _originalStore.Connection;
    public DuckDBConnection Anonymized => _anonymizedStore.Connection;
    public string TempPath(string name) => _dir.File(name);

    /// <summary>capture_id of a file in one of the databases (sources are stored as given).</summary>
    public static long CaptureId(DuckDBConnection c, string path) =>
        Sql.Long(c, $"SELECT capture_id FROM captures WHERE source = '{path.Replace("'", "''")}' OR source LIKE '%/{Path.GetFileName(path).Replace("'", "''")}'");

    /// <summary>Rows as tab-joined text (so lists of rows compare with one Assert.Equal).</summary>
    public static List<string> Lines(DuckDBConnection c, string sql) =>
        Sql.Rows(c, sql).Select(r => string.Join('\t', r.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture) ?? "∅"))).ToList();

    public void Dispose()
    {
        _originalStore.Dispose();
        _anonymizedStore.Dispose();
        _dir.Dispose();
    }
}
