using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using PcapDht.Ingest;
using PcapDht.Store;
using Spectre.Console;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

public sealed class IngestSettings : CommandSettings
{
    [CommandArgument(0, "<PATH>")]
    [Description("Capture files (.pcap/.pcapng, also .gz/.zst), directories (searched recursively, captures detected by content), globs, or - for stdin.")]
    public string[] Paths { get; init; } = [];

    [CommandOption("--db <FILE>")]
    [Description("DuckDB database file (created if missing). Default: $PCAPDHT_DB, else pcapdht.duckdb in the working directory.")]
    public string? Database { get; init; }

    [CommandOption("--force")]
    [Description("Re-ingest files whose frames are already stored (in any container or compression), replacing their rows in one transaction.")]
    public bool Force { get; init; }

    [CommandOption("--format <FORMAT>")]
    [Description("Summary format: table or json.")]
    [DefaultValue("table")]
    public string Format { get; init; } = "table";

    [CommandOption("--flush-interval <T>")]
    [Description("Standard input and named pipes (streams) commit what they delivered at this interval, like sniff; Ctrl-C keeps it. Default 5s.")]
    public string? FlushInterval { get; init; }

    /// <summary>The parsed <see cref="FlushInterval"/>.</summary>
    public TimeSpan StreamCommitInterval { get; private set; } = PcapDht.Live.LiveCaptureOptions.DefaultFlushInterval;

    [CommandOption("--keep-detail <DURATION>")]
    [Description(KeepDetailOption.Help + " Files: pruned once at the end of the run; streams: also after their periodic commits. Default: keep everything.")]
    public string? KeepDetail { get; init; }

    /// <summary>The parsed <see cref="KeepDetail"/> (null: keep everything).</summary>
    public TimeSpan? Keep { get; private set; }

    [CommandOption("--verbose")]
    [Description("One line per file, the address index refresh and its time, and stack traces on errors.")]
    public bool Verbose { get; init; }

    public override ValidationResult Validate()
    {
        if (Paths.Length == 0) return ValidationResult.Error("give at least one capture file, directory or glob");
        if (Format is not ("table" or "json")) return ValidationResult.Error($"--format must be table or json, not '{Format}'");
        if (FlushInterval != null)
        {
            if (!PcapDht.Live.LiveUnits.TryParseDuration(FlushInterval, out var flush) || flush < TimeSpan.FromMilliseconds(100))
                return ValidationResult.Error($"--flush-interval '{FlushInterval}' is not a duration of at least 100ms (e.g. 5s)");
            StreamCommitInterval = flush;
        }
        Keep = KeepDetailOption.Parse(KeepDetail, out var keepError);
        if (keepError != null) return ValidationResult.Error(keepError);
        return ValidationResult.Success();
    }

    public string DatabasePath => Database ?? Rendering.DatabaseOpener.DefaultPath;
}

