using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using PcapDht.Anonymize;
using PcapDht.Capture;
using PcapDht.Cli.Rendering;
using PcapDht.Net;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class AnonymizeKeygenSettings : CommandSettings
{
    [CommandArgument(0, "<KEYFILE>")]
    [Description("File to create (mode 0600). An existing file is never overwritten.")]
    public string KeyFile { get; init; } = "";
}

public sealed class AnonymizeKeygenCommand : Command<AnonymizeKeygenSettings>
{
    public override int Execute(CommandContext context, AnonymizeKeygenSettings settings, CancellationToken cancellationToken)
    {
        try
        {
            AnonymizationKey.Generate().WriteNew(settings.KeyFile);
        }
        catch (AnonymizationKeyException ex)
        {
            Console.Error.WriteLine($"pcapdht anonymize keygen: {ex.Message}");
            return ExitCodes.Failure;
        }
        Console.Out.WriteLine($"wrote a new Crypto-PAn key to {settings.KeyFile} (mode 0600); keep it secret and keep a copy: without it a data set cannot be extended consistently");
        return ExitCodes.Ok;
    }
}

public sealed class AnonymizeAddressSettings : CommandSettings
{
    [CommandArgument(0, "<ADDRESS>")]
    [Description("IPv4 or IPv6 addresses to map.")]
    public string[] Addresses { get; init; } = [];

    [CommandOption("-k|--key <KEYFILE>")]
    [Description("Key file (64 hex digits: AES key, then pad), as made by `anonymize keygen`.")]
    public string? Key { get; init; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrEmpty(Key)) return ValidationResult.Error("--key KEYFILE is required");
        foreach (var a in Addresses)
        {
            if (!IPAddress.TryParse(a, out _)) return ValidationResult.Error($"'{a}' is not an IPv4 or IPv6 address");
        }
        return ValidationResult.Success();
    }
}

public sealed class AnonymizeAddressCommand : Command<AnonymizeAddressSettings>
{
    public override int Execute(CommandContext context, AnonymizeAddressSettings settings, CancellationToken cancellationToken)
    {
        if (AnonymizeCliKey.Load(settings.Key!, "address") is not { } key) return ExitCodes.InputError;
        using var mapper = new AddressAnonymizer(key);
        foreach (var text in settings.Addresses)
        {
            var address = IpAddr.Parse(text);
            Console.Out.WriteLine($"{address}\t{mapper.Map(address)}");
        }
        return ExitCodes.Ok;
    }
}

public sealed class AnonymizeCaptureSettings : CommandSettings
{
    [CommandArgument(0, "<IN>")]
    [Description("Capture to read: pcap or pcapng, plain, gzip or zstd (detected by content); - for standard input.")]
    public string Input { get; init; } = "";

    [CommandArgument(1, "<OUT>")]
    [Description("Capture to write, in the input's container (pcap or pcapng); gzip or zstd when it ends in .gz or .zst; - for standard output.")]
    public string Output { get; init; } = "";

    [CommandOption("-k|--key <KEYFILE>")]
    [Description("Key file (64 hex digits), as made by `anonymize keygen`.")]
    public string? Key { get; init; }

    [CommandOption("--keep-payloads")]
    [Description("Keep payloads that are not KRPC (uTP, DNS, TCP, ...) whole. Addresses inside them are NOT rewritten.")]
    public bool KeepPayloads { get; init; }

    [CommandOption("--payload-bytes <N>")]
    [Description("Bytes kept of a payload that is not KRPC (without --keep-payloads). Default 8.")]
    [DefaultValue(8)]
    public int PayloadBytes { get; init; } = 8;

    [CommandOption("--verbose")]
    [Description("Show stack traces on errors.")]
    public bool Verbose { get; init; }

    public override ValidationResult Validate()
    {
        if (string.IsNullOrEmpty(Key)) return ValidationResult.Error("--key KEYFILE is required (make one with `pcapdht anonymize keygen KEYFILE`)");
        if (PayloadBytes < 0) return ValidationResult.Error("--payload-bytes cannot be negative");
        return ValidationResult.Success();
    }
}

