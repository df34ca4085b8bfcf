using System.Buffers.Binary;

namespace PcapDht.Analysis;

/// <summary>
/// The KRPC "v" key: two ASCII letters naming the client and two bytes of version, as
/// libtorrent's dht_extensions ("client identification") documents. The version bytes are read
/// big-endian; libtorrent writes major and minor there, so LT shows as "major.minor".
/// </summary>
public static class ClientVersion
{
    /// <summary>The codes libtorrent's documentation lists. Others are shown by their letters.</summary>
    private static readonly Dictionary<string, string> Known = new(StringComparer.Ordinal)
    {
        ["LT"] = "libtorrent",
        ["UT"] = "uTorrent",
        ["MP"] = "MooPolice",
        ["GR"] = "GetRight",
    };

    public static string? ClientName(string code) => Known.GetValueOrDefault(code);

    /// <summary>Decodes 4 bytes; false when the value is not 2 printable ASCII letters + 2 bytes.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> v, out string code, out string version)
    {
        code = version = "";
        if (v.Length != 4 || !IsPrintable(v[0]) || !IsPrintable(v[1])) return false;
        code = string.Create(2, (v[0], v[1]), static (d, p) => { d[0] = (char)p.Item1; d[1] = (char)p.Item2; });
        version = code == "LT" ? $"{v[2]}.{v[3]}" : BinaryPrimitives.ReadUInt16BigEndian(v[2..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    private static bool IsPrintable(byte b) => b is >= 0x21 and <= 0x7e;
}
