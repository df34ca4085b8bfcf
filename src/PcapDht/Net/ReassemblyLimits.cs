namespace PcapDht.Net;

/// <summary>Bounds on IP fragment reassembly state; times are capture time, not wall time.</summary>
/// <param name="MaxDatagrams">Datagrams being reassembled at once; the oldest is dropped beyond it.</param>
/// <param name="MaxBytes">Bytes of reassembly buffers held at once; the oldest datagrams are dropped beyond it.</param>
/// <param name="TimeoutNs">A datagram not complete this long after its first fragment is dropped.</param>
public sealed record ReassemblyLimits(int MaxDatagrams, long MaxBytes, long TimeoutNs)
{
    /// <summary>
    /// 1024 datagrams, 32 MiB, 60 s: the IPv6 reassembly timeout of RFC 8200 §4.5 (Linux uses 30 s for IPv4;
    /// the longer one loses nothing that a host would have accepted).
    /// </summary>
    public static ReassemblyLimits Default { get; } = new(1024, 32L << 20, 60_000_000_000L);
}
