using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using PcapDht.Capture;
using SharpPcap;
using SharpPcap.LibPcap;

namespace PcapDht.Live;

/// <summary>
/// One passive capture: a capture thread that only reads libpcap (pcap_next_ex) and copies frames into
/// pooled batches, and a decode thread that feeds them to an <see cref="ILiveSink"/> and flushes it every
/// <see cref="LiveCaptureOptions.FlushInterval"/>. The device is opened for capture only; no code path here
/// can transmit (tests/PcapDht.Tests/Live/PassiveTests.cs scans the assemblies for send calls).
/// </summary>
public sealed class LiveSession : IDisposable
{
    // Linux 64-bit struct pcap_pkthdr: struct timeval (2 x 8 bytes), caplen, len.
    private const int HeaderCapLenOffset = 16;
    private const int HeaderLenOffset = 20;
    private const int ReadTimeoutMs = 100;
    private const long PublishAfterMs = 50;
    private const long StatsEveryMs = 1000;

    private readonly LiveCaptureOptions _options;
    private ILiveSink _sink = null!;
    private readonly LibPcapLiveDevice _device;
    private readonly FrameQueue _queue;
    private readonly RotatingPcapWriter? _pcapWriter;
    private readonly int _linkType;
    private readonly int _fd;
    private Thread? _captureThread;
    private Thread? _decodeThread;
    private volatile bool _stop;
    private LiveStopReason _reason = LiveStopReason.Stopped;
    private string? _error;
    private Exception? _sinkFailure;

    private long _frames;
    private long _bytes;
    private long _queueWaits;
    private long _pcapReceived;
    private long _pcapDropped;
    private long _ifDropped;

    private LiveSession(LiveCaptureOptions options, LibPcapLiveDevice device)
    {
        _options = options;
        _device = device;
        _linkType = (int)device.LinkType;
        _fd = NativePcap.GetSelectableFd(device.Handle);
        _queue = new FrameQueue(options.QueueBytes);
        if (options.WritePcapDirectory != null)
        {
            _pcapWriter = new RotatingPcapWriter(options.WritePcapDirectory, "pcapdht-" + Sanitize(options.Interface),
                _linkType, options.Snaplen, options.RotateBytes, options.RotateInterval);
        }
    }

    public LiveCaptureOptions Options => _options;
    public int LinkType => _linkType;
    public IReadOnlyList<string> PcapFiles => _pcapWriter?.Files ?? [];

    /// <summary>Opens the interface (capture only) and applies the filter; throws <see cref="LiveCaptureException"/>.
    /// Packets queue in the kernel ring from here until <see cref="Start"/>.</summary>
    public static LiveSession Open(LiveCaptureOptions options)
    {
        Validate(options);
        LiveDevices.CheckFilter(options.Filter);
        var device = LiveDevices.Find(options.Interface);
        var config = new DeviceConfiguration
        {
            Mode = options.Promiscuous ? DeviceModes.Promiscuous : DeviceModes.None,
            Snaplen = options.Snaplen,
            BufferSize = options.BufferSize,
            ReadTimeout = ReadTimeoutMs,
            // Not Immediate: it wakes us per packet and costs throughput; the read timeout bounds latency.
            Immediate = false,
            TimestampResolution = TimestampResolution.Nanosecond,
        };
        try
        {
            device.Open(config);
        }
        catch (Exception ex) when (ex is PcapException or PlatformNotSupportedException)
        {
            device.Close();
            throw OpenFailure(options.Interface, ex);
        }
        try
        {
            device.Filter = options.Filter;
        }
        catch (PcapException ex)
        {
            device.Close();
            throw LiveDevices.BadFilter(options.Filter, ex.Message);
        }
        try
        {
            device.NonBlockingMode = true;
        }
        catch (PcapException ex)
        {
            device.Close();
            throw OpenFailure(options.Interface, ex);
        }
        try
        {
            return new LiveSession(options, device);
        }
        catch
        {
            device.Close();
            throw;
        }
    }

    /// <summary>Starts capturing into <paramref name="sink"/> (the caller keeps ownership); returns at once. <see cref="Wait"/> for the end.</summary>
    public void Start(ILiveSink sink)
    {
        _sink = sink;
        _sink.Start(new LiveSessionInfo(_options.Interface, _linkType, _options.Filter, _options.Snaplen, _options.Promiscuous,
            DateTimeOffset.UtcNow, Environment.ProcessId, Environment.MachineName));
        _decodeThread = new Thread(DecodeLoop) { Name = "pcapdht-decode", IsBackground = true };
        _captureThread = new Thread(CaptureLoop) { Name = "pcapdht-capture", IsBackground = true, Priority = ThreadPriority.AboveNormal };
        _decodeThread.Start();
        _captureThread.Start();
    }

    /// <summary>Asks the capture to end; what was captured is still decoded and flushed.</summary>
    public void Stop() => _stop = true;