public sealed class AnonymizeCaptureCommand : Command<AnonymizeCaptureSettings>
{
    public override int Execute(CommandContext context, AnonymizeCaptureSettings settings, CancellationToken cancellationToken)
    {
        const string verb = "pcapdht anonymize";
        string input = settings.Input == "-" ? "/dev/stdin" : settings.Input;
        bool toStdout = settings.Output is "-" or "/dev/stdout";
        var report = toStdout ? Console.Error : Console.Out;
        if (!toStdout && input != "/dev/stdin" && File.Exists(input)
            && string.Equals(Path.GetFullPath(input), Path.GetFullPath(settings.Output), StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"{verb}: OUT is the input file; write the anonymized capture elsewhere");
            return ExitCodes.Usage;
        }
        if (AnonymizeCliKey.Load(settings.Key!, "") is not { } key) return ExitCodes.InputError;

        CaptureReader reader;
        try
        {
            reader = CaptureReader.Open(input);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CaptureFormatException)
        {
            Console.Error.WriteLine($"{verb}: {ex.Message}");
            return ExitCodes.InputError;
        }

        var options = new AnonymizeOptions { KeepPayloads = settings.KeepPayloads, PayloadBytes = settings.PayloadBytes };
        // Written next to OUT and renamed at the end, so OUT is never a half-written capture.
        string temporary = toStdout ? "" : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(settings.Output)) ?? ".",
            $".{Path.GetFileName(settings.Output)}.{Environment.ProcessId}.tmp");
        var sw = Stopwatch.StartNew();
        AnonymizeCounters counters;
        CaptureDamage? damage;
        using (reader)
        using (var anonymizer = new CaptureAnonymizer(key, options))
        {
            bool moved = false;
            try
            {
                using (var output = OpenOutput(settings.Output, temporary, toStdout))
                {
                    BusySpinner.Run($"anonymizing {settings.Input}", () =>
                    {
                        anonymizer.Run(reader, output, cancellationToken);
                        return 0;
                    });
                }
                if (!toStdout) File.Move(temporary, settings.Output, overwrite: true);
                moved = true;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"{verb}: interrupted; {settings.Output} was not written");
                return ExitCodes.Interrupted;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException && !settings.Verbose)
            {
                Console.Error.WriteLine($"{verb}: cannot write {settings.Output}: {ex.Message}");
                return ExitCodes.Failure;
            }
            finally
            {
                // Whatever stopped the run, no half-written file is left behind.
                if (!moved) Delete(temporary);
            }
            counters = anonymizer.Counters;
            damage = reader.Damage;
        }
        sw.Stop();

        var inv = CultureInfo.InvariantCulture;
        double seconds = Math.Max(sw.Elapsed.TotalSeconds, 1e-6);
        report.WriteLine(string.Create(inv,
            $"wrote {counters.FramesWritten} frames to {settings.Output}: {counters.AddressesMapped} address fields mapped ({counters.DistinctAddresses} distinct addresses), {counters.KrpcPayloads} KRPC payloads rewritten, {counters.FragmentedDatagramsRewritten} fragmented datagrams put together"));
        report.WriteLine(string.Create(inv,
            $"not written: {counters.OtherPayloadsCut} other payloads cut to {settings.PayloadBytes} bytes, {counters.KrpcFieldsCleared} unreadable KRPC fields cleared, {counters.FragmentedDatagramsGivenUp} incomplete fragmented datagrams cut, {counters.FramesNotParsed} frames with unreadable parts cut"));
        report.WriteLine(string.Create(inv, $"{seconds:F2} s, {counters.FramesRead / seconds:F0} frames/s"));
        if (damage is { } d)
        {
            Console.Error.WriteLine($"{verb}: {settings.Input}: {d} (the {counters.FramesWritten} frames before it were written)");
            return ExitCodes.Partial;
        }
        return ExitCodes.Ok;
    }

    private static Stream OpenOutput(string output, string temporary, bool toStdout)
    {
        Stream raw = toStdout
            ? Console.OpenStandardOutput()
            : new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        if (output.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) return new GZipStream(raw, CompressionLevel.Optimal);
        if (output.EndsWith(".zst", StringComparison.OrdinalIgnoreCase)) return new ZstdSharp.CompressionStream(raw, 9, leaveOpen: false);
        return toStdout ? new BufferedStream(raw, 1 << 20) : raw;
    }

    private static void Delete(string path)
    {
        if (path.Length == 0) return;
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>Loads a key for the CLI: one-line errors, and a warning when others can read it.</summary>
internal static class AnonymizeCliKey
{
    public static AnonymizationKey? Load(string path, string sub)
    {
        string verb = sub.Length == 0 ? "pcapdht anonymize" : $"pcapdht anonymize {sub}";
        try
        {
            var key = AnonymizationKey.Load(path);
            if (AnonymizationKey.IsReadableByOthers(path))
                Console.Error.WriteLine($"{verb}: warning: {path} can be read by other users; anyone with the key can undo the anonymization (chmod 600 {path})");
            return key;
        }
        catch (AnonymizationKeyException ex)
        {
            Console.Error.WriteLine($"{verb}: {ex.Message}");
            return null;
        }
    }
}
