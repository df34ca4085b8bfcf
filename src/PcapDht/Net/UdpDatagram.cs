namespace PcapDht.Net;

/// <summary>
/// A whole UDP datagram (reassembled if it was IP-fragmented). <see cref="Payload"/> points into the
/// frame or into the reassembler's buffer and is valid until the next decode call.
/// </summary>
public readonly ref struct UdpDatagram
{
    /// <summary>Frame number of the frame that completed the datagram (Wireshark shows reassembled data there too).</summary>
    public readonly long FrameNumber;
    public readonly long TimestampNs;
    public readonly IpAddr Source;
    public readonly IpAddr Destination;
    public readonly ushort SourcePort;
    public readonly ushort DestinationPort;
    public readonly ReadOnlySpan<byte> Payload;

    public UdpDatagram(long frameNumber, long timestampNs, IpAddr source, ushort sourcePort,
        IpAddr destination, ushort destinationPort, ReadOnlySpan<byte> payload)
    {
        FrameNumber = frameNumber;
        TimestampNs = timestampNs;
        Source = source;
        SourcePort = sourcePort;
        Destination = destination;
        DestinationPort = destinationPort;
        Payload = payload;
    }
}
