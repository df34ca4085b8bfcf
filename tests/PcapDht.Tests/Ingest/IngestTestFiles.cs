using System.Buffers.Binary;
using System.Text;

namespace PcapDht.Tests.Ingest;

/// <summary>Writes capture files for ingest tests (raw-IP pcap with KRPC payloads).</summary>
internal static class IngestTestFiles
{
    /// <summary>A find_node response with 8 nodes (sorted keys, BEP 5), transaction id from <paramref name="i"/>.</summary>
    public static byte[] FindNodeResponse(int i)
    {
        var ms = new MemoryStream();
        void W(string s) => ms.Write(Encoding.ASCII.GetBytes(s));
        W("d1:rd2:id20:");
        for (int b = 0; b < 20; b++) ms.WriteByte((byte)(b + i));
        W("5:nodes208:");
        for (int n = 0; n < 8; n++)
        {
            for (int b = 0; b < 20; b++) ms.WriteByte((byte)(n * 20 + b));
            ms.Write([10, 1, (byte)n, (byte)(i & 255), 0x1a, 0xe1]);
        }
        W("e1:t2:");
        ms.WriteByte((byte)(i >> 8)); ms.WriteByte((byte)i);
        W("1:y1:re");
        return ms.ToArray();
    }

    /// <summary>A classic pcap (µs, LINKTYPE_RAW unless <paramref name="linkType"/> says otherwise) holding <paramref name="count"/> IPv4/UDP datagrams.</summary>
    public static void WriteRawPcap(string path, int count, Func<int, byte[]> payload, uint linkType = 101, int first = 0)
    {
        using var f = new BufferedStream(File.Create(path), 1 << 20);
        WritePcapHeader(f, linkType);
        for (int i = first; i < first + count; i++) WriteRecord(f, i, payload(i));
    }

    /// <summary>The 24-byte header of a classic pcap (µs timestamps, little-endian).</summary>
    public static void WritePcapHeader(Stream f, uint linkType = 101)
    {
        Span<byte> hdr = stackalloc byte[24];
        hdr.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(hdr, 0xa1b2c3d4);
        BinaryPrimitives.WriteUInt16LittleEndian(hdr[4..], 2);
        BinaryPrimitives.WriteUInt16LittleEndian(hdr[6..], 4);
        BinaryPrimitives.WriteUInt32LittleEndian(hdr[16..], 65535);
        BinaryPrimitives.WriteUInt32LittleEndian(hdr[20..], linkType);
        f.Write(hdr);
    }

    /// <summary>Record <paramref name="i"/>: an IPv4/UDP datagram from 10.0.x.y:6881 to 10.9.9.9:51413, 10 µs after the previous.</summary>
    public static void WriteRecord(Stream f, int i, byte[] p)
    {
        Span<byte> rec = stackalloc byte[16 + 28];
        rec.Clear();
        int len = 28 + p.Length;
        long us = 1_700_000_000_000_000L + i * 10L;
        BinaryPrimitives.WriteUInt32LittleEndian(rec, (uint)(us / 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(rec[4..], (uint)(us % 1_000_000));
        BinaryPrimitives.WriteUInt32LittleEndian(rec[8..], (uint)len);
        BinaryPrimitives.WriteUInt32LittleEndian(rec[12..], (uint)len);
        var ip = rec[16..];
        ip[0] = 0x45; ip[8] = 64; ip[9] = 17;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)len);
        ip[12] = 10; ip[13] = 0; ip[14] = (byte)(i >> 8); ip[15] = (byte)i;
        ip[16] = 10; ip[17] = 9; ip[18] = 9; ip[19] = 9;
        uint sum = 0;
        for (int k = 0; k < 20; k += 2) sum += BinaryPrimitives.ReadUInt16BigEndian(ip[k..]);
        while (sum >> 16 != 0) sum = (sum & 0xffff) + (sum >> 16);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], (ushort)~sum);
        BinaryPrimitives.WriteUInt16BigEndian(ip[20..], 6881);
        BinaryPrimitives.WriteUInt16BigEndian(ip[22..], 51413);
        BinaryPrimitives.WriteUInt16BigEndian(ip[24..], (ushort)(8 + p.Length));
        f.Write(rec);
        f.Write(p);
    }
}
