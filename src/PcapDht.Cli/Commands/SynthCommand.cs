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
    [Description("Capture file to write (.pcap or .pcapng).")]
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

    [CommandOption("--days <N>")]
    [Description("Days of traffic, ending at --end. Default 42.")]
    public int Days { get; init; } = 42;

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

    [CommandOption("--verbose")]
    [Description("Show stack traces on errors.")]
    public bool Verbose { get; init; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrEmpty(Out)) return ValidationResult.Error("--out FILE is required");
        if (Packets.HasValue && Messages.HasValue) return ValidationResult.Error("give --packets or --messages, not both");
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
        string truthPath = settings.Truth ?? DefaultTruthPath(output);

        AsnRangeTable table;
        string label;
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
        }
        catch (AsnRangeFormatException ex)
        {
            Console.Error.WriteLine($"pcapdht synth: {ex.Message}");
            return ExitCodes.InputError;
        }

        var options = new SynthOptions
        {
            Seed = settings.Seed,
            Packets = settings.Packets ?? 100_000,
            Messages = settings.Messages,
            Days = settings.Days,
            WindowDays = settings.WindowDays,
            Format = format,
            RangesLabel = label,
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
            using (var stream = new FileStream(output, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
                truth = SynthGenerator.Generate(options, table, stream);
            using (var ts = new FileStream(truthPath, FileMode.Create, FileAccess.Write))
                truth.WriteJson(ts);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && !settings.Verbose)
        {
            Console.Error.WriteLine($"pcapdht synth: cannot write: {ex.Message}");
            return ExitCodes.Failure;
        }
        sw.Stop();

        double secs = Math.Max(sw.Elapsed.TotalSeconds, 1e-6);
        var inv = CultureInfo.InvariantCulture;
        Console.Out.WriteLine(string.Create(inv,
            $"wrote {truth.Frames} frames ({truth.KrpcMessages} KRPC messages, {truth.Malformed} malformed, {truth.FragmentFrames} fragment frames) to {output}"));
        Console.Out.WriteLine(string.Create(inv,
            $"time {SynthTruth.FormatTime(truth.FirstTimestampUs)} .. {SynthTruth.FormatTime(truth.LastTimestampUs)}; window {settings.WindowDays} days: {truth.DistinctIps} distinct node IPs in {truth.Asns.Count(a => a.Ips > 0)} ASNs"));
        Console.Out.WriteLine(string.Create(inv, $"ground truth: {truthPath}"));
        Console.Out.WriteLine(string.Create(inv, $"{secs:F2} s, {truth.Frames / secs:F0} frames/s"));
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
