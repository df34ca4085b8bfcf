using PcapDht.Capture;

namespace PcapDht.Live;

/// <summary>What a live session knows about itself when it starts (the sink records it in <c>captures</c>).</summary>
public sealed record LiveSessionInfo(string Interface, int LinkType, string Filter, int Snaplen, bool Promiscuous,
    DateTimeOffset StartedAt, int ProcessId, string Host);

/// <summary>Decode counters a sink exposes for the progress line (read from another thread; may lag slightly).
/// DistinctNodes is an estimate (HyperLogLog, ~1 %).</summary>
/// FlushBusy is the time spent decoding and writing (frames / FlushBusy is the rate the store keeps up with).
public readonly record struct LiveSinkCounters(long UdpDatagrams, long KrpcMessages, long MalformedKrpc, long DistinctNodes, long RowsCommitted,
    long Flushes = 0, TimeSpan FlushBusy = default);

/// <summary>
/// The receiving end of a live session: the same decode-and-store pipeline as <c>ingest</c>, fed frame by
/// frame. All calls come from the session's single decode thread.
/// </summary>
public interface ILiveSink : IDisposable
{
    void Start(LiveSessionInfo info);
    void Write(in Frame frame);
    /// <summary>Makes everything written so far durable (commit); called every flush interval.</summary>
    void Flush(in LiveStatistics statistics);
    /// <summary>Last flush; marks the session complete (or failed, with <paramref name="error"/>).</summary>
    void Finish(LiveStopReason reason, in LiveStatistics statistics, string? error);
    LiveSinkCounters Counters { get; }
}
