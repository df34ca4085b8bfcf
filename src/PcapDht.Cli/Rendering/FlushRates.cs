namespace PcapDht.Cli.Rendering;

/// <summary>
/// The packet and KRPC rates of sniff's status line, both over the same interval: between the last two
/// flushes. The sink publishes its KRPC count once per --flush-interval, while packets are counted as they
/// arrive, so a KRPC rate per second beside a packet rate per second read "0 pkt/s" next to "50 KRPC/s" (a
/// flush landing after traffic stopped) or the reverse; over one interval, KRPC/s is never above pkt/s.
/// </summary>
public sealed class FlushRates
{
    private long _flushes, _frames, _krpc;
    private double _at;

    /// <summary>Packets per second over the last flush interval; before the first flush, since the start.</summary>
    public double PacketsPerSecond { get; private set; }

    /// <summary>KRPC messages per second over the last flush interval; null before the first flush.</summary>
    public double? KrpcPerSecond { get; private set; }

    /// <summary>One status tick: seconds since start, packets captured, KRPC messages committed, flushes done.</summary>
    public void Observe(double seconds, long frames, long krpc, long flushes)
    {
        if (flushes == _flushes)
        {
            if (_flushes == 0) PacketsPerSecond = seconds > 0 ? frames / seconds : 0;
            return;
        }
        double dt = Math.Max(1e-3, seconds - _at);
        PacketsPerSecond = (frames - _frames) / dt;
        KrpcPerSecond = (krpc - _krpc) / dt;
        (_flushes, _frames, _krpc, _at) = (flushes, frames, krpc, seconds);
    }
}
