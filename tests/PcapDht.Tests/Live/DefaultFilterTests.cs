using PcapDht.Capture;
using PcapDht.Live;
using PcapDht.Tests.Capture;
using static PcapDht.Tests.Net.PacketBuilder;

namespace PcapDht.Tests.Live;

/// <summary>The default capture filter, compiled and run by libpcap (through tcpdump, offline) on crafted frames.</summary>
public class DefaultFilterTests
{
    public static TheoryData<string, byte[], bool> Frames => new()
    {
        { "udp v4", Ethernet(0x0800, IPv4(17, Udp(6881, 51413, KrpcPing))), true },
        { "udp v6", Ethernet(0x86DD, IPv6(17, Udp(6881, 51413, KrpcPing))), true },
        { "tcp v4", Ethernet(0x0800, IPv4(6, new byte[20])), false },
        { "v6 second fragment", Ethernet(0x86DD, FragmentV6(Udp(6881, 51413, Payload(3000)), 1232)[1]), true },
        { "arp", Ethernet(0x0806, new byte[28]), false },
        { "pppoe udp v4", Ethernet(0x8864, Pppoe(0x0021, IPv4(17, Udp(6881, 51413, KrpcPing)))), true },
        { "pppoe udp v6", Ethernet(0x8864, Pppoe(0x0057, IPv6(17, Udp(6881, 51413, KrpcPing)))), true },
        { "pppoe v4 second fragment", Ethernet(0x8864, Pppoe(0x0021, FragmentV4(Udp(6881, 51413, Payload(3000)), 1480)[1])), true },
        { "pppoe v6 second fragment", Ethernet(0x8864, Pppoe(0x0057, FragmentV6(Udp(6881, 51413, Payload(3000)), 1232)[1])), true },
        { "pppoe tcp v4", Ethernet(0x8864, Pppoe(0x0021, IPv4(6, new byte[20]))), false },
        { "pppoe lcp", Ethernet(0x8864, Pppoe(0xC021, new byte[10])), false },
        { "pppoe discovery", Ethernet(0x8863, [0x11, 0x09, 0, 0, 0, 0]), false },
    };

    [Theory]
    [MemberData(nameof(Frames))]
    public void DefaultFilter_KeepsUdpAndFragmentsAlsoInsidePppoe(string name, byte[] frame, bool kept)
    {
        using var dir = new Capture.TempDir();
        string input = dir.File("in.pcap"), output = dir.File("out.pcap");
        File.WriteAllBytes(input, CaptureBuilder.Pcap(1).PcapRecord(1, 0, frame).ToArray());
        CaptureTestFiles.Run("tcpdump", "-r", input, "-w", output, LiveCaptureOptions.DefaultFilter);
        using var reader = CaptureReader.Open(output);
        Assert.True(reader.TryRead(out var f) == kept, name);
        if (kept) Assert.Equal(frame, f.Data.ToArray());
    }
}