    /// <summary>Blocks until both threads ended and the sink finished. Rethrows a sink (database) failure.</summary>
    public LiveStopReason Wait()
    {
        _captureThread?.Join();
        _decodeThread?.Join();
        if (_sinkFailure != null) throw new LiveSinkException(_sinkFailure.Message, _sinkFailure);
        return _reason;
    }

    public bool WaitFor(TimeSpan timeout) => _decodeThread == null || _decodeThread.Join(timeout);

    public string? Error => _error;

    public LiveStatistics Statistics => new(
        Interlocked.Read(ref _frames), Interlocked.Read(ref _bytes), Interlocked.Read(ref _pcapReceived),
        Interlocked.Read(ref _pcapDropped), Interlocked.Read(ref _ifDropped), Interlocked.Read(ref _queueWaits));

    public LiveSinkCounters SinkCounters => _sink?.Counters ?? default;

    private unsafe void CaptureLoop()
    {
        nint header = 0, data = 0;
        long start = Stopwatch.GetTimestamp();
        long durationTicks = _options.Duration > TimeSpan.Zero ? (long)(_options.Duration.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
        long publishTicks = PublishAfterMs * Stopwatch.Frequency / 1000;
        long statsTicks = StatsEveryMs * Stopwatch.Frequency / 1000;
        long lastStats = start;
        long limit = _options.PacketLimit > 0 ? _options.PacketLimit : long.MaxValue;
        long frames = 0;
        FrameBatch? batch = null;
        try
        {
            while (!_stop)
            {
                int res = _device.GetNextPacketPointers(ref header, ref data);
                long now = Stopwatch.GetTimestamp();
                if (res == 1)
                {
                    long sec = *(long*)header;
                    long frac = *(long*)(header + 8);
                    int capLen = *(int*)(header + HeaderCapLenOffset);
                    int len = *(int*)(header + HeaderLenOffset);
                    var span = new ReadOnlySpan<byte>((void*)data, capLen);
                    if (batch == null || !batch.TryAdd(sec * 1_000_000_000L + frac, len, span))
                    {
                        if (batch != null) _queue.Publish(batch);
                        batch = TakeFreeBatch(now);
                        if (batch == null) break;
                        batch.TryAdd(sec * 1_000_000_000L + frac, len, span);
                    }
                    frames++;
                    Interlocked.Exchange(ref _frames, frames);
                    Interlocked.Add(ref _bytes, capLen);
                    if (frames >= limit)
                    {
                        _reason = LiveStopReason.PacketLimit;
                        break;
                    }
                }
                else if (res == 0)
                {
                    NativePcap.WaitReadable(_fd, ReadTimeoutMs);
                    now = Stopwatch.GetTimestamp();
                }
                else
                {
                    // -2: pcap_breakloop; -1: read error (interface removed, ...).
                    if (res == -1)
                    {
                        _reason = LiveStopReason.Error;
                        _error = LiveDevices.OneLine(_device.LastError) ?? "libpcap read error";
                    }
                    break;
                }
                if (batch != null && batch.Count > 0 && now - batch.FirstTicks >= publishTicks)
                {
                    _queue.Publish(batch);
                    batch = null;
                }
                if (now - lastStats >= statsTicks)
                {
                    ReadPcapStats();
                    lastStats = now;
                }
                if (now - start >= durationTicks)
                {
                    _reason = LiveStopReason.Duration;
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is PcapException or ObjectDisposedException)
        {
            _reason = LiveStopReason.Error;
            _error = LiveDevices.OneLine(ex.Message);
        }
        finally
        {
            if (batch != null) _queue.Publish(batch);
            ReadPcapStats();
            _queue.CompleteAdding();
        }
    }

    private FrameBatch? TakeFreeBatch(long now)
    {
        var b = _queue.TakeFree(0);
        if (b == null)
        {
            Interlocked.Increment(ref _queueWaits);
            while (b == null && !_stop && _sinkFailure == null) b = _queue.TakeFree(ReadTimeoutMs);
            if (b == null) return null;
        }
        b.FirstTicks = now;
        return b;
    }

    private void ReadPcapStats()
    {
        if (NativePcap.TryGetStats(_device.Handle, out var st))
        {
            // 32-bit counters in libpcap; at 200k packets/s ps_recv wraps after ~6 hours, so widen across wraps.
            Interlocked.Exchange(ref _pcapReceived, Widen(Interlocked.Read(ref _pcapReceived), st.Received));
            Interlocked.Exchange(ref _pcapDropped, Widen(Interlocked.Read(ref _pcapDropped), st.Dropped));
            Interlocked.Exchange(ref _ifDropped, Widen(Interlocked.Read(ref _ifDropped), st.InterfaceDropped));
        }
    }

    internal static long Widen(long previous, uint current)
    {
        long high = previous & ~0xFFFF_FFFFL;
        long candidate = high | current;
        return candidate < previous ? candidate + (1L << 32) : candidate;
    }

    private void DecodeLoop()
    {
        long frameNumber = 0;
        long flushTicks = Math.Max(1, (long)(_options.FlushInterval.TotalSeconds * Stopwatch.Frequency));
        long lastFlush = Stopwatch.GetTimestamp();
        try
        {
            while (true)
            {
                var batch = _queue.TakeFull(ReadTimeoutMs, out bool completed);
                if (batch != null)
                {
                    var bytes = batch.Data;
                    for (int i = 0; i < batch.Count; i++)
                    {
                        ref readonly var slot = ref batch.Slots[i];
                        var span = new ReadOnlySpan<byte>(bytes, slot.Offset, slot.Length);
                        _pcapWriter?.Write(slot.TimestampNs, slot.OriginalLength, span);
                        var frame = new Frame(++frameNumber, slot.TimestampNs, _linkType, slot.OriginalLength, span);
                        _sink.Write(in frame);
                    }
                    _queue.Return(batch);
                }
                else if (completed)
                {
                    break;
                }
                long now = Stopwatch.GetTimestamp();
                if (now - lastFlush >= flushTicks)
                {
                    _pcapWriter?.Flush();
                    var stats = Statistics;
                    _sink.Flush(in stats);
                    lastFlush = Stopwatch.GetTimestamp();
                }
            }
            _pcapWriter?.Flush();
            var final = Statistics;
            _sink.Finish(_reason, in final, _error);
        }
        catch (Exception ex)
        {
            // A database failure must stop the capture too, or frames would pile up with nowhere to go.
            _sinkFailure = ex;
            _stop = true;
            DrainAfterFailure();
        }
    }

    private void DrainAfterFailure()
    {
        while (true)
        {
            var b = _queue.TakeFull(ReadTimeoutMs, out bool completed);
            if (b != null) _queue.Return(b);
            else if (completed) return;
        }
    }

    private static void Validate(LiveCaptureOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Interface)) BadOption("-i/--interface is required (see pcapdht sniff --list)");
        if (o.Snaplen < 64 || o.Snaplen > FrameQueue.BatchBytes) BadOption($"--snaplen must be between 64 and {FrameQueue.BatchBytes}");
        if (o.BufferSize < (1 << 16)) BadOption("--buffer-size must be at least 64K");
        if (o.FlushInterval <= TimeSpan.Zero) BadOption("--flush-interval must be positive (e.g. 5s)");
        if (o.PacketLimit < 0) BadOption("--packets must not be negative");
        if ((o.RotateBytes > 0 || o.RotateInterval > TimeSpan.Zero) && o.WritePcapDirectory == null)
            BadOption("--rotate needs --write-pcap DIR");
    }

    [DoesNotReturn]
    private static void BadOption(string message) => throw new LiveCaptureException(LiveErrorKind.BadOption, message);

    private static LiveCaptureException OpenFailure(string name, Exception ex)
    {
        var msg = LiveDevices.OneLine(ex.Message) ?? "";
        var code = ex is PcapException pe ? pe.Error : PcapError.Generic;
        if (code is PcapError.PermissionDenied or PcapError.PromiscuousPermissionDenied
            || msg.Contains("permission", StringComparison.OrdinalIgnoreCase) || msg.Contains("not permitted", StringComparison.OrdinalIgnoreCase))
        {
            return new LiveCaptureException(LiveErrorKind.Permission,
                $"no permission to capture on '{name}': run as root, or grant the capabilities once with "
                + "sudo setcap cap_net_raw,cap_net_admin=eip on the pcapdht executable (for `dotnet pcapdht.dll`, on the dotnet binary)", ex);
        }
        if (code == PcapError.NoSuchDevice)
        {
            return new LiveCaptureException(LiveErrorKind.NoSuchInterface, $"no such interface '{name}' (see pcapdht sniff --list)", ex);
        }
        if (code == PcapError.InterfaceNotUp)
        {
            return new LiveCaptureException(LiveErrorKind.Device, $"interface '{name}' is down: bring it up (ip link set {name} up)", ex);
        }
        return new LiveCaptureException(LiveErrorKind.Device, $"cannot open '{name}' for capture: {msg}", ex);
    }

    private static string Sanitize(string name)
    {
        Span<char> c = stackalloc char[Math.Min(name.Length, 64)];
        for (int i = 0; i < c.Length; i++) c[i] = char.IsAsciiLetterOrDigit(name[i]) || name[i] is '-' or '_' or '.' ? name[i] : '_';
        return new string(c);
    }

    public void Dispose()
    {
        _stop = true;
        _captureThread?.Join();
        _decodeThread?.Join();
        _device.Close();
        _pcapWriter?.Dispose();
        _queue.Dispose();
    }
}

/// <summary>The sink (database) failed during a live session; the message is the sink's one line.</summary>
public sealed class LiveSinkException(string message, Exception inner) : Exception(message, inner);
