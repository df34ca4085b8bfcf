using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace PcapDht.Tests.Enrich;

/// <summary>
/// Writes small MaxMind DB files (format spec 2.0) for tests: an IPv6 search tree with 32-bit
/// records, IPv4 networks under ::/96 as MaxMind places them, data maps of strings, unsigned
/// integers and nested maps. Enough to exercise the importer without a binary fixture.
/// </summary>
public sealed class TestMmdbWriter(string databaseType)
{
    private readonly List<(int Left, int Right)> _nodes = [(Empty, Empty)];
    private readonly List<byte[]> _data = [];
    private const int Empty = -1;
    private const int DataTag = 1 << 30;

    /// <summary>Adds a network (IPv4 or IPv6 CIDR) with a data map.</summary>
    public TestMmdbWriter Add(string cidr, Dictionary<string, object> data) => AddValue(cidr, data);

    /// <summary>Adds a network whose data is any value (a string, a number: what a damaged or foreign file holds).</summary>
    public TestMmdbWriter AddValue(string cidr, object data)
    {
        var parts = cidr.Split('/');
        var address = IPAddress.Parse(parts[0]);
        int prefix = int.Parse(parts[1]);
        UInt128 bits;
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
        {
            bits = BinaryPrimitives.ReadUInt32BigEndian(address.GetAddressBytes());
            prefix += 96;
        }
        else
        {
            bits = BinaryPrimitives.ReadUInt128BigEndian(address.GetAddressBytes());
        }
        var encoded = new MemoryStream();
        Encode(encoded, data);
        _data.Add(encoded.ToArray());
        Insert(bits, prefix, DataTag | (_data.Count - 1));
        return this;
    }

    private void Insert(UInt128 bits, int prefix, int value)
    {
        int node = 0;
        for (int depth = 0; depth < prefix; depth++)
        {
            int bit = (int)((bits >> (127 - depth)) & 1);
            var (l, r) = _nodes[node];
            int child = bit == 0 ? l : r;
            if (depth == prefix - 1)
            {
                _nodes[node] = bit == 0 ? (value, r) : (l, value);
                return;
            }
            if (child == Empty)
            {
                _nodes.Add((Empty, Empty));
                child = _nodes.Count - 1;
                _nodes[node] = bit == 0 ? (child, r) : (l, child);
            }
            else if ((child & DataTag) != 0)
            {
                throw new InvalidOperationException("test writer cannot split an existing network");
            }
            node = child;
        }
    }

    /// <param name="editMetadata">changes the metadata map before it is written (a value of bytes is written as is,
    /// already encoded)</param>
    public byte[] Build(DateTimeOffset buildTime, Action<Dictionary<string, object>>? editMetadata = null)
    {
        int nodeCount = _nodes.Count;
        var dataOffsets = new int[_data.Count];
        int offset = 0;
        for (int i = 0; i < _data.Count; i++) { dataOffsets[i] = offset; offset += _data[i].Length; }
        var ms = new MemoryStream();
        Span<byte> four = stackalloc byte[4];
        foreach (var (l, r) in _nodes)
        {
            foreach (int c in new[] { l, r })
            {
                uint v = c == Empty ? (uint)nodeCount
                    : (c & DataTag) != 0 ? (uint)(nodeCount + 16 + dataOffsets[c & ~DataTag])
                    : (uint)c;
                BinaryPrimitives.WriteUInt32BigEndian(four, v);
                ms.Write(four);
            }
        }
        ms.Write(new byte[16]);
        foreach (var d in _data) ms.Write(d);
        ms.Write([0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8]);
        var metadata = new Dictionary<string, object>
        {
            ["node_count"] = (uint)nodeCount,
            ["record_size"] = (ushort)32,
            ["ip_version"] = (ushort)6,
            ["database_type"] = databaseType,
            ["languages"] = new List<object> { "en" },
            ["binary_format_major_version"] = (ushort)2,
            ["binary_format_minor_version"] = (ushort)0,
            ["build_epoch"] = (ulong)buildTime.ToUnixTimeSeconds(),
            ["description"] = new Dictionary<string, object> { ["en"] = "PcapDht test database" },
        };
        editMetadata?.Invoke(metadata);
        ms.Write(EncodeMap(metadata));
        return ms.ToArray();
    }

    private static byte[] EncodeMap(Dictionary<string, object> map)
    {
        var ms = new MemoryStream();
        Control(ms, 7, map.Count);
        foreach (var (k, v) in map)
        {
            Encode(ms, k);
            Encode(ms, v);
        }
        return ms.ToArray();
    }

    private static void Encode(MemoryStream ms, object value)
    {
        switch (value)
        {
            case string s:
                var b = Encoding.UTF8.GetBytes(s);
                Control(ms, 2, b.Length);
                ms.Write(b);
                break;
            case byte[] encoded: ms.Write(encoded); break;
            case ushort u16: UInt(ms, 5, u16); break;
            case uint u32: UInt(ms, 6, u32); break;
            case ulong u64: UInt(ms, 9, u64); break;
            case Dictionary<string, object> m: ms.Write(EncodeMap(m)); break;
            case List<object> list:
                Control(ms, 11, list.Count);
                foreach (var x in list) Encode(ms, x);
                break;
            default: throw new ArgumentException($"unsupported type {value.GetType()}");
        }
    }

    private static void UInt(MemoryStream ms, int type, ulong v)
    {
        var bytes = new List<byte>();
        while (v != 0) { bytes.Insert(0, (byte)v); v >>= 8; }
        Control(ms, type, bytes.Count);
        ms.Write(bytes.ToArray());
    }

    private static void Control(MemoryStream ms, int type, int size)
    {
        int sizeBits = size < 29 ? size : 29;
        if (type <= 7)
        {
            ms.WriteByte((byte)((type << 5) | sizeBits));
        }
        else
        {
            ms.WriteByte((byte)sizeBits);
            ms.WriteByte((byte)(type - 7));
        }
        if (size >= 29)
        {
            if (size - 29 > 255) throw new ArgumentException("test writer supports sizes below 285");
            ms.WriteByte((byte)(size - 29));
        }
    }
}
