using DuckDB.NET.Data;
using PcapDht.Cli;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// The database scripts/demo.sh builds, built the same way through the real binary: the real loopback
/// recording (private and loopback addresses, the newest data), the synthetic internet-like capture
/// (public addresses, six weeks that end two months earlier), and the committed @ip-location-db excerpt.
/// </summary>
public sealed class DemoDatabaseFixture : IDisposable
{
    private readonly TempFiles _temp = new();
    public string DbPath { get; }

    /// <summary>The synthetic capture's last timestamp, as demo.sh passes it to --until.</summary>
    public const string SyntheticEnd = "2026-09-30T12:00:00Z";

    public static string Sample(string name) => Path.Combine(RepoPaths.Root, "samples-pcap", name);

    public DemoDatabaseFixture()
    {
        DbPath = _temp.Path("demo.duckdb");
        Check(CliRunner.Run(["ingest", Sample("dht-loopback.pcapng.zst"), Sample("synthetic-dht.pcap"), "--db", DbPath]));
        var asn = Directory.GetFiles(RepoPaths.AsnSamples, "*.csv").Order(StringComparer.Ordinal);
        Check(CliRunner.Run(["asn", "import", .. asn, "--db", DbPath]));
    }

    private static void Check(CliOutput o)
    {
        if (o.ExitCode != ExitCodes.Ok) throw new InvalidOperationException($"demo fixture: exit {o.ExitCode}: {o.Stderr}");
    }

    public DuckDBConnection OpenReadOnly()
    {
        var c = new DuckDBConnection($"Data Source={DbPath};ACCESS_MODE=READ_ONLY");
        c.Open();
        return c;
    }

    public CliOutput Run(params string[] args) => CliRunner.Run([.. args, "--db", DbPath]);

    public void Dispose() => _temp.Dispose();
}
