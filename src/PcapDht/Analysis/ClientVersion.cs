using System.Buffers.Binary;

namespace PcapDht.Analysis;

/// <summary>
/// The KRPC "v" key: two ASCII letters naming the client and two bytes of version, as
/// libtorrent's dht_extensions ("client identification") documents. Other clients' version bytes
/// are shown as one big-endian number. libtorrent itself changed its encoding: up to 1.1 it sent
/// {major, minor}; since 1.2 it sends {major, minor &lt;&lt; 4 | tiny} (its dht_tracker.cpp
/// static_asserts minor and tiny below 16), so "LT" 02 08 is 2.0.8, not 2.8.
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
        version = code == "LT" ? LibtorrentVersion(v[2], v[3]) : BinaryPrimitives.ReadUInt16BigEndian(v[2..]).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return true;
    }

    // 1.0.x and 1.1.x sent {1, 0} and {1, 1}; every nibble-encoded release is 1.2 or later, so a
    // second byte of 0x10 or more (minor >= 1 in the high nibble) or a major of 2+ means nibbles.
    private static string LibtorrentVersion(byte major, byte second) =>
        major >= 2 || second >= 0x10 ? $"{major}.{second >> 4}.{second & 0xf}" : $"{major}.{second}";

    private static bool IsPrintable(byte b) => b is >= 0x21 and <= 0x7e;
}
