using System.Net;
using System.Net.Sockets;
using PcapDht.Net;

namespace PcapDht.Synth;

/// <summary>A bad line in an ASN range file; the message names the file and line.</summary>
public sealed class AsnRangeFormatException(string message) : Exception(message);

/// <summary>One inclusive address range owned by an autonomous system.</summary>
public readonly record struct AsnRange(IpAddr Start, IpAddr End, uint Asn, string Org)
{
    public bool IsV4 => Start.IsV4;

    /// <summary>Number of addresses in the range (at most 2^128 - 1; the full v6 space is not a real row).</summary>
    public UInt128 Size => End.Value - Start.Value + 1;
}

/// <summary>
/// Address ranges in the @ip-location-db <c>asn</c> CSV layout: no header, one
/// <c>start_ip,end_ip,asn,as_org</c> row per inclusive range, IPv4 or IPv6 text. The org is the rest
/// of the line (it may hold commas, quoted or not). This is the synthetic generator's own small
/// reader: the analysis stage imports the same files into DuckDB with its own code, so the two
/// can be checked against each other.
/// </summary>
public sealed class AsnRangeTable
{
    private readonly AsnRange[] _ranges;

    private AsnRangeTable(AsnRange[] sorted) => _ranges = sorted;

    /// <summary>Ranges sorted by start address (IPv4 first: IPv4-mapped values are smaller than global IPv6).</summary>
    public IReadOnlyList<AsnRange> Ranges => _ranges;

    public static AsnRangeTable Load(params string[] paths)
    {
        var rows = new List<AsnRange>();
        foreach (var path in paths)
        {
            using var reader = new StreamReader(path);
            ReadInto(rows, reader, Path.GetFileName(path));
        }
        return Build(rows);
    }

    public static AsnRangeTable Parse(TextReader reader, string name)
    {
        var rows = new List<AsnRange>();
        ReadInto(rows, reader, name);
        return Build(rows);
    }

    private static void ReadInto(List<AsnRange> rows, TextReader reader, string name)
    {
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (line.Length == 0) continue;
            int c1 = line.IndexOf(',');
            int c2 = c1 < 0 ? -1 : line.IndexOf(',', c1 + 1);
            int c3 = c2 < 0 ? -1 : line.IndexOf(',', c2 + 1);
            if (c3 < 0)
                throw new AsnRangeFormatException($"{name}:{lineNo}: expected start_ip,end_ip,asn,as_org");
            var startText = line.AsSpan(0, c1).Trim();
            var endText = line.AsSpan(c1 + 1, c2 - c1 - 1).Trim();
            var asnText = line.AsSpan(c2 + 1, c3 - c2 - 1).Trim();
            if (!IPAddress.TryParse(startText, out var start) || !IPAddress.TryParse(endText, out var end))
                throw new AsnRangeFormatException($"{name}:{lineNo}: '{startText}' or '{endText}' is not an IP address");
            if (start.AddressFamily != end.AddressFamily)
                throw new AsnRangeFormatException($"{name}:{lineNo}: start and end are of different address families");
            if (asnText.StartsWith("AS", StringComparison.OrdinalIgnoreCase)) asnText = asnText[2..];
            if (!uint.TryParse(asnText, out uint asn))
                throw new AsnRangeFormatException($"{name}:{lineNo}: '{asnText}' is not an AS number");
            var s = IpAddr.FromIPAddress(start);
            var e = IpAddr.FromIPAddress(end);
            if (start.AddressFamily == AddressFamily.InterNetworkV6 && (s.IsV4 || e.IsV4))
                throw new AsnRangeFormatException($"{name}:{lineNo}: IPv4-mapped IPv6 ranges are not supported; write IPv4 text");
            if (s.Value > e.Value)
                throw new AsnRangeFormatException($"{name}:{lineNo}: start {startText} is after end {endText}");
            rows.Add(new AsnRange(s, e, asn, Unquote(line.AsSpan(c3 + 1).Trim())));
        }
    }

    private static string Unquote(ReadOnlySpan<char> org)
    {
        if (org.Length >= 2 && org[0] == '"' && org[^1] == '"')
            return org[1..^1].ToString().Replace("\"\"", "\"", StringComparison.Ordinal);
        return org.ToString();
    }

    private static AsnRangeTable Build(List<AsnRange> rows)
    {
        if (rows.Count == 0) throw new AsnRangeFormatException("the ASN range file holds no ranges");
        var sorted = rows.ToArray();
        Array.Sort(sorted, static (a, b) => a.Start.Value.CompareTo(b.Start.Value));
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Start.Value <= sorted[i - 1].End.Value)
                throw new AsnRangeFormatException(
                    $"ranges {sorted[i - 1].Start}-{sorted[i - 1].End} and {sorted[i].Start}-{sorted[i].End} overlap");
        }
        return new AsnRangeTable(sorted);
    }

    /// <summary>Index of the range holding <paramref name="ip"/>, or -1.</summary>
    public int IndexOf(IpAddr ip)
    {
        int lo = 0, hi = _ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            ref readonly var r = ref _ranges[mid];
            if (ip.Value < r.Start.Value) hi = mid - 1;
            else if (ip.Value > r.End.Value) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    /// <summary>
    /// A small fictional table used when no range file is given: documentation AS numbers
    /// (RFC 5398) over public-looking ranges. Real measurements import a real data set.
    /// </summary>
    public static AsnRangeTable BuiltIn() => Parse(new StringReader(BuiltInCsv), "built-in ranges");

    internal const string BuiltInCsv = """
        11.32.0.0,11.47.255.255,64496,EXAMPLE-CABLE-A
        23.80.0.0,23.95.255.255,64497,EXAMPLE-TELECOM-B
        31.16.0.0,31.19.255.255,64498,EXAMPLE-MOBILE-C
        41.200.0.0,41.203.255.255,64499,"Example DSL D, Inc."
        62.140.0.0,62.140.255.255,64500,EXAMPLE-FIBRE-E
        77.64.0.0,77.79.255.255,64501,EXAMPLE-TELECOM-F
        88.120.0.0,88.127.255.255,64496,EXAMPLE-CABLE-A
        95.24.0.0,95.31.255.255,64502,EXAMPLE-ISP-G
        101.96.0.0,101.97.255.255,64503,EXAMPLE-HOSTING-H
        112.200.0.0,112.207.255.255,64504,EXAMPLE-BROADBAND-I
        151.40.0.0,151.41.255.255,64505,EXAMPLE-ISP-J
        177.10.0.0,177.10.127.255,64506,EXAMPLE-REGIONAL-K
        188.16.0.0,188.17.255.255,64507,EXAMPLE-WIRELESS-L
        2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64496,EXAMPLE-CABLE-A
        2a02:8000::,2a02:80ff:ffff:ffff:ffff:ffff:ffff:ffff,64497,EXAMPLE-TELECOM-B
        2a0a:4000::,2a0a:40ff:ffff:ffff:ffff:ffff:ffff:ffff,64501,EXAMPLE-TELECOM-F
        2c0f:f000::,2c0f:f0ff:ffff:ffff:ffff:ffff:ffff:ffff,64499,"Example DSL D, Inc."
        2405:4800::,2405:48ff:ffff:ffff:ffff:ffff:ffff:ffff,64504,EXAMPLE-BROADBAND-I
        """;
}