public sealed class IngestCommand : Command<IngestSettings>
{
    public override int Execute(CommandContext context, IngestSettings settings, CancellationToken cancellationToken)
    {
        var files = CaptureFiles.Expand(settings.Paths);
        if (files.Count == 0)
        {
            Console.Error.WriteLine("pcapdht ingest: no capture files found in " + string.Join(' ', settings.Paths));
            return ExitCodes.InputError;
        }
        // Nothing to read: say so before the database is created, not after leaving an empty one behind.
        if (files.TrueForAll(f => f != "-" && !File.Exists(f)))
        {
            foreach (var f in files) Console.Error.WriteLine($"pcapdht ingest: {f}: no such file");
            return ExitCodes.InputError;
        }

        PcapDhtDatabase db;
        try
        {
            db = PcapDhtDatabase.Open(settings.DatabasePath, PcapDhtDatabase.LockWait, viewsInBackground: true);
            try
            {
                StoreCheck.VerifyLength(db.Connection, settings.DatabasePath); // never append to a file that was cut short
            }
            catch
            {
                db.Dispose();
                throw;
            }
            db.SetMemoryLimit(PcapDhtDatabase.IngestMemoryLimit(Math.Min(files.Count, new IngestOptions().MaxParallelFiles)));
            if (db.RecoveredCaptures > 0)
                Console.Error.WriteLine($"pcapdht ingest: {db.RecoveredCaptures} capture(s) whose writer died were marked failed or interrupted; pcapdht check --compact gives back the disk space they used");
        }
        catch (StoreException ex)
        {
            Console.Error.WriteLine($"pcapdht ingest: {ex.Message}");
            if (settings.Verbose) Console.Error.WriteLine(ex);
            return ex is DiskFullException ? ExitCodes.Failure : ExitCodes.DatabaseError;
        }

        using (db)
        {
            bool json = settings.Format == "json";
            bool bar = !json && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
            var lines = json ? Console.Error : Console.Out;
            var sw = Stopwatch.StartNew();
            // While the bar is drawn nothing else may write to the terminal (a line would be overwritten by the
            // next redraw): the per-file lines wait until the bar is gone, and the bar counts the problems meanwhile.
            var held = new List<IngestFileResult>();
            int problems = 0;
            var pipeline = new IngestPipeline(db, new IngestOptions
            {
                Force = settings.Force,
                StreamCommitInterval = settings.StreamCommitInterval,
                KeepDetail = settings.Keep,
                FileDone = new SyncProgress<IngestFileResult>(r =>
                {
                    if (!bar) { ReportFile(r, true, lines, settings.Verbose); return; }
                    held.Add(r);
                    if (r.Outcome is not (IngestOutcome.Ingested or IngestOutcome.Skipped)) problems++;
                }),
            });

            IReadOnlyList<IngestFileResult> results;
            if (bar)
            {
                results = RunWithBar(pipeline, files, () => Volatile.Read(ref problems), cancellationToken);
                foreach (var r in held) ReportFile(r, settings.Verbose, lines, settings.Verbose);
            }
            else
                results = RunPlain(pipeline, files, lines, cancellationToken);
            sw.Stop();

            string? viewsError = null;
            try { db.WaitForViews(); }
            catch (StoreException ex) { viewsError = ex.Message; }
            var summary = IngestSummary.From(results, sw.Elapsed);
            if (json) WriteJson(summary, results);
            else WriteTable(summary);
            if (viewsError != null)
            {
                Console.Error.WriteLine($"pcapdht ingest: {viewsError}");
                return ExitCodes.DatabaseError;
            }
            if (pipeline.PruneError is { } pruneError)
            {
                Console.Error.WriteLine($"pcapdht ingest: the captures are stored, but --keep-detail failed: {pruneError.Message}");
                if (settings.Verbose) Console.Error.WriteLine(pruneError);
                return ExitCodes.DatabaseError;
            }
            if (settings.Verbose && pipeline.IndexRefreshed is { } refreshed)
                Console.Error.WriteLine($"pcapdht ingest: address index {refreshed.ToString().ToLowerInvariant()} in {pipeline.IndexRefreshTime.TotalSeconds:F1} s");
            if (pipeline.IndexError is { } indexError)
            {
                Console.Error.WriteLine($"pcapdht ingest: the captures are stored, but the address index was not updated (reports read the daily rollups, slower): {indexError.Message}");
                if (settings.Verbose) Console.Error.WriteLine(indexError);
                return ExitCodes.DatabaseError;
            }
            if (pipeline.Retention?.Last is { } pruned)
                lines.WriteLine("ingest --keep-detail " + settings.KeepDetail + ": " + KeepDetailOption.Describe(pruned, pipeline.Retention.DeletedTotal));
            return ExitCode(results);
        }
    }

