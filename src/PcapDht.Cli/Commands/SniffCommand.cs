using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using PcapDht.Live;
using PcapDht.Store;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class SniffSettings : CommandSettings
{
    [CommandOption("-i|--interface <IFACE>")]
    [Description("Interface to capture on (see --list).")]
    public string? Interface { get; init; }

    [CommandOption("--list")]
    [Description("List the interfaces libpcap can capture on, with their addresses, and exit.")]
    public bool List { get; init; }

    [CommandOption("--db <FILE>")]
    [Description("DuckDB file to write (created if missing). " + Rendering.DatabaseOpener.DefaultHelp)]
    public string Database { get; init; } = Rendering.DatabaseOpener.DefaultPath;

    [CommandOption("--filter <BPF>")]
    [Description("BPF filter (man 7 pcap-filter). Default keeps UDP over IPv4/IPv6 and non-first IP fragments.")]
    public string Filter { get; init; } = LiveCaptureOptions.DefaultFilter;

    [CommandOption("--promiscuous")]
    [Description("Put the interface in promiscuous mode (needed on most span ports).")]
    public bool Promiscuous { get; init; }

    [CommandOption("--snaplen <N>")]
    [Description("Bytes kept per packet. Default: 65535")]
    public int Snaplen { get; init; } = LiveCaptureOptions.DefaultSnaplen;

    [CommandOption("--buffer-size <BYTES>")]
    [Description("libpcap (kernel ring) buffer, e.g. 64M or 1G. Default: 64M")]
    public string? BufferSize { get; init; }

    [CommandOption("--duration <T>")]
    [Description("Stop after this long, e.g. 30s, 10min, 12h, 7d. Default: until Ctrl-C/SIGTERM")]
    public string? Duration { get; init; }

    [CommandOption("--packets <N>")]
    [Description("Stop after this many captured packets.")]
    public long? Packets { get; init; }

    [CommandOption("--flush-interval <T>")]
    [Description("Commit rows at least this often; a crash loses at most this much. Default: 5s")]
    public string? FlushInterval { get; init; }

    [CommandOption("--write-pcap <DIR>")]
    [Description("Also keep the raw packets as pcap files in DIR.")]
    public string? WritePcap { get; init; }

    [CommandOption("--rotate <SIZE|TIME>")]
    [Description("With --write-pcap: start a new file by size (100M, 1G) or time (10min, 1h, 1d).")]
    public string? Rotate { get; init; }

    [CommandOption("--keep-detail <DURATION>")]
    [Description(KeepDetailOption.Help + " Pruned after flushes (when the data time moved on by 1% of the duration) and after the last. Default: keep everything.")]
    public string? KeepDetail { get; init; }

    [CommandOption("--quiet")]
    [Description("No progress line.")]
    public bool Quiet { get; init; }

    [CommandOption("--verbose")]
    [Description("Show stack traces on errors.")]
    public bool Verbose { get; init; }
}

public sealed class SniffCommand : Command<SniffSettings>
{
    public override int Execute(CommandContext context, SniffSettings settings, CancellationToken cancellationToken)
    {
        try
        {
            if (settings.List) return ListInterfaces();
            var options = BuildOptions(settings);
            var keep = KeepDetailOption.Parse(settings.KeepDetail, out var keepError);
            if (keepError != null) throw Bad(keepError);
            return Run(settings, options, keep, cancellationToken);
        }
        catch (LiveCaptureException ex)
        {
            return Fail(ex.Message, ex.Kind switch
            {
                LiveErrorKind.Permission => ExitCodes.Permission,
                LiveErrorKind.NoSuchInterface => ExitCodes.InputError,
                LiveErrorKind.BadFilter or LiveErrorKind.BadOption => ExitCodes.Usage,
                LiveErrorKind.Device => ExitCodes.InputError,
                _ => ExitCodes.Failure,
            });
        }
        catch (LiveSinkException ex) when (!settings.Verbose)
        {
            return Fail($"{ex.Message} (rows committed before the failure are kept)", ExitCodes.DatabaseError);
        }
        catch (StoreException ex) when (!settings.Verbose)
        {
            return Fail(ex.Message, ExitCodes.DatabaseError);
        }
    }

