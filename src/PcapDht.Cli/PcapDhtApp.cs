using PcapDht.Cli.Commands;
using Spectre.Console.Cli;

namespace PcapDht.Cli;

/// <summary>Builds the command tree. Each verb lives in Commands/; this file only wires them.</summary>
public static class PcapDhtApp
{
    /// <summary>Verbs that only group others: named alone, they show their help and exit with a usage error.</summary>
    private static readonly string[] Branches = ["anonymize", "asn", "report"];

    public static CommandApp Build(string[]? args = null)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("pcapdht");
            config.SetApplicationVersion(typeof(PcapDhtApp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");
            config.PropagateExceptions();
            config.SetInterceptor(new UnknownOptions(args ?? []));

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
                report.SetDescription("Ready-made reports over a time window (asn, country, clients: the last 30 days of data; overview: all data).");
                report.AddCommand<ReportAsnCommand>("asn")
                    .WithDescription("Distinct IP addresses per ASN.")
                    .WithExample("report", "asn", "--days", "30", "--top", "20", "--chart", "asn.svg");
                report.AddCommand<ReportCountryCommand>("country")
                    .WithDescription("Distinct IP addresses per country.")
                    .WithExample("report", "country", "--format", "csv", "--chart", "countries.png");
                report.AddCommand<ReportClientsCommand>("clients")
                    .WithDescription("Nodes per client (the KRPC 'v' key), with decoded versions.")
                    .WithExample("report", "clients", "--top", "10");
                report.AddCommand<ReportOverviewCommand>("overview")
                    .WithDescription("Time span, captures, messages by type, distinct IPs and nodes, malformed counts.")
                    .WithExample("report", "overview");
                report.AddCommand<ReportSizeCommand>("size")
                    .WithDescription("How many nodes the DHT has: an estimate with a 95% interval from converged lookups (XOR distances), and mark-recapture.")
                    .WithExample("report", "size", "--days", "7", "--format", "json");
                report.AddCommand<ReportIpCommand>("ip")
                    .WithDescription("Per-address profiles (ip_profiles): ASN, first/last seen, messages, ids, ports, BEP 42, clients; one address adds its daily activity.")
                    .WithExample("report", "ip", "203.0.113.7")
                    .WithExample("report", "ip", "--asn", "12389", "--top", "20");
                report.AddCommand<ReportSybilCommand>("sybil")
                    .WithDescription("Addresses with Sybil signs: more than 8 node ids, changing ids, ids not BEP 42-valid, id clusters around info-hashes.")
                    .WithExample("report", "sybil", "--by", "asn");
                report.AddCommand<ReportBep42Command>("bep42")
                    .WithDescription("Share of BEP 42-compliant (address, node id) pairs among senders, per client or per ASN.")
                    .WithExample("report", "bep42", "--by", "asn", "--top", "10");
                report.AddCommand<ReportDailyCommand>("daily")
                    .WithDescription("Churn per day: distinct, new, returning and gone addresses, overall or for the top ASNs.")
                    .WithExample("report", "daily", "--days", "14", "--by", "asn", "--top", "5")
                    .WithExample("report", "daily", "--days", "30", "--chart", "churn.svg");
                report.AddCommand<ReportHtmlCommand>("html")
                    .WithDescription("One self-contained HTML page with every report as charts, a world map and tables (no network needed to open it).")
                    .WithExample("report", "html", "--out", "report.html", "--days", "30");
            });

            config.AddBranch("anonymize", anonymize =>
            {
                anonymize.SetDescription("Prefix-preserving (Crypto-PAn) anonymization of captures and addresses, for sharing measurements (docs/privacy.md).");
                anonymize.AddCommand<AnonymizeCaptureCommand>("capture")
                    .WithDescription("Rewrite a capture with every IP address mapped (also `pcapdht anonymize IN OUT --key KEYFILE`).")
                    .WithExample("anonymize", "capture", "dht.pcapng.zst", "shared.pcapng.zst", "--key", "dht.key");
                anonymize.AddCommand<AnonymizeKeygenCommand>("keygen")
                    .WithDescription("Create a new random key file (64 hex digits, mode 0600); never overwrites.")
                    .WithExample("anonymize", "keygen", "dht.key");
                anonymize.AddCommand<AnonymizeAddressCommand>("address")
                    .WithDescription("Print what each address maps to under a key (find your own address in a shared data set).")
                    .WithExample("anonymize", "address", "192.0.2.1", "2001:db8::1", "--key", "dht.key");
            });

