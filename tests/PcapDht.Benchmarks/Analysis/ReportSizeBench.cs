using System.Diagnostics;
using System.Globalization;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Ingest;
using PcapDht.Store;
using PcapDht.Synth;
using PcapDht.Synth.Population;

namespace PcapDht.Benchmarks.Analysis;

/// <summary>
/// `report-size [--sightings 10000000] [--population 10000000] [--db FILE]`: builds a store of about that
/// many node sightings from the population generator (lookups in a DHT of --population ids, ingested like
/// any capture), then times <c>report size</c> on it: the library call (median of 3 warm runs) and the whole
/// CLI process, against a baseline in the same run (one full scan of the public node_sightings view that
/// counts its distinct addresses). With --db FILE the store is built there and kept, or, when FILE exists,
/// timed as it is.
/// </summary>
public static class ReportSizeBench
{
    public static bool Handles(string[] args) => args.Length > 0 && args[0] == "report-size";

    public static int Run(string[] args)
    {
        long sightings = Option(args, "--sightings", 10_000_000);
        int population = (int)Option(args, "--population", 10_000_000);
        string? dbPath = args.SkipWhile(a => a != "--db").Skip(1).FirstOrDefault();
        string dir = Directory.CreateTempSubdirectory("pcapdht-report-size-").FullName;
        try
        {
            dbPath ??= Path.Combine(dir, "bench.duckdb");
            if (!File.Exists(dbPath)) Build(dir, dbPath, sightings, population);
            Measure(dbPath);
            return 0;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static long Option(string[] args, string name, long fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? long.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static void Build(string dir, string dbPath, long sightings, int population)
    {
        var ranges = AsnRangeTable.BuiltIn();
        // A pilot of 200 lookups measures sightings per lookup in this population.
        string pilot = Path.Combine(dir, "pilot.pcap");
        var sw = Stopwatch.StartNew();
        using (var fs = File.Create(pilot))
            PopulationGenerator.Generate(new PopulationOptions { Seed = 3, Population = population, Lookups = 200, DetailedTruth = false }, ranges, fs);
        long perLookup;
        using (var store = PcapDhtDatabase.Open(Path.Combine(dir, "pilot.duckdb")))
        {
            new IngestPipeline(store).IngestFile(pilot);
            perLookup = Scalar(store.Connection, "SELECT sum(node_sightings)::BIGINT FROM captures") / 200;
        }
        int lookups = (int)Math.Ceiling((double)sightings / perLookup);
        string capture = Path.Combine(dir, "bench.pcap");
        using (var fs = File.Create(capture))
        {
            var truth = PopulationGenerator.Generate(new PopulationOptions
            {
                Seed = 4, Population = population, Lookups = lookups, Days = 7, DetailedTruth = false,
            }, ranges, fs);
            Console.WriteLine($"generated {lookups} lookups ({truth.KrpcMessages} messages) in a DHT of {population} ids: {sw.Elapsed.TotalSeconds:F1} s");
        }
        sw.Restart();
        using (var store = PcapDhtDatabase.Open(dbPath))
        {
            new IngestPipeline(store).IngestFile(capture);
            Console.WriteLine($"ingested {Scalar(store.Connection, "SELECT sum(node_sightings)::BIGINT FROM captures")} node sightings: {sw.Elapsed.TotalSeconds:F1} s");
        }
        File.Delete(capture);
    }

    private static void Measure(string dbPath)
    {
        using (var store = PcapDhtDatabase.Open(dbPath)) PcapDht.Enrich.RangeStore.EnsureEnrichedViews(store.Connection);
        using var db = new DuckDBConnection($"Data Source={dbPath}");
        db.Open();
        long count = Scalar(db, "SELECT count(*) FROM node_sightings");
        Console.WriteLine($"store: {count} node sightings, {Scalar(db, "SELECT count(*) FROM lookup_queries")} lookup queries; load {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        var baseline = new List<(double Wall, double Cpu)>();
        var size = new List<(double Wall, double Cpu)>();
        SizeResult? result = null;
        for (int run = 0; run < 4; run++)
        {
            var t = Timed(() => Scalar(db, "SELECT count(DISTINCT ip_num) FROM node_sightings"));
            if (run > 0) baseline.Add(t);
            t = Timed(() => result = Reports.SizeEstimate(db, new ReportOptions(), new SizeOptions()));
            if (run > 0) size.Add(t);
        }
        var (bw, bc) = (Median(baseline.Select(x => x.Wall)), Median(baseline.Select(x => x.Cpu)));
        var (sw, sc) = (Median(size.Select(x => x.Wall)), Median(size.Select(x => x.Cpu)));
        var xor = result!.Rows.FirstOrDefault(r => r.Method == Reports.XorMethod);
        Console.WriteLine($"report size: {result.Lookups.Count} lookups, estimate {xor?.Estimate?.Estimate:F0} [{xor?.Estimate?.Low:F0}, {xor?.Estimate?.High:F0}]");
        db.Close();
        var cli = Stopwatch.StartNew();
        using (var p = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "pcapdht.dll"), "report", "size", "--db", dbPath, "--format", "csv"])
               { RedirectStandardOutput = true, RedirectStandardError = true })!)
        {
            p.StandardOutput.ReadToEnd();
            p.WaitForExit();
        }
        double cw = cli.Elapsed.TotalSeconds;
        Console.WriteLine("| measurement | wall s (median of 3 warm runs) | CPU s | wall ratio to baseline |");
        Console.WriteLine("|---|---:|---:|---:|");
        Console.WriteLine($"| baseline: count(DISTINCT ip_num) over node_sightings | {bw:F2} | {bc:F2} | 1.00 |");
        Console.WriteLine($"| Reports.SizeEstimate (library) | {sw:F2} | {sc:F2} | {sw / bw:F2} |");
        Console.WriteLine($"| pcapdht report size (whole process, one cold run) | {cw:F2} | | {cw / bw:F2} |");
    }

    private static (double Wall, double Cpu) Timed(Action action)
    {
        var me = Process.GetCurrentProcess();
        var cpu = me.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        action();
        me.Refresh();
        return (sw.Elapsed.TotalSeconds, (me.TotalProcessorTime - cpu).TotalSeconds);
    }

    private static double Median(IEnumerable<double> v)
    {
        var sorted = v.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static long Scalar(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
