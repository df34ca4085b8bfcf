using PcapDht.Capture;
using PcapDht.Live;

namespace PcapDht.Tests.Live;

/// <summary>Feeds a capture file's frames to a <see cref="StoreLiveSink"/> as a sniff on "lo" would.</summary>
internal static class LiveReplay
{
    /// <summary>
    /// Starts the sink on the first frame, writes every frame and calls <paramref name="afterFrame"/> with the
    /// number written so far after each one (to flush or look at the file mid-run); returns the frames written.
    /// The caller finishes the sink (<see cref="Stats"/> gives the statistics of that many frames).
    /// </summary>
    public static long Feed(StoreLiveSink sink, string pcap, Action<long>? afterFrame = null)
    {
        using var reader = CaptureReader.Open(pcap);
        bool started = false;
        long frames = 0;
        while (reader.TryRead(out var frame))
        {
            if (!started)
            {
                sink.Start(new LiveSessionInfo("lo", frame.LinkType, LiveCaptureOptions.DefaultFilter, 65535, false,
                    DateTimeOffset.UtcNow, Environment.ProcessId, Environment.MachineName));
                started = true;
            }
            sink.Write(frame);
            afterFrame?.Invoke(++frames);
        }
        return frames;
    }

    /// <summary>Statistics of a replay: every frame received and captured, nothing dropped.</summary>
    public static LiveStatistics Stats(long frames) => new(frames, 0, frames, 0, 0, 0);
}