    private static IReadOnlyList<IngestFileResult> RunWithBar(IngestPipeline pipeline, List<string> files, Func<int> problems, CancellationToken ct)
    {
        IReadOnlyList<IngestFileResult>? results = null;
        // Cleared when done (also on Ctrl-C): the per-file lines and the summary follow it.
        AnsiConsole.Progress()
            .AutoClear(true)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var p = pipeline.Progress;
                var task = ctx.AddTask("ingest", maxValue: 1);
                var work = Task.Run(() => results = pipeline.IngestFiles(files, ct));
                var sw = Stopwatch.StartNew();
                while (!WaitOrAbandon(work, TimeSpan.FromMilliseconds(250), ct))
                    Update(task, p, sw.Elapsed, problems());
                Update(task, p, sw.Elapsed, problems());
                work.GetAwaiter().GetResult();
            });
        return results!;

        static void Update(ProgressTask task, IngestProgress p, TimeSpan elapsed, int problems)
        {
            task.MaxValue = Math.Max(1, p.TotalBytes);
            task.Value = Math.Min(p.BytesRead, task.MaxValue);
            double s = Math.Max(elapsed.TotalSeconds, 0.001);
            task.Description = $"{p.FilesDone}/{p.TotalFiles} files  {p.Frames / s:N0} frames/s  {p.Messages:N0} messages"
                + (problems > 0 ? $"  {problems} with problems" : "");
        }
    }

    private static IReadOnlyList<IngestFileResult> RunPlain(IngestPipeline pipeline, List<string> files, TextWriter lines, CancellationToken ct)
    {
        // Not a terminal: a line every 10 s for long runs instead of a bar.
        var p = pipeline.Progress;
        var work = Task.Run(() => pipeline.IngestFiles(files, ct));
        var sw = Stopwatch.StartNew();
        while (!WaitOrAbandon(work, TimeSpan.FromSeconds(10), ct))
            lines.WriteLine($"ingest: {p.BytesRead / 1e6:N0}/{p.TotalBytes / 1e6:N0} MB, {p.Frames:N0} frames, {p.Messages:N0} messages, {p.FilesDone}/{p.TotalFiles} files, {sw.Elapsed:hh\\:mm\\:ss}");
        return work.GetAwaiter().GetResult();
    }

    /// <summary>How long an interrupted ingest may take to roll back before the process ends without it.</summary>
    private static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Waits up to <paramref name="step"/> for the ingest. After Ctrl-C/SIGTERM the pipeline stops by itself (it checks
    /// while reading and waiting for input); should it not within <see cref="InterruptGrace"/> — a read the kernel
    /// will not end, a named pipe with no writer — the process exits 130 without it: every capture it was writing is
    /// uncommitted, and the next open marks it failed.
    /// </summary>
    private static bool WaitOrAbandon(Task work, TimeSpan step, CancellationToken ct)
    {
        if (!ct.IsCancellationRequested)
        {
            try
            {
                return work.Wait((int)step.TotalMilliseconds, ct);
            }
            catch (OperationCanceledException)
            {
            }
        }
        if (work.Wait(InterruptGrace)) return true;
        Console.Error.WriteLine("pcapdht ingest: interrupted; the files being read were not stored (a stream keeps what it committed before)");
        Console.Out.Flush();
        Environment.Exit(ExitCodes.Interrupted);
        return true;
    }

    private static void ReportFile(IngestFileResult r, bool perFileLine, TextWriter lines, bool verbose)
    {
        switch (r.Outcome)
        {
            case IngestOutcome.Ingested:
                if (perFileLine) lines.WriteLine($"ingested {r.Path}: capture {r.CaptureId}, {r.Stats.KrpcMessages:N0} KRPC messages, {r.Stats.Frames:N0} frames");
                WarnUnsupported(r);
                break;
            case IngestOutcome.Skipped:
                lines.WriteLine($"skipped {r.Path}: its frames are already stored as capture {r.ExistingCaptureId}; nothing of it was written (use --force to replace it)");
                break;
            case IngestOutcome.Partial:
                Console.Error.WriteLine($"pcapdht ingest: {r.Error}");
                WarnUnsupported(r);
                break;
            default:
                Console.Error.WriteLine($"pcapdht ingest: {r.Error}");
                if (verbose && r.Exception != null) Console.Error.WriteLine(r.Exception);
                break;
        }
    }

    /// <summary>
    /// Frames of a link type pcapdht does not decode are stored as a count, not silently as "0 messages": say so
    /// in one line. Not an error (exit code 0): the rest of the file, and every other file, was read.
    /// </summary>
    private static void WarnUnsupported(IngestFileResult r)
    {
        var t = r.Totals;
        if (t.UnknownLinkTypeFrames == 0) return;
        string all = t.UnknownLinkTypeFrames == r.Stats.Frames ? " (all of its frames: nothing in it could be read)" : "";
        Console.Error.WriteLine($"pcapdht ingest: {r.Path}: {t.UnknownLinkTypeFrames:N0} frames of link type {t.UnknownLinkTypes} were not decoded{all}; pcapdht reads {SupportedLinkTypes}");
    }

    private const string SupportedLinkTypes = "Ethernet (1), Linux SLL/SLL2 (113/276), raw IP (12/14/101/228/229), NULL/LOOP (0/108), PPP (9/50), PPPoE (51), Cisco HDLC (104)";

    private static int ExitCode(IReadOnlyList<IngestFileResult> results)
    {
        int code = ExitCodes.Ok;
        int Rank(int c) => c switch
        {
            ExitCodes.Interrupted => 5, ExitCodes.Failure => 4, ExitCodes.DatabaseError => 3, ExitCodes.InputError => 2, ExitCodes.Partial => 1, _ => 0,
        };
        foreach (var r in results)
        {
            int c = r.Outcome switch
            {
                IngestOutcome.Interrupted => ExitCodes.Interrupted,
                IngestOutcome.DatabaseError => r.Exception is DiskFullException ? ExitCodes.Failure : ExitCodes.DatabaseError,
                IngestOutcome.InputError => ExitCodes.InputError,
                IngestOutcome.Partial => ExitCodes.Partial,
                _ => ExitCodes.Ok,
            };
            if (Rank(c) > Rank(code)) code = c;
        }
        return code;
    }

    private static void WriteTable(IngestSummary s)
    {
        var t = new Table().Border(TableBorder.Rounded).AddColumn("ingest").AddColumn(new TableColumn("total").RightAligned());
        void Row(string k, string v) => t.AddRow(Markup.Escape(k), Markup.Escape(v));
        Row("files ingested / skipped / partial / interrupted / failed", $"{s.FilesIngested} / {s.FilesSkipped} / {s.FilesPartial} / {s.FilesInterrupted} / {s.FilesFailed}");
        Row("frames", s.Frames.ToString("N0"));
        Row("UDP datagrams", s.UdpDatagrams.ToString("N0"));
        Row("KRPC messages", s.KrpcMessages.ToString("N0"));
        Row("  queries / responses / errors", $"{s.Queries:N0} / {s.Responses:N0} / {s.Errors:N0}");
        Row("malformed KRPC", s.Malformed.ToString("N0"));
        Row("not KRPC (other UDP)", s.NotKrpc.ToString("N0"));
        Row("unsupported frames (link type or protocol)", s.UnsupportedFrames.ToString("N0"));
        Row("link types", s.LinkTypes.Count == 0 ? "-" : string.Join(",", s.LinkTypes));
        Row("node sightings", s.NodeSightings.ToString("N0"));
        Row("peer sightings", s.PeerSightings.ToString("N0"));
        Row("time", $"{s.Seconds:N2} s");
        Row("rate", $"{s.MessagesPerSecond:N0} messages/s");
        AnsiConsole.Write(t);
    }

    private static void WriteJson(IngestSummary s, IReadOnlyList<IngestFileResult> results)
    {
        using var stdout = Console.OpenStandardOutput();
        using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteNumber("files_ingested", s.FilesIngested);
        w.WriteNumber("files_skipped", s.FilesSkipped);
        w.WriteNumber("files_partial", s.FilesPartial);
        w.WriteNumber("files_interrupted", s.FilesInterrupted);
        w.WriteNumber("files_failed", s.FilesFailed);
        w.WriteNumber("frames", s.Frames);
        w.WriteNumber("udp_datagrams", s.UdpDatagrams);
        w.WriteNumber("krpc_messages", s.KrpcMessages);
        w.WriteNumber("queries", s.Queries);
        w.WriteNumber("responses", s.Responses);
        w.WriteNumber("errors", s.Errors);
        w.WriteNumber("malformed_krpc", s.Malformed);
        w.WriteNumber("not_krpc", s.NotKrpc);
        w.WriteNumber("unsupported_frames", s.UnsupportedFrames);
        w.WriteString("link_types", string.Join(",", s.LinkTypes));
        w.WriteNumber("node_sightings", s.NodeSightings);
        w.WriteNumber("peer_sightings", s.PeerSightings);
        w.WriteNumber("seconds", Math.Round(s.Seconds, 3));
        w.WriteNumber("messages_per_second", Math.Round(s.MessagesPerSecond));
        w.WriteStartArray("files");
        foreach (var r in results)
        {
            w.WriteStartObject();
            w.WriteString("path", r.Path);
            w.WriteString("outcome", r.Outcome.ToString().ToLowerInvariant());
            if (r.CaptureId is int id) w.WriteNumber("capture_id", id);
            if (r.ExistingCaptureId is int ex) w.WriteNumber("existing_capture_id", ex);
            if (r.Sha256 != null) w.WriteString("sha256", r.Sha256);
            w.WriteNumber("frames", r.Stats.Frames);
            w.WriteNumber("krpc_messages", r.Stats.KrpcMessages);
            w.WriteNumber("malformed_krpc", r.Stats.Malformed);
            w.WriteNumber("node_sightings", r.Stats.NodeSightings);
            w.WriteNumber("peer_sightings", r.Stats.PeerSightings);
            w.WriteNumber("unsupported_frames", r.Totals.UnsupportedFrames);
            w.WriteString("link_types", r.Totals.LinkTypes);
            if (r.Error != null) w.WriteString("error", r.Error);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.Flush();
        stdout.WriteByte((byte)'\n');
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        private readonly object _lock = new();
        public void Report(T value) { lock (_lock) report(value); }
    }
}

internal sealed class IngestSummary
{
    public int FilesIngested, FilesSkipped, FilesPartial, FilesInterrupted, FilesFailed;
    public long Frames, UdpDatagrams, KrpcMessages, Queries, Responses, Errors, Malformed, NotKrpc, NodeSightings, PeerSightings, UnsupportedFrames;
    public SortedSet<string> LinkTypes { get; } = new(Comparer<string>.Create((a, b) =>
        int.Parse(a.AsSpan(0, a.IndexOf(':')), System.Globalization.CultureInfo.InvariantCulture).CompareTo(int.Parse(b.AsSpan(0, b.IndexOf(':')), System.Globalization.CultureInfo.InvariantCulture))));
    public double Seconds;
    public double MessagesPerSecond => Seconds > 0 ? KrpcMessages / Seconds : 0;

    public static IngestSummary From(IReadOnlyList<IngestFileResult> results, TimeSpan elapsed)
    {
        var s = new IngestSummary { Seconds = elapsed.TotalSeconds };
        foreach (var r in results)
        {
            switch (r.Outcome)
            {
                case IngestOutcome.Ingested: s.FilesIngested++; break;
                case IngestOutcome.Skipped: s.FilesSkipped++; continue;
                case IngestOutcome.Partial: s.FilesPartial++; break;
                case IngestOutcome.Interrupted:
                    s.FilesInterrupted++;
                    if (r.CaptureId == null) continue;
                    break; // a stream keeps what it read: its rows are stored, so they count
                default: s.FilesFailed++; continue;
            }
            var st = r.Stats;
            s.Frames += st.Frames; s.UdpDatagrams += st.UdpDatagrams; s.KrpcMessages += st.KrpcMessages;
            s.Queries += st.Queries; s.Responses += st.Responses; s.Errors += st.Errors; s.Malformed += st.Malformed;
            s.NotKrpc += st.NotKrpc; s.NodeSightings += st.NodeSightings; s.PeerSightings += st.PeerSightings;
            s.UnsupportedFrames += r.Totals.UnsupportedFrames;
            foreach (var lt in r.Totals.LinkTypes.Split(',', StringSplitOptions.RemoveEmptyEntries)) s.LinkTypes.Add(lt);
        }
        return s;
    }
}