            config.AddCommand<ExportCommand>("export")
                .WithDescription("Write the database's captures not yet exported to a Hive-partitioned Parquet lake (several sensors per lake; --anonymize for sharing).")
                .WithExample("export", "lake/", "--db", "dht.duckdb", "--sensor", "fra1")
                .WithExample("export", "shared/", "--anonymize", "dht.key", "--anonymize-ids");

            config.AddCommand<SynthCommand>("synth")
                .WithDescription("Write a deterministic synthetic DHT capture (public addresses from ASN ranges) and its ground-truth JSON.")
                .WithExample("synth", "--out", "synthetic.pcap", "--seed", "7", "--packets", "40000", "--asn-ranges", "asn-ipv4.csv", "--asn-ranges", "asn-ipv6.csv");

            config.AddCommand<CheckCommand>("check")
                .WithDescription("Read every block of the database and verify the store (counters equal rows, no dead writer); --compact rewrites it without free space.")
                .WithExample("check", "--db", "dht.duckdb", "--compact");

            config.AddCommand<PruneCommand>("prune")
                .WithDescription("Delete detail rows older than a duration before the newest message (data time); the daily rollups stay, so asn/country/overview over the whole history do not change.")
                .WithExample("prune", "--keep-detail", "7d", "--db", "dht.duckdb")
                .WithExample("prune", "--keep-detail", "0");

            config.AddCommand<QueryCommand>("query")
                .WithDescription("Run SQL against the database (read-only unless --write).")
                .WithExample("query", "\"SELECT count(DISTINCT ip) FROM node_sightings\"", "--format", "csv");
        });
        return app;
    }

    private static readonly string[] AnonymizeVerbs = ["keygen", "address", "capture", "-h", "--help", "-?"];

    /// <summary>
    /// `anonymize IN OUT` is `anonymize capture IN OUT`; a bare "-" there is standard input or output.
    /// </summary>
    private static string[] AnonymizeStdio(string[] args)
    {
        var copy = AnonymizeVerbs.Contains(args[1]) ? (string[])args.Clone() : [args[0], "capture", .. args[1..]];
        if (copy[1] != "capture") return copy;
        int positional = 0;
        for (int i = 2; i < copy.Length; i++)
        {
            if (copy[i] is "-k" or "--key" or "--payload-bytes") { i++; continue; }
            if (copy[i].StartsWith('-') && copy[i] != "-") continue;
            if (copy[i] == "-") copy[i] = positional == 0 ? "/dev/stdin" : "/dev/stdout";
            positional++;
        }
        return copy;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; cts.Cancel(); });
        bool verbose = args.Contains("--verbose");
        // Spectre.Console.Cli reads a bare "-" as an option without a name; for `query -` and
        // `ingest -` it means standard input, for `synth --out -` standard output.
        if (args.Length > 0 && args[0] == "query")
            args = Array.ConvertAll(args, a => a == "-" ? QuerySettings.StdinArgument : a);
        else if (args.Length > 0 && args[0] == "ingest")
            args = Array.ConvertAll(args, a => a == "-" ? "/dev/stdin" : a);
        else if (args.Length > 0 && args[0] == "synth")
            args = Array.ConvertAll(args, a => a == "-" ? "/dev/stdout" : a);
        else if (args.Length > 1 && args[0] == "anonymize")
            args = AnonymizeStdio(args);
        try
        {
            if (args.Length == 0 || (args.Length == 1 && Branches.Contains(args[0])))
            {
                // Help, but not success: a script that lost its arguments must not think the work was done.
                await Build().RunAsync([.. args, "--help"], cts.Token);
                return ExitCodes.Usage;
            }
            return await Build(args).RunAsync(args, cts.Token);
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"pcapdht {ex.Message}");
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is CommandParseException or CommandRuntimeException)
        {
            // An unknown option is the likelier cause (it may have eaten the argument the error is about).
            Console.Error.WriteLine(UnknownOptions.Explain(args) ?? $"pcapdht: {ex.Message} (see pcapdht --help)");
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (!verbose)
        {
            Console.Error.WriteLine($"pcapdht: {ex.Message} (run with --verbose for details)");
            return ExitCodes.Failure;
        }
    }
}
