using System.Globalization;
using MaxMind.Db;
using PcapDht.Net;

namespace PcapDht.Enrich;

/// <summary>
/// Enumerates every network of a MaxMind DB file and keeps the ASN and country it carries.
/// Understands MaxMind's keys (autonomous_system_number, country.iso_code), IPinfo's flat ones
/// (asn "AS174", as_name, country_code) and ip-location-db's (either style).
/// </summary>
internal static class MmdbRangeReader
{
    public static RangeFile Read(byte[] content, string name)
    {
        // MaxMind.Db 5.2.0 leaks an anonymous memory map whenever its Reader constructor throws (fuzz finding
        // ranges #3): a file it would refuse is refused here, before it is copied into one.
        if (MmdbMetadataCheck.Problem(content) is { } problem)
            throw new RangeFormatException($"{name}: damaged MMDB file ({problem})");
        Reader reader;
        try { reader = new Reader(new MemoryStream(content, writable: false)); }
        catch (Exception e) when (e is InvalidDatabaseException or DeserializationException or IOException or ArgumentException)
        {
            throw new RangeFormatException($"{name}: damaged MMDB file ({FirstLine(e.Message)})");
        }
        using (reader)
        {
            var metadata = reader.Metadata;
            var file = new RangeFile
            {
                FileName = name,
                Format = RangeFormat.Mmdb,
                Attribution = RangeFormats.Attribution(RangeFormat.Mmdb, metadata.DatabaseType),
                SourceDate = new DateTimeOffset(DateTime.SpecifyKind(metadata.BuildDate, DateTimeKind.Utc)),
                SourceDateBasis = SourceDates.MmdbBuild,
            };
            var rows = new List<(IpAddr Start, IpAddr End, uint? Asn, string? AsName, string? Country)>();
            bool anyAsn = false;
            long record = 0;
            try
            {
                // As object, not as a map: a record whose data is a string or a number (a damaged or foreign file)
                // is then one bad row, where a typed read threw and ended the whole import (fuzz finding).
                foreach (var node in reader.FindAll<object>(cacheSize: 1 << 16))
                {
                    record++;
                    var start = IpAddr.FromIPAddress(node.Start);
                    // The reader reports the ::/96 subtree of an IPv6 file as IPv4 with the prefix
                    // shortened by 96; a node above that (prefix < 96) comes out negative.
                    int bits = node.Start.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128;
                    if (node.PrefixLength < 0 || node.PrefixLength > bits) { file.AddBad(record, $"bad prefix length {node.PrefixLength}"); continue; }
                    int hostBits = bits - node.PrefixLength;
                    UInt128 hostMask = hostBits == 128 ? UInt128.MaxValue : (((UInt128)1 << hostBits) - 1);
                    var end = new IpAddr(start.Value | hostMask);
                    if (node.Data is not Dictionary<string, object> data)
                    {
                        file.AddBad(record, $"network {node.Start}/{node.PrefixLength}: data is a {Describe(node.Data)}, not a map");
                        continue;
                    }
                    if (!TryGetAsn(data, out uint? asn)) { file.AddBad(record, $"network {node.Start}/{node.PrefixLength}: unreadable AS number"); continue; }
                    string? asName = GetString(data, "autonomous_system_organization") ?? GetString(data, "as_name");
                    string? country = GetCountry(data);
                    anyAsn |= asn is not null;
                    rows.Add((start, end, asn, asName, country));
                }
            }
            catch (Exception e) when (e is InvalidDatabaseException or DeserializationException)
            {
                file.AddBad(record + 1, $"damaged search tree or data section ({FirstLine(e.Message)})");
            }
            file.Kind = anyAsn ? RangeKind.Asn : RangeKind.Country;
            foreach (var r in rows) RangeFileReader.Add(file, 0, r.Start, r.End, r.Asn, r.AsName, r.Country);
            return file;
        }
    }

    private static bool TryGetAsn(Dictionary<string, object> data, out uint? asn)
    {
        asn = null;
        if (data.TryGetValue("autonomous_system_number", out var v) || data.TryGetValue("asn", out v))
        {
            switch (v)
            {
                case string s: return RangeParsing.TryParseAsn(s, out asn);
                case null: return true;
                default:
                    try
                    {
                        ulong n = Convert.ToUInt64(v, CultureInfo.InvariantCulture);
                        if (n > uint.MaxValue) return false;
                        asn = n == 0 ? null : (uint)n;
                        return true;
                    }
                    catch (Exception e) when (e is InvalidCastException or OverflowException or FormatException) { return false; }
            }
        }
        return true;
    }

    private static string? GetCountry(Dictionary<string, object> data)
    {
        // MaxMind nests the code (country.iso_code); IPinfo uses country_code with country as a name.
        if (data.TryGetValue("country", out var c) && c is IDictionary<string, object> nested && nested.TryGetValue("iso_code", out var iso))
            return RangeParsing.NormalizeCountry(iso as string);
        if (GetString(data, "country_code") is { } code) return RangeParsing.NormalizeCountry(code);
        if (c is string s) return RangeParsing.NormalizeCountry(s);
        if (data.TryGetValue("registered_country", out var rc) && rc is IDictionary<string, object> reg && reg.TryGetValue("iso_code", out var riso))
            return RangeParsing.NormalizeCountry(riso as string);
        return null;
    }

    private static string? GetString(Dictionary<string, object> data, string key) =>
        data.TryGetValue(key, out var v) && v is string s ? RangeParsing.NullIfEmpty(s) : null;

    private static string Describe(object? value) => value switch
    {
        null => "null",
        string => "string",
        System.Collections.IList => "list",
        _ => "number",
    };

    private static string FirstLine(string s)
    {
        int i = s.IndexOf('\n');
        return i < 0 ? s : s[..i];
    }
}
