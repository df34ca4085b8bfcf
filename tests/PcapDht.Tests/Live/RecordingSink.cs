using System.Security.Cryptography;
using PcapDht.Capture;
using PcapDht.Live;

namespace PcapDht.Tests.Live;

/// <summary>A test sink that remembers every frame (timestamp, lengths, content hash) and every flush.</summary>
internal sealed class RecordingSink : ILiveSink
{
    public readonly List<(long ts, int len, int caplen, ulong hash)> Frames = [];
    public readonly List<LiveStatistics> Flushes = [];
    public LiveSessionInfo? Info;
    public LiveStopReason? Reason;
    public LiveStatistics Final;
    public int LinkTypeSeen = -1;
    private long _n;

    public void Start(LiveSessionInfo info) => Info = info;

    public void Write(in Frame frame)
    {
        Assert.Equal(++_n, frame.Number);
        LinkTypeSeen = frame.LinkType;
        lock (Frames) Frames.Add((frame.TimestampNs, frame.OriginalLength, frame.Data.Length, Hash(frame.Data)));
    }

    public void Flush(in LiveStatistics statistics) { lock (Flushes) Flushes.Add(statistics); }

    public void Finish(LiveStopReason reason, in LiveStatistics statistics, string? error)
    {
        Reason = reason;
        Final = statistics;
    }

    public LiveSinkCounters Counters => new(0, 0, 0, 0, 0);

    public static ulong Hash(ReadOnlySpan<byte> data) => BitConverter.ToUInt64(SHA256.HashData(data));

    public void Dispose() { }
}
