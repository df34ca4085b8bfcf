using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using PcapDht.Synth;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class SynthSettings : CommandSettings
{
    [CommandOption("-o|--out <FILE>")]
    [Description("Capture file to write (.pcap or .pcapng), or - for stdout (e.g. `| pcapdht ingest -`; the ground truth is then written only with --truth).")]
    public string? Out { get; init; }

    [CommandOption("--seed <N>")]
    [Description("Random seed; equal seed and options give a byte-identical file. Default 1.")]
    public ulong Seed { get; init; } = 1;

    [CommandOption("--packets <N>")]
    [Description("Exact number of frames to write. Default 100000.")]
    public long? Packets { get; init; }

    [CommandOption("--messages <N>")]
    [Description("Exact number of well-formed KRPC messages instead (noise frames come on top).")]
    public long? Messages { get; init; }

    [CommandOption("--asn-ranges <FILE>")]
    [Description("ASN range file(s) in the ip-location-db asn CSV layout (start_ip,end_ip,asn,as_org); repeatable. Default: a small built-in fictional table.")]
    public string[]? AsnRanges { get; init; }

    [CommandOption("--country-ranges <FILE>")]
    [Description("Country range file(s) in the ip-location-db asn-country layout (start_ip,end_ip,country_code); repeatable. Adds per-country counts to the ground truth.")]
    public string[]? CountryRanges { get; init; }

    [CommandOption("--nodes <N>")]
    [Description("Remote DHT nodes (the address pool: nodes/nodes6 entries are drawn uniformly from it, so with enough responses nearly every one is seen). Default: packets/5, 300..400000.")]
    public int? Nodes { get; init; }

    [CommandOption("--days <N>")]
    [Description("Days of traffic, ending at --end. Default 42 (1 with --population).")]
    public int? Days { get; init; }

    [CommandOption("--end <TIME>")]
    [Description("UTC time of the newest KRPC message (ISO 8601). Default 2026-09-30T12:00:00Z.")]
    public string? End { get; init; }

    [CommandOption("--window-days <N>")]
    [Description("Report window of the ground truth (last N days). Default 30.")]
    public int WindowDays { get; init; } = 30;

    [CommandOption("--format <FORMAT>")]
    [Description("pcap or pcapng. Default: from the --out extension, else pcap.")]
    public string? Format { get; init; }

    [CommandOption("--truth <FILE>")]
    [Description("Ground-truth JSON to write. Default: next to --out as NAME.truth.json.")]
    public string? Truth { get; init; }

    [CommandOption("--population <N>")]
    [Description("Population scenario instead: lookups in a DHT of exactly N random ids, with planted Sybils and churn (docs/synth.md).")]
    public int? Population { get; init; }

    [CommandOption("--lookups <N>")]
    [Description("With --population: lookups the observer runs. Default 300.")]
    public int? Lookups { get; init; }

    [CommandOption("--early-stop <SHARE>")]
    [Description("With --population: share of lookups cut short before they converge. Default 0.2.")]
    public double? EarlyStop { get; init; }

    [CommandOption("--visitors <N>")]
    [Description("With --population: nodes that ping the observer on some days (churn, BEP 42 mix). Default 0.")]
    public int Visitors { get; init; }

    [CommandOption("--sybils <N>")]
    [Description("With --population: addresses announcing 9-30 node ids each. Default 0.")]
    public int Sybils { get; init; }

    [CommandOption("--id-changers <N>")]
    [Description("With --population: endpoints that change their node id. Default 0.")]
    public int IdChangers { get; init; }

    [CommandOption("--prefix-clusters <N>")]
    [Description("With --population: clusters of ids sharing 48 bits with an info-hash. Default 0.")]
    public int PrefixClusters { get; init; }

    [CommandOption("--verbose")]
    [Description("Show stack traces on errors.")]
    public bool Verbose { get; init; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrEmpty(Out)) return ValidationResult.Error("--out FILE is required");
        if (Packets.HasValue && Messages.HasValue) return ValidationResult.Error("give --packets or --messages, not both");
        if (Population.HasValue && Nodes.HasValue) return ValidationResult.Error("--nodes is not an option of --population (give the DHT size as --population N)");
        if (Population.HasValue && (Packets.HasValue || Messages.HasValue)) return ValidationResult.Error("--population sets its own size: drop --packets/--messages");
        if (Format is not (null or "pcap" or "pcapng")) return ValidationResult.Error("--format must be pcap or pcapng");
        if (End != null && !DateTimeOffset.TryParse(End, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out _))
            return ValidationResult.Error($"--end '{End}' is not an ISO 8601 time");
        return ValidationResult.Success();
    }
}