    private static int Run(SniffSettings settings, LiveCaptureOptions options, TimeSpan? keepDetail, CancellationToken cancellationToken)
    {
        using var session = LiveSession.Open(options);
        using var sink = LiveSinks.Create(settings.Database, keepDetail);
        session.Start(sink);
        using var stop = cancellationToken.Register(session.Stop);
        bool progress = !settings.Quiet && !Console.IsErrorRedirected;
        var sw = Stopwatch.StartNew();
        var rates = new Rendering.FlushRates();
        while (!session.WaitFor(TimeSpan.FromSeconds(1)))
        {
            if (!progress) continue;
            var st = session.Statistics;
            var sc = session.SinkCounters;
            rates.Observe(sw.Elapsed.TotalSeconds, st.Frames, sc.KrpcMessages, sc.Flushes);
            string krpc = rates.KrpcPerSecond is { } k ? k.ToString("N0", CultureInfo.InvariantCulture) : "-";
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\r{options.Interface}: {rates.PacketsPerSecond,9:N0} pkt/s {krpc,9} KRPC/s  {sc.DistinctNodes,9:N0} nodes  {st.Frames,12:N0} pkts  drops kernel {st.PcapDropped:N0} if {st.InterfaceDropped:N0}   "));
        }
        var reason = session.Wait();
        var f = session.Statistics;
        var c = session.SinkCounters;
        if (progress) Console.Error.WriteLine();
        var summary = string.Create(CultureInfo.InvariantCulture,
            $"sniff {options.Interface} -> {settings.Database} capture {sink.CaptureId}: {f.Frames:N0} packets, {c.UdpDatagrams:N0} UDP datagrams, {c.KrpcMessages:N0} KRPC messages ({c.MalformedKrpc:N0} malformed), {c.DistinctNodes:N0} distinct nodes; libpcap received {f.PcapReceived:N0}, dropped {f.PcapDropped:N0} (kernel) {f.InterfaceDropped:N0} (interface) in {sw.Elapsed.TotalSeconds:F1}s; {c.Flushes:N0} flushes, {c.FlushBusy.TotalSeconds:F1}s writing{Capacity(f.Frames, c.FlushBusy)}; stopped by {Describe(reason)}");
        if (!settings.Quiet) Console.Error.WriteLine(summary);
        if (!settings.Quiet && sink.Retention?.Last is { } pruned)
            Console.Error.WriteLine("sniff --keep-detail " + settings.KeepDetail + ": " + KeepDetailOption.Describe(pruned, sink.Retention.DeletedTotal));
        foreach (var file in session.PcapFiles)
        {
            if (!settings.Quiet) Console.Error.WriteLine($"pcap: {file}");
        }
        if (reason == LiveStopReason.Error)
        {
            return Fail($"capture on {options.Interface} failed: {session.Error} (rows up to the failure are committed)", ExitCodes.Failure);
        }
        return RefreshIndex(settings);
    }

