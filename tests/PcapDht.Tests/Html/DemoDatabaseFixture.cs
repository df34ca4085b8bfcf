using DuckDB.NET.Data;
using PcapDht.Cli;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Html;

/// <summary>
/// The demo's database, made as scripts/demo.sh makes it (the real pcapdht binary ingests the real
/// loopback recording and the synthetic internet-like capture, then imports the shipped ASN excerpt),
/// once per test class. <see cref="Window"/> is the demo's window: the 30 days up to the synthetic
/// capture's last packet, where the public addresses are.
/// </summary>
public sealed class DemoDatabaseFixture : IDisposable
{
    private readonly TempFiles _temp = new();
    public string DbPath { get; }
    public string Until { get; }
    public string[] Window => ["--days", "30", "--until", Until];

    public DemoDatabaseFixture()
    {
        DbPath = _temp.Path("demo.duckdb");
        string samples = System.IO.Path.Combine(RepoPaths.Root, "samples-pcap");
        Check(CliRunner.Run(["ingest", System.IO.Path.Combine(samples, "dht-loopback.pcapng.zst"), System.IO.Path.Combine(samples, "synthetic-dht.pcap"), "--db", DbPath]));
        Check(CliRunner.Run(["asn", "import", .. Directory.GetFiles(RepoPaths.AsnSamples, "*.csv").Order(StringComparer.Ordinal), "--db", DbPath]));
        var until = CliRunner.Run(["query", "SELECT strftime(max(last_ts), '%Y-%m-%dT%H:%M:%SZ') FROM captures WHERE source LIKE '%synthetic-dht.pcap'", "--db", DbPath, "--format", "csv"]);
        Check(until);
        Until = until.Stdout.Trim().Split('\n')[^1].Trim();
    }

    public string Path(string name) => _temp.Path(name);

    /// <summary>pcapdht with these arguments on the demo database.</summary>
    public CliOutput Run(params string[] args) => CliRunner.Run([.. args, "--db", DbPath]);

    public DuckDBConnection OpenReadOnly()
    {
        var c = new DuckDBConnection($"Data Source={DbPath};ACCESS_MODE=READ_ONLY");
        c.Open();
        return c;
    }

    private static void Check(CliOutput o)
    {
        if (o.ExitCode != ExitCodes.Ok) throw new InvalidOperationException($"demo database: exit {o.ExitCode}: {o.Stderr}{o.Stdout}");
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>The test classes that read the demo database share one copy of it.</summary>
[CollectionDefinition(Name)]
public sealed class DemoDatabaseCollection : ICollectionFixture<DemoDatabaseFixture>
{
    public const string Name = "demo database";
}
