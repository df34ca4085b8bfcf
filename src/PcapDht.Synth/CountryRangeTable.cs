using System.Net;
using PcapDht.Net;

namespace PcapDht.Synth;

/// <summary>
/// Country ranges in the @ip-location-db <c>asn-country</c> / country CSV layout: no header,
/// <c>start_ip,end_ip,country_code</c>, inclusive. The generator does not draw from them; they
/// only label the ground truth per country.
/// </summary>
public sealed class CountryRangeTable
{
    private readonly (UInt128 Start, UInt128 End, string Country)[] _ranges;

    private CountryRangeTable((UInt128, UInt128, string)[] sorted) => _ranges = sorted;

    public int Count => _ranges.Length;

    public static CountryRangeTable Load(params string[] paths)
    {
        var rows = new List<(UInt128, UInt128, string)>();
        foreach (var path in paths)
        {
            using var reader = new StreamReader(path);
            string name = Path.GetFileName(path);
            int lineNo = 0;
            while (reader.ReadLine() is { } line)
            {
                lineNo++;
                if (line.Length == 0) continue;
                var f = line.Split(',');
                if (f.Length != 3)
                    throw new AsnRangeFormatException($"{name}:{lineNo}: expected start_ip,end_ip,country_code");
                if (!IPAddress.TryParse(f[0].Trim(), out var s) || !IPAddress.TryParse(f[1].Trim(), out var e)
                    || s.AddressFamily != e.AddressFamily)
                    throw new AsnRangeFormatException($"{name}:{lineNo}: '{f[0]}' or '{f[1]}' is not an address range");
                var start = IpAddr.FromIPAddress(s).Value;
                var end = IpAddr.FromIPAddress(e).Value;
                if (start > end) throw new AsnRangeFormatException($"{name}:{lineNo}: start {f[0]} is after end {f[1]}");
                rows.Add((start, end, f[2].Trim()));
            }
        }
        if (rows.Count == 0) throw new AsnRangeFormatException("the country range file holds no ranges");
        var sorted = rows.ToArray();
        Array.Sort(sorted, static (a, b) => a.Item1.CompareTo(b.Item1));
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Item1 <= sorted[i - 1].Item2)
                throw new AsnRangeFormatException(
                    $"country ranges {new IpAddr(sorted[i - 1].Item1)}-{new IpAddr(sorted[i - 1].Item2)} and {new IpAddr(sorted[i].Item1)}-{new IpAddr(sorted[i].Item2)} overlap");
        }
        return new CountryRangeTable(sorted);
    }

    /// <summary>The country holding <paramref name="ip"/>, or null.</summary>
    public string? Lookup(UInt128 ip)
    {
        int lo = 0, hi = _ranges.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var r = _ranges[mid];
            if (ip < r.Start) hi = mid - 1;
            else if (ip > r.End) lo = mid + 1;
            else return r.Country;
        }
        return null;
    }
}