public sealed class SynthCommand : Command<SynthSettings>
{
    public override int Execute(CommandContext context, SynthSettings settings, CancellationToken cancellationToken)
    {
        string output = settings.Out!;
        var format = settings.Format switch
        {
            "pcapng" => SynthFormat.PcapNg,
            "pcap" => SynthFormat.Pcap,
            _ => output.EndsWith(".pcapng", StringComparison.OrdinalIgnoreCase) ? SynthFormat.PcapNg : SynthFormat.Pcap,
        };
        bool toStdout = output is "-" or "/dev/stdout";
        string? truthPath = settings.Truth ?? (toStdout ? null : DefaultTruthPath(output));

        AsnRangeTable table;
        string label, countryLabel = "";
        CountryRangeTable? countries = null;
        try
        {
            if (settings.AsnRanges is { Length: > 0 } files)
            {
                foreach (var f in files)
                {
                    if (!File.Exists(f))
                    {
                        Console.Error.WriteLine($"pcapdht synth: ASN range file '{f}' not found");
                        return ExitCodes.InputError;
                    }
                }
                table = AsnRangeTable.Load(files);
                label = string.Join(",", files.Select(Path.GetFileName));
            }
            else
            {
                table = AsnRangeTable.BuiltIn();
                label = "built-in";
            }
            if (settings.CountryRanges is { Length: > 0 } cfiles)
            {
                foreach (var f in cfiles)
                {
                    if (!File.Exists(f))
                    {
                        Console.Error.WriteLine($"pcapdht synth: country range file '{f}' not found");
                        return ExitCodes.InputError;
                    }
                }
                countries = CountryRangeTable.Load(cfiles);
                countryLabel = string.Join(",", cfiles.Select(Path.GetFileName));
            }
        }
        catch (AsnRangeFormatException ex)
        {
            Console.Error.WriteLine($"pcapdht synth: {ex.Message}");
            return ExitCodes.InputError;
        }

        if (settings.Population is { } population)
        {
            if (toStdout || truthPath is null)
            {
                Console.Error.WriteLine("pcapdht synth: --population writes to a file: give --out FILE");
                return ExitCodes.Usage;
            }
            return PopulationSynth.Run(settings, population, format, table, label, truthPath);
        }

        var options = new SynthOptions
        {
            Seed = settings.Seed,
            Packets = settings.Packets ?? 100_000,
            Messages = settings.Messages,
            Days = settings.Days ?? 42,
            Nodes = settings.Nodes ?? 0,
            WindowDays = settings.WindowDays,
            Format = format,
            RangesLabel = label,
            Countries = countries,
            CountriesLabel = countryLabel,
            End = settings.End is null ? new SynthOptions().End
                : DateTimeOffset.Parse(settings.End, CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"pcapdht synth: {ex.Message}");
            return ExitCodes.Usage;
        }

        var sw = Stopwatch.StartNew();
        SynthTruth truth;
        try
        {
            using (Stream stream = toStdout ? new BufferedStream(Console.OpenStandardOutput(), 1 << 20)
                       : new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                truth = SynthGenerator.Generate(options, table, stream);
            if (truthPath != null)
            {
                using var ts = new FileStream(truthPath, FileMode.Create, FileAccess.Write);
                truth.WriteJson(ts);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && !settings.Verbose)
        {
            Console.Error.WriteLine($"pcapdht synth: cannot write: {ex.Message}");
            return ExitCodes.Failure;
        }
        sw.Stop();

        double secs = Math.Max(sw.Elapsed.TotalSeconds, 1e-6);
        var inv = CultureInfo.InvariantCulture;
        // With the capture on stdout the summary goes to stderr, so it cannot corrupt the pipe.
        var log = toStdout ? Console.Error : Console.Out;
        log.WriteLine(string.Create(inv,
            $"wrote {truth.Frames} frames ({truth.KrpcMessages} KRPC messages, {truth.Malformed} malformed, {truth.FragmentFrames} fragment frames) to {(toStdout ? "stdout" : output)}"));
        log.WriteLine(string.Create(inv,
            $"time {SynthTruth.FormatTime(truth.FirstTimestampUs)} .. {SynthTruth.FormatTime(truth.LastTimestampUs)}; window {settings.WindowDays} days: {truth.DistinctIps} distinct node IPs in {truth.Asns.Count(a => a.Ips > 0)} ASNs"));
        log.WriteLine(string.Create(inv,
            $"{truth.NodeSightings} node sightings, {truth.DistinctIpsAllTime} distinct node IPs over {truth.Days} days"));
        if (truthPath != null) log.WriteLine(string.Create(inv, $"ground truth: {truthPath}"));
        log.WriteLine(string.Create(inv, $"{secs:F2} s, {truth.Frames / secs:F0} frames/s"));
        return ExitCodes.Ok;
    }

    internal static string DefaultTruthPath(string capture)
    {
        string dir = Path.GetDirectoryName(capture) ?? "";
        string name = Path.GetFileName(capture);
        foreach (var ext in new[] { ".pcapng", ".pcap" })
        {
            if (name.EndsWith(ext, StringComparison.OrdinalIgnoreCase)) { name = name[..^ext.Length]; break; }
        }
        return Path.Combine(dir, name + ".truth.json");
    }
}
