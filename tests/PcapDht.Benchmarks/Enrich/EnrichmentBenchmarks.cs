using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using DuckDB.NET.Data;
using PcapDht.Enrich;

namespace PcapDht.Benchmarks.Enrich;

/// <summary>
/// Enriching 10 million sightings against a table the size of the full public ASN data
/// (500 000 disjoint ranges, 90 % IPv4 / 10 % IPv6): the ASOF join the enriched views use
/// versus a plain BETWEEN join. Both count matched sightings so DuckDB must do the whole lookup.
/// Data is generated in SQL in an in-memory database (nothing written to disk).
/// </summary>
[Config(typeof(InProcessShortConfig))]
[MemoryDiagnoser]
public class EnrichmentBenchmarks
{
    /// <summary>Each operation takes seconds: 1 warm-up and 3 measured runs, in process (the work is in DuckDB's native code).</summary>
    private sealed class InProcessShortConfig : ManualConfig
    {
        public InProcessShortConfig() =>
            AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3));
    }

    private DuckDBConnection _db = null!;

    [Params(10_000_000)]
    public int Sightings { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _db = new DuckDBConnection("Data Source=:memory:");
        _db.Open();
        RangeStore.EnsureSchema(_db);
        Exec($"""
            -- v4: one range per 8192 addresses, half of them 4096 long (gaps like unrouted space);
            -- v6: /32-sized ranges spread over 2000::/3.
            INSERT INTO asn_ranges
            SELECT 281470681743360::UHUGEINT + (i * 8192)::UHUGEINT,
                   281470681743360::UHUGEINT + (i * 8192 + 4095 + (i % 2) * 4096)::UHUGEINT,
                   (i % 60000)::UINTEGER, 'AS' || (i % 60000), 'C' || (i % 200)
            FROM range(450000) t(i);
            INSERT INTO asn_ranges
            SELECT (42535295865117307932921825928971026432::UHUGEINT + (i::UHUGEINT << 96)),
                   (42535295865117307932921825928971026432::UHUGEINT + (i::UHUGEINT << 96) + ((1::UHUGEINT << 96) - 1)),
                   (i % 60000)::UINTEGER, 'AS' || (i % 60000), 'C' || (i % 200)
            FROM range(50000) t(i);
            CREATE TABLE node_sightings AS
            SELECT i AS frame_no,
                   CASE WHEN i % 10 = 0
                        THEN 42535295865117307932921825928971026432::UHUGEINT + ((hash(i) % 60000)::UHUGEINT << 96) + hash(i * 7)::UHUGEINT
                        ELSE 281470681743360::UHUGEINT + (hash(i) % 3690987520)::UHUGEINT END AS ip_num
            FROM range({Sightings}) t(i);
            """);
    }

    [Benchmark(Baseline = true)]
    public long BetweenJoin() => Scalar("""
        SELECT count(a.asn) FROM node_sightings s
        LEFT JOIN asn_ranges a ON s.ip_num BETWEEN a.start_num AND a.end_num
        """);

    [Benchmark]
    public long AsofJoin() => Scalar("""
        SELECT count(CASE WHEN s.ip_num <= a.end_num THEN a.asn END) FROM node_sightings s
        ASOF LEFT JOIN asn_ranges a ON s.ip_num >= a.start_num
        """);

    [GlobalCleanup]
    public void Cleanup() => _db.Dispose();

    private void Exec(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private long Scalar(string sql)
    {
        using var cmd = _db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar());
    }
}
