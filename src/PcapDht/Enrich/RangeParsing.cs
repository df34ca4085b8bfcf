using System.Globalization;
using System.Net;
using System.Net.Sockets;
using PcapDht.Net;

namespace PcapDht.Enrich;

/// <summary>Text forms of addresses, networks and AS numbers as the public data sets write them.</summary>
internal static class RangeParsing
{
    private static readonly UInt128 V4Base = IpAddr.FromV4(0).Value;

    /// <summary>
    /// An address as text (1.2.3.4, 2001:db8::) or as a decimal number. Numbers up to 2^32-1 are
    /// IPv4 (iptoasn -u32, ip-location-db -ipv4-num); larger ones are IPv6 (-ipv6-num). The IPv6
    /// ::/96 block that this makes unreachable is reserved and never announced.
    /// </summary>
    public static bool TryParseAddress(string text, out IpAddr address)
    {
        address = default;
        string t = text.Trim();
        if (t.Length == 0) return false;
        if (IsAllDigits(t))
        {
            if (!UInt128.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return false;
            address = n <= uint.MaxValue ? IpAddr.FromV4((uint)n) : new IpAddr(n);
            return true;
        }
        // IPAddress.TryParse also takes "10" or "10.1" (inet_aton forms); data sets never use them.
        if (t.Contains(':'))
        {
            if (!IPAddress.TryParse(t, out var a6) || a6.AddressFamily != AddressFamily.InterNetworkV6) return false;
            address = IpAddr.FromIPAddress(a6);
            return true;
        }
        if (CountOf(t, '.') != 3 || !IPAddress.TryParse(t, out var a4) || a4.AddressFamily != AddressFamily.InterNetwork) return false;
        address = IpAddr.FromIPAddress(a4);
        return true;
    }

    /// <summary>A CIDR network (1.2.3.0/24, 2001:db8::/32) or a single address, as an inclusive range.</summary>
    public static bool TryParseNetwork(string text, out IpAddr start, out IpAddr end, out string? error)
    {
        start = end = default;
        error = null;
        string t = text.Trim();
        int slash = t.IndexOf('/');
        if (slash < 0)
        {
            if (!TryParseAddress(t, out start)) { error = $"not an IP address or network: '{Clip(t)}'"; return false; }
            end = start;
            return true;
        }
        string addressText = t[..slash];
        if (IsAllDigits(addressText) || !TryParseAddress(addressText, out var address))
        {
            error = $"not a network: '{Clip(t)}'";
            return false;
        }
        bool v4 = !addressText.Contains(':');
        int maxBits = v4 ? 32 : 128;
        if (!int.TryParse(t.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int prefix) || prefix > maxBits)
        {
            error = $"bad prefix length in '{Clip(t)}'";
            return false;
        }
        int hostBits = maxBits - prefix;
        UInt128 hostMask = hostBits == 128 ? UInt128.MaxValue : (((UInt128)1 << hostBits) - 1);
        // For v4 the host bits are the low bits of the IPv4-mapped value, so one mask serves both.
        start = new IpAddr(address.Value & ~hostMask);
        end = new IpAddr(start.Value | hostMask);
        return true;
    }

    /// <summary>"AS174", "174" or empty. 0 (iptoasn's "Not routed") and empty mean no AS.</summary>
    public static bool TryParseAsn(string? text, out uint? asn)
    {
        asn = null;
        if (string.IsNullOrWhiteSpace(text)) return true;
        var s = text.AsSpan().Trim();
        if (s.Length > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) s = s[2..];
        if (!uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out uint n)) return false;
        asn = n == 0 ? null : n;
        return true;
    }

    /// <summary>An ISO 3166 alpha-2 code in upper case, or null for "None", "-", "ZZ" and other non-codes.</summary>
    public static string? NormalizeCountry(string? text)
    {
        if (text is null) return null;
        var s = text.AsSpan().Trim();
        if (s.Length != 2 || !char.IsAsciiLetter(s[0]) || !char.IsAsciiLetter(s[1])) return null;
        string code = string.Create(2, (s[0], s[1]), static (d, p) => { d[0] = char.ToUpperInvariant(p.Item1); d[1] = char.ToUpperInvariant(p.Item2); });
        return code == "ZZ" ? null : code;
    }

    public static string? NullIfEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    public static bool SameFamily(IpAddr a, IpAddr b) => a.IsV4 == b.IsV4;

    public static bool IsV4Mapped(UInt128 value) => (value & ~(UInt128)uint.MaxValue) == V4Base;

    public static bool IsAllDigits(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty) return false;
        foreach (char c in s) if (!char.IsAsciiDigit(c)) return false;
        return true;
    }

    public static string Clip(string s) => s.Length <= 60 ? s : s[..57] + "...";

    private static int CountOf(string s, char c)
    {
        int n = 0;
        foreach (char x in s) if (x == c) n++;
        return n;
    }
}
