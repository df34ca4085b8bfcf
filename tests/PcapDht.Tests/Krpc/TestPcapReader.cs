using PcapDht.Capture;
using PcapDht.Net;

namespace PcapDht.Tests.Krpc;

/// <summary>A UDP payload pulled out of a capture for decoder tests (copied: the reader's spans are transient).</summary>
public sealed record TestDatagram(int FrameNumber, IpAddr Source, ushort SourcePort, IpAddr Destination, ushort DestinationPort, byte[] Payload);

/// <summary>Reads every UDP datagram of a capture with the product's <see cref="CaptureReader"/> and <see cref="PacketDecoder"/>.</summary>
public static class TestPcapReader
{
    public static List<TestDatagram> ReadUdp(string path)
    {
        using var reader = CaptureReader.Open(path);
        var decoder = new PacketDecoder();
        var result = new List<TestDatagram>();
        while (reader.TryRead(out Frame frame))
        {
            if (decoder.TryDecode(frame, out UdpDatagram d))
                result.Add(new TestDatagram((int)d.FrameNumber, d.Source, d.SourcePort, d.Destination, d.DestinationPort, d.Payload.ToArray()));
        }
        Assert.Null(reader.Damage);
        return result;
    }
}
