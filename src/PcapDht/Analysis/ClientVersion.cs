using System.Globalization;

namespace PcapDht.Analysis;

/// <summary>
/// The KRPC "v" key: two ASCII letters naming the client and two bytes of version (libtorrent's
/// dht_extensions, "client identification"). Each client packs the two bytes its own way; the
/// encodings below are read from the clients' public source (docs/analysis.md has the table with
/// the files and commits). Several clients send no "v" at all: Transmission since 2.12, KTorrent,
/// webtorrent's bittorrent-dht, anacrolix/dht.
/// </summary>
public static class ClientVersion
{
    private delegate string Decoder(byte hi, byte lo);

    private sealed record Client(string Name, Decoder Version);

    private static readonly Dictionary<string, Client> Known = new(StringComparer.Ordinal)
    {
        // libtorrent (rasterbar; qBittorrent, Deluge and others embed it): src/kademlia/dht_tracker.cpp.
        ["LT"] = new("libtorrent", Libtorrent),
        // libtorrent (rakshasa; rTorrent): configure.ac PEER_VERSION.
        ["lt"] = new("libtorrent (rakshasa)", Rakshasa),
        // µTorrent and BitTorrent (BitTorrent Inc.'s libbtdht): ClientID::from_compact reads b[2] << 8 | b[3].
        ["UT"] = new("uTorrent", (hi, lo) => $"build {Be16(hi, lo)}"),
        // Transmission 1.70-2.11 (libtransmission/tr-dht.c); 2.12 and later send no "v".
        ["TR"] = new("Transmission", Transmission),
        // mldht library >= 0.1 (DHTConstants.setVersion(11) "0.1.1"): the digits of a 16-bit number.
        ["ml"] = new("mldht", (hi, lo) => Digits(Be16(hi, lo), leadingZero: true)),
        // Vuze/Azureus mlDHT plugin (mldht before 0.1): the plugin version with its dots removed, e.g. 1.5.8 -> 158.
        ["Az"] = new("Vuze mlDHT plugin", (hi, lo) => Digits(Be16(hi, lo), leadingZero: false)),
        // mldht's default before the plugin set its version: the four ASCII characters "AZ00".
        ["AZ"] = new("Vuze mlDHT plugin", (hi, lo) => hi == '0' && lo == '0' ? "(unset)" : Be16(hi, lo).ToString(CultureInfo.InvariantCulture)),
        // Listed in libtorrent's dht_extensions documentation; their version bytes are not documented.
        ["MP"] = new("MooPolice", Raw),
        ["GR"] = new("GetRight", Raw),
    };

    public static string? ClientName(string code) => Known.GetValueOrDefault(code)?.Name;

    /// <summary>Decodes 4 bytes; false when the value is not 2 printable ASCII characters + 2 bytes.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> v, out string code, out string version)
    {
        code = version = "";
        if (v.Length != 4 || !IsPrintable(v[0]) || !IsPrintable(v[1])) return false;
        code = string.Create(2, (v[0], v[1]), static (d, p) => { d[0] = (char)p.Item1; d[1] = (char)p.Item2; });
        version = (Known.TryGetValue(code, out var client) ? client.Version : Raw)(v[2], v[3]);
        return true;
    }

    /// <summary>
    /// libtorrent 0.15-1.2.4 sent {major, minor}; since February 2020 (commit 224cc0e, the 1.2 series and 2.0)
    /// {major, minor &lt;&lt; 4 | tiny}, with a static_assert that minor and tiny stay below 16. A major of 0 is
    /// always the old form (0.15, 0.16); so is a major of 1 with a second byte below 0x10 (1.0, 1.1, 1.2), since
    /// the nibble form of 1.x only exists from 1.2.5 on (0x25 and up).
    /// </summary>
    private static string Libtorrent(byte major, byte second) =>
        major >= 2 || (major == 1 && second >= 0x10) ? $"{major}.{second >> 4}.{second & 0xf}" : $"{major}.{second}";

    /// <summary>rakshasa's libtorrent is 0.x: {minor, patch &lt;&lt; 4} up to 0.13.x, {minor, patch} from 0.14.0.</summary>
    private static string Rakshasa(byte minor, byte patch) =>
        minor <= 13 ? $"0.{minor}.{patch >> 4}" : $"0.{minor}.{patch}";

    /// <summary>
    /// Transmission 1.70-2.10 sent its SVN revision (r8000-r11300 in those years: first byte 0x1f-0x2c);
    /// 2.11 sent {MAJOR_VERSION, MINOR_VERSION} = {2, 11}. A first byte below 10 is therefore a major version.
    /// </summary>
    private static string Transmission(byte hi, byte lo) =>
        hi < 10 ? $"{hi}.{lo:D2}" : $"r{Be16(hi, lo)}";

    private static string Digits(int n, bool leadingZero)
    {
        string d = n.ToString(CultureInfo.InvariantCulture);
        if (d.Length > 3) return d;
        return (leadingZero ? "0." : "") + string.Join('.', d.ToCharArray());
    }

    private static string Raw(byte hi, byte lo) => Be16(hi, lo).ToString(CultureInfo.InvariantCulture);

    private static int Be16(byte hi, byte lo) => hi << 8 | lo;

    private static bool IsPrintable(byte b) => b is >= 0x21 and <= 0x7e;
}
