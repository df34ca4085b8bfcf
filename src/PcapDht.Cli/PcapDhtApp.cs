using PcapDht.Cli.Commands;
using Spectre.Console.Cli;

namespace PcapDht.Cli;

/// <summary>Builds the command tree. Each verb lives in Commands/; this file only wires them.</summary>
public static class PcapDhtApp
{
    public static CommandApp Build()
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("pcapdht");
            config.SetApplicationVersion(typeof(PcapDhtApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
            config.PropagateExceptions();

            config.AddCommand<IngestCommand>("ingest")
                .WithDescription("Read .pcap/.pcapng files (also .gz/.zst, or - for stdin), decode KRPC, write to DuckDB.")
                .WithExample("ingest", "captures/*.pcapng.zst", "--db", "dht.duckdb");

            config.AddCommand<SniffCommand>("sniff")
                .WithDescription("Capture a live interface passively (never sends) into the same DuckDB store.")
                .WithExample("sniff", "-i", "eth0", "--db", "dht.duckdb", "--duration", "1h");

            config.AddBranch("asn", asn =>
            {
                asn.SetDescription("IP-to-ASN and IP-to-country data sets used to enrich sightings.");
                asn.AddCommand<AsnImportCommand>("import")
                    .WithDescription("Import iptoasn TSV, IPinfo Lite CSV, ip-location-db CSV, GeoLite2-ASN CSV or MMDB files.")
                    .WithExample("asn", "import", "ip2asn-combined.tsv.gz", "--db", "dht.duckdb");
                asn.AddCommand<AsnStatusCommand>("status")
                    .WithDescription("Show the imported data sets with row counts, dates and attribution.")
                    .WithExample("asn", "status", "--db", "dht.duckdb");
            });

            config.AddBranch("report", report =>
            {
                report.SetDescription("Ready-made reports over a time window (default: the last 30 days of data).");
                report.AddCommand<ReportAsnCommand>("asn")
                    .WithDescription("Distinct IP addresses per ASN.")
                    .WithExample("report", "asn", "--days", "30", "--top", "20");
                report.AddCommand<ReportCountryCommand>("country")
                    .WithDescription("Distinct IP addresses per country.")
                    .WithExample("report", "country", "--format", "csv");
                report.AddCommand<ReportClientsCommand>("clients")
                    .WithDescription("Nodes per client (the KRPC 'v' key), with decoded versions.")
                    .WithExample("report", "clients", "--top", "10");
                report.AddCommand<ReportOverviewCommand>("overview")
                    .WithDescription("Time span, captures, messages by type, distinct IPs and nodes, malformed counts.")
                    .WithExample("report", "overview");
            });

            config.AddCommand<SynthCommand>("synth")
                .WithDescription("Write a deterministic synthetic DHT capture (public addresses from ASN ranges) and its ground-truth JSON.")
                .WithExample("synth", "--out", "synthetic.pcap", "--seed", "7", "--packets", "40000", "--asn-ranges", "asn-ipv4.csv", "--asn-ranges", "asn-ipv6.csv");

            config.AddCommand<CheckCommand>("check")
                .WithDescription("Read every block of the database and verify the store (counters equal rows, no dead writer); --compact rewrites it without free space.")
                .WithExample("check", "--db", "dht.duckdb", "--compact");

            config.AddCommand<QueryCommand>("query")
                .WithDescription("Run SQL against the database (read-only unless --write).")
                .WithExample("query", "\"SELECT count(DISTINCT ip) FROM node_sightings\"", "--format", "csv");
        });
        return app;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cts.Cancel(); });
        bool verbose = args.Contains("--verbose");
        // Spectre.Console.Cli reads a bare "-" as an option without a name; for `query -` and
        // `ingest -` it means standard input.
        if (args.Length > 0 && args[0] == "query")
            args = Array.ConvertAll(args, a => a == "-" ? QuerySettings.StdinArgument : a);
        else if (args.Length > 0 && args[0] == "ingest")
            args = Array.ConvertAll(args, a => a == "-" ? "/dev/stdin" : a);
        try
        {
            return await Build().RunAsync(args, cts.Token);
        }
        catch (CommandParseException ex)
        {
            Console.Error.WriteLine($"pcapdht: {ex.Message} (see pcapdht --help)");
            return ExitCodes.Usage;
        }
        catch (CommandRuntimeException ex)
        {
            Console.Error.WriteLine($"pcapdht: {ex.Message} (see pcapdht --help)");
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (!verbose)
        {
            Console.Error.WriteLine($"pcapdht: {ex.Message} (run with --verbose for details)");
            return ExitCodes.Failure;
        }
    }
}
