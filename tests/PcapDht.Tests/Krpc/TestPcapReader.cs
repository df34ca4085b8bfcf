using System.Buffers.Binary;
using PcapDht.Net;

namespace PcapDht.Tests.Krpc;

/// <summary>A UDP payload pulled out of a capture for decoder tests.</summary>
public sealed record TestDatagram(int FrameNumber, IpAddr Source, ushort SourcePort, IpAddr Destination, ushort DestinationPort, byte[] Payload);

/// <summary>
/// Test-only: just enough pcap/pcapng + Ethernet/raw IP + UDP to get payloads out of the small
/// third-party captures (no fragments, no extension headers). The product reader lives in Capture/.
/// </summary>
public static class TestPcapReader
{
    public static List<TestDatagram> ReadUdp(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        var frames = new List<(int LinkType, byte[] Data)>();
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(file);
        if (magic == 0x0a0d0d0a)
            ReadPcapNg(file, frames);
        else
            ReadPcap(file, frames);
        var result = new List<TestDatagram>();
        for (int i = 0; i < frames.Count; i++)
        {
            var d = Decode(i + 1, frames[i].LinkType, frames[i].Data);
            if (d != null)
                result.Add(d);
        }
        return result;
    }

    private static void ReadPcap(byte[] f, List<(int, byte[])> frames)
    {
        uint magic = BinaryPrimitives.ReadUInt32LittleEndian(f);
        bool le = magic is 0xa1b2c3d4 or 0xa1b23c4d;
        if (!le && BinaryPrimitives.ReadUInt32BigEndian(f) is not (0xa1b2c3d4 or 0xa1b23c4d))
            throw new InvalidDataException("not a pcap file");
        uint U32(int o) => le ? BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(o)) : BinaryPrimitives.ReadUInt32BigEndian(f.AsSpan(o));
        int linkType = (int)(U32(20) & 0xffff);
        int pos = 24;
        while (pos + 16 <= f.Length)
        {
            int incl = (int)U32(pos + 8);
            frames.Add((linkType, f.AsSpan(pos + 16, incl).ToArray()));
            pos += 16 + incl;
        }
    }

    private static void ReadPcapNg(byte[] f, List<(int, byte[])> frames)
    {
        var linkTypes = new List<int>();
        int pos = 0;
        while (pos + 12 <= f.Length)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(pos));
            int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(pos + 4));
            if (type == 0x0a0d0d0a)
                linkTypes.Clear();
            else if (type == 1)
                linkTypes.Add(BinaryPrimitives.ReadUInt16LittleEndian(f.AsSpan(pos + 8)));
            else if (type == 6)
            {
                int iface = (int)BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(pos + 8));
                int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(f.AsSpan(pos + 20));
                frames.Add((linkTypes[iface], f.AsSpan(pos + 28, captured).ToArray()));
            }
            pos += length;
        }
    }

    private static TestDatagram? Decode(int number, int linkType, byte[] frame)
    {
        ReadOnlySpan<byte> ip = linkType switch
        {
            1 => frame.AsSpan(14), // Ethernet (no VLAN in these captures)
            101 or 228 or 229 => frame,
            _ => throw new NotSupportedException($"link type {linkType}"),
        };
        int version = ip[0] >> 4;
        ReadOnlySpan<byte> udp;
        IpAddr src, dst;
        if (version == 4)
        {
            if (ip[9] != 17)
                return null;
            src = IpAddr.FromV4Bytes(ip.Slice(12, 4));
            dst = IpAddr.FromV4Bytes(ip.Slice(16, 4));
            int total = BinaryPrimitives.ReadUInt16BigEndian(ip[2..]);
            udp = ip[((ip[0] & 0xf) * 4)..total];
        }
        else
        {
            if (ip[6] != 17)
                return null;
            src = IpAddr.FromV6Bytes(ip.Slice(8, 16));
            dst = IpAddr.FromV6Bytes(ip.Slice(24, 16));
            udp = ip.Slice(40, BinaryPrimitives.ReadUInt16BigEndian(ip[4..]));
        }
        int udpLength = BinaryPrimitives.ReadUInt16BigEndian(udp[4..]);
        return new TestDatagram(number, src, BinaryPrimitives.ReadUInt16BigEndian(udp), dst,
            BinaryPrimitives.ReadUInt16BigEndian(udp[2..]), udp[8..udpLength].ToArray());
    }
}