    /// <summary>
    /// After the last flush the capture is complete: brings the address index up to date, as ingest does after its run, so
    /// <c>report asn</c>/<c>country</c> read it instead of the rollups (same numbers, seconds instead of a minute on a big
    /// store). A second Ctrl-C/SIGTERM skips it (DuckDB stops the statement).
    /// </summary>
    private static int RefreshIndex(SniffSettings settings)
    {
        using var skip = new CancellationTokenSource();
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, ctx => { ctx.Cancel = true; skip.Cancel(); });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; skip.Cancel(); });
        AnsiConsole.Console.Profile.Out.Writer.Flush();
        return RefreshIndex(settings.Database, settings.Quiet, PcapDhtDatabase.LockWait, skip.Token, Console.Error);
    }

    /// <summary>
    /// The refresh after a sniff, writing its line to <paramref name="err"/>. Skipped (<paramref name="skip"/>) or a file
    /// another process still holds after <paramref name="lockWait"/>: the index stays as it was, stale, reports read the
    /// rollups until the next ingest, and the exit is 0 (the capture is complete). Any other failure is one line and exit 4;
    /// the capture stays committed.
    /// </summary>
    internal static int RefreshIndex(string database, bool quiet, TimeSpan lockWait, CancellationToken skip, TextWriter err)
    {
        const string Stale = "reports read the daily rollups until the next ingest";
        try
        {
            using var db = PcapDhtDatabase.Open(database, lockWait);
            var (done, took) = AddressIndex.RefreshAfterWrite(db, skip);
            if (!quiet && done is not (AddressIndex.Refreshed.Current or AddressIndex.Refreshed.NoRollups))
                err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"sniff: address index {done.ToString().ToLowerInvariant()} in {took.TotalSeconds:F1} s"));
            return ExitCodes.Ok;
        }
        catch (OperationCanceledException)
        {
            if (!quiet) err.WriteLine($"sniff: address index not updated (skipped): {Stale}");
            return ExitCodes.Ok;
        }
        catch (DatabaseLockedException ex)
        {
            // Another process holds the file (a long query): not a failure of the capture, which is committed.
            if (!quiet) err.WriteLine($"sniff: address index not updated ({ex.Message}): {Stale}");
            return ExitCodes.Ok;
        }
        catch (StoreException ex)
        {
            err.WriteLine($"pcapdht sniff: the capture is stored, but the address index was not updated ({Stale}): {ex.Message}");
            return ExitCodes.DatabaseError;
        }
    }

    /// <summary>Frames per second of flush time: the rate the store (append and commit of encoded rows) sustains on this machine.</summary>
    private static string Capacity(long frames, TimeSpan busy)
        => busy.TotalSeconds < 0.05 || frames < 1000 ? "" : string.Create(CultureInfo.InvariantCulture, $" ({frames / busy.TotalSeconds:N0} packets/s while flushing)");

    private static string Describe(LiveStopReason r) => r switch
    {
        LiveStopReason.Duration => "--duration",
        LiveStopReason.PacketLimit => "--packets",
        LiveStopReason.Error => "a capture error",
        _ => "signal",
    };

    private static int ListInterfaces()
    {
        var list = LiveDevices.List();
        if (list.Count == 0)
        {
            return Fail("libpcap sees no interface (run as root, or setcap cap_net_raw,cap_net_admin=eip on the binary)", ExitCodes.Permission);
        }
        int width = 4;
        foreach (var i in list) width = Math.Max(width, i.Name.Length);
        foreach (var i in list)
        {
            var flags = (i.Up ? "up" : "down") + (i.Loopback ? ",loopback" : "");
            var addrs = i.Addresses.Count == 0 ? "-" : string.Join(", ", i.Addresses);
            var desc = i.Description == null ? "" : "  " + i.Description;
            Console.Out.WriteLine($"{i.Name.PadRight(width)}  {flags,-11}  {addrs}{desc}");
        }
        return ExitCodes.Ok;
    }

    internal static LiveCaptureOptions BuildOptions(SniffSettings s)
    {
        if (string.IsNullOrWhiteSpace(s.Interface)) throw Bad("-i IFACE is required (see pcapdht sniff --list)");
        long buffer = LiveCaptureOptions.DefaultBufferSize;
        if (s.BufferSize != null && (!LiveUnits.TryParseSize(s.BufferSize, out buffer) || buffer > int.MaxValue))
            throw Bad($"--buffer-size '{s.BufferSize}' is not a size below 2G (e.g. 64M)");
        var duration = TimeSpan.Zero;
        if (s.Duration != null && (!LiveUnits.TryParseDuration(s.Duration, out duration) || duration <= TimeSpan.Zero))
            throw Bad($"--duration '{s.Duration}' is not a positive duration (e.g. 30s, 10min, 12h)");
        var flush = LiveCaptureOptions.DefaultFlushInterval;
        if (s.FlushInterval != null && (!LiveUnits.TryParseDuration(s.FlushInterval, out flush) || flush < TimeSpan.FromMilliseconds(100)))
            throw Bad($"--flush-interval '{s.FlushInterval}' is not a duration of at least 100ms (e.g. 5s)");
        if (s.Packets is <= 0) throw Bad("--packets must be positive");
        long rotateBytes = 0;
        var rotateTime = TimeSpan.Zero;
        if (s.Rotate != null)
        {
            if (s.WritePcap == null) throw Bad("--rotate needs --write-pcap DIR");
            if (!LiveUnits.TryParseRotate(s.Rotate, out rotateBytes, out rotateTime))
                throw Bad($"--rotate '{s.Rotate}' is neither a size (100M, 1G) nor a time (10min, 1h)");
        }
        return new LiveCaptureOptions
        {
            Interface = s.Interface,
            Filter = s.Filter,
            Promiscuous = s.Promiscuous,
            Snaplen = s.Snaplen,
            BufferSize = (int)buffer,
            Duration = duration,
            PacketLimit = s.Packets ?? 0,
            FlushInterval = flush,
            WritePcapDirectory = s.WritePcap,
            RotateBytes = rotateBytes,
            RotateInterval = rotateTime,
        };
    }

    private static LiveCaptureException Bad(string message) => new(LiveErrorKind.BadOption, message);

    private static int Fail(string message, int code)
    {
        AnsiConsole.Console.Profile.Out.Writer.Flush();
        Console.Error.WriteLine($"pcapdht sniff: {message}");
        return code;
    }
}
