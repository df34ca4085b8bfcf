using System.IO.Compression;
using System.Text;
using CsvHelper;
using PcapDht.Net;

namespace PcapDht.Enrich;

/// <summary>
/// Reads an ASN or country range file, recognising the format from its content (never from its
/// name): gzip is unwrapped first, MMDB is found by its metadata marker, text formats by their
/// header or the shape of the first record. Bad rows are counted with line numbers, never fatal.
/// </summary>
public static class RangeFileReader
{
    private const int SniffBytes = 64 * 1024;
    internal static readonly byte[] MmdbMetadataMarker = [0xAB, 0xCD, 0xEF, .. "MaxMind.com"u8];

    public static RangeFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        var file = Read(() => File.OpenRead(path), Path.GetFileName(path));
        SourceDates.Find(file, path);
        return file;
    }

    /// <summary>
    /// Reads the content <paramref name="open"/> returns (called once per pass: a sniff of the head, then the
    /// rows). The source date is the content's own (an MMDB build epoch) or none.
    /// </summary>
    internal static RangeFile Read(Func<Stream> open, string name)
    {
        byte[] head = ReadHead(open, name, out bool gzip);
        if (LooksBinary(head))
        {
            byte[] all = gzip ? Decompress(open, name) : ReadAll(open);
            if (!ContainsMarker(all)) throw Unknown(name, "binary content that is not an MMDB file (no MaxMind.com metadata marker)");
            var mmdb = MmdbRangeReader.Read(all, name);
            return mmdb;
        }
        var format = DetectText(head, name, out char separator, out bool hasHeader);
        using var stream = OpenText(open, gzip);
        var file = ReadText(stream, name, format, separator, hasHeader);
        return file;
    }

    private static RangeFormatException Unknown(string name, string why) =>
        new($"{name}: not a known ASN/country range format ({why}); expected iptoasn TSV, IPinfo Lite CSV, ip-location-db CSV, GeoLite2-ASN CSV or MMDB");

    private static byte[] ReadHead(Func<Stream> open, string name, out bool gzip)
    {
        using var fs = open();
        Span<byte> magic = stackalloc byte[2];
        int m = fs.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        gzip = m == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        fs.Position = 0;
        Stream s = gzip ? new GZipStream(fs, CompressionMode.Decompress) : fs;
        var buffer = new byte[SniffBytes];
        int n;
        try { n = s.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false); }
        catch (InvalidDataException) { throw new RangeFormatException($"{name}: damaged gzip data"); }
        finally { if (gzip) s.Dispose(); }
        return buffer[..n];
    }

    private static Stream OpenText(Func<Stream> open, bool gzip)
    {
        var fs = open();
        return gzip ? new GZipStream(fs, CompressionMode.Decompress) : fs;
    }

    private static byte[] ReadAll(Func<Stream> open)
    {
        using var fs = open();
        using var ms = new MemoryStream();
        fs.CopyTo(ms);
        return ms.ToArray();
    }

    private static byte[] Decompress(Func<Stream> open, string name)
    {
        using var fs = open();
        using var gz = new GZipStream(fs, CompressionMode.Decompress);
        using var ms = new MemoryStream();
        try { gz.CopyTo(ms); }
        catch (InvalidDataException) { throw new RangeFormatException($"{name}: damaged gzip data"); }
        return ms.ToArray();
    }

    private static bool LooksBinary(ReadOnlySpan<byte> head) => head.IndexOf((byte)0) >= 0;

    private static bool ContainsMarker(byte[] all)
    {
        // The MMDB spec puts metadata in the last 128 KiB, after the last marker.
        int from = Math.Max(0, all.Length - 128 * 1024);
        return all.AsSpan(from).LastIndexOf(MmdbMetadataMarker) >= 0;
    }

    internal static RangeFormat DetectText(ReadOnlySpan<byte> head, string name, out char separator, out bool hasHeader)
    {
        if (head.StartsWith("\xEF\xBB\xBF"u8)) head = head[3..];
        string text = Encoding.UTF8.GetString(head);
        string? first = null;
        foreach (var line in text.Split('\n'))
        {
            string l = line.TrimEnd('\r');
            if (l.Trim().Length > 0) { first = l; break; }
        }
        if (first is null) throw Unknown(name, "the file is empty");

        if (first.Contains('\t'))
        {
            separator = '\t';
            hasHeader = false;
            var f = first.Split('\t');
            if (f.Length >= 5 || f.Length == 4)
            {
                if (RangeParsing.IsAllDigits(f[0].Trim()) && RangeParsing.IsAllDigits(f[1].Trim())) return RangeFormat.IpToAsnU32Tsv;
                if (RangeParsing.TryParseAddress(f[0], out _) && RangeParsing.TryParseAddress(f[1], out _)) return RangeFormat.IpToAsnTsv;
            }
            throw Unknown(name, $"tab-separated first line '{RangeParsing.Clip(first)}' is not start, end, ASN, country, name");
        }

        separator = ',';
        var fields = SplitCsvLine(first);
        var lower = fields.Select(x => x.Trim().ToLowerInvariant()).ToArray();
        if (lower.Length > 0 && lower[0] == "network")
        {
            hasHeader = true;
            if (lower.Contains("autonomous_system_number")) return RangeFormat.GeoLite2AsnCsv;
            if (lower.Contains("asn")) return RangeFormat.IpInfoLiteCsv;
            if (lower.Contains("geoname_id"))
                throw new RangeFormatException($"{name}: GeoLite2 Country blocks CSV carries geoname ids, not country codes; import GeoLite2-Country.mmdb instead");
            throw Unknown(name, $"CSV header '{RangeParsing.Clip(first)}' has no asn column");
        }
        hasHeader = false;
        if (fields.Length >= 3 && RangeParsing.TryParseAddress(fields[0], out var a) && RangeParsing.TryParseAddress(fields[1], out var b) && RangeParsing.SameFamily(a, b))
        {
            if (fields.Length == 3) return RangeFormat.IpLocationDbCountryCsv;
            if (fields.Length >= 4 && RangeParsing.TryParseAsn(fields[2], out _)) return RangeFormat.IpLocationDbAsnCsv;
        }
        throw Unknown(name, $"first line '{RangeParsing.Clip(first)}'");
    }

    private static string[] SplitCsvLine(string line)
    {
        using var r = CsvReader.FromText(line, CsvReaderOptions.Default with { Separator = ',', HasHeader = false });
        return r.Read() ? r.Current.ToArray() : [];
    }

    private static RangeFile ReadText(Stream stream, string name, RangeFormat format, char separator, bool hasHeader)
    {
        var file = new RangeFile
        {
            FileName = name,
            Format = format,
            Kind = format == RangeFormat.IpLocationDbCountryCsv ? RangeKind.Country : RangeKind.Asn,
            Attribution = RangeFormats.Attribution(format, null),
        };
        var options = CsvReaderOptions.Default with
        {
            Separator = separator,
            HasHeader = hasHeader,
            // iptoasn writes AS descriptions raw: a '"' in a name is text, not a quote.
            Mode = separator == '\t' ? CsvMode.NoEscape : CsvMode.Rfc4180,
            TrackLineNumbers = true,
            SkipEmptyLines = true,
            TrimWhitespace = false,
            // One bad quote must not swallow the rest of a 500 000-line file.
            AllowLineBreaksInQuotes = false,
            MalformedData = CsvMalformedDataHandling.Skip,
            OnMalformedRecord = r => file.AddBad(r.LineNumber, $"malformed CSV quoting ({r.Reason})"),
        };
        using var csv = CsvReader.Create(stream, options, leaveOpen: false);
        int[] columns = hasHeader ? HeaderColumns(csv, format, name) : [];
        while (csv.Read())
        {
            long line = csv.LineNumber;
            switch (format)
            {
                case RangeFormat.IpToAsnTsv:
                case RangeFormat.IpToAsnU32Tsv:
                    ReadRangeRow(file, csv, line, minFields: 3, asnField: 2, countryField: 3, nameField: 4);
                    break;
                case RangeFormat.IpLocationDbAsnCsv:
                    ReadRangeRow(file, csv, line, minFields: 3, asnField: 2, countryField: -1, nameField: 3);
                    break;
                case RangeFormat.IpLocationDbCountryCsv:
                    ReadRangeRow(file, csv, line, minFields: 3, asnField: -1, countryField: 2, nameField: -1);
                    break;
                case RangeFormat.IpInfoLiteCsv:
                case RangeFormat.GeoLite2AsnCsv:
                    ReadNetworkRow(file, csv, line, columns);
                    break;
            }
        }
        return file;
    }

    /// <summary>Column indexes: network, asn, as name, country code (-1 when absent).</summary>
    private static int[] HeaderColumns(CsvReader csv, RangeFormat format, string name)
    {
        var headers = csv.Headers;
        int Find(params string[] names)
        {
            for (int i = 0; i < headers.Count; i++)
                foreach (var n in names)
                    if (string.Equals(headers[i].Trim(), n, StringComparison.OrdinalIgnoreCase)) return i;
            return -1;
        }
        int network = Find("network");
        int asn = Find("asn", "autonomous_system_number");
        int asName = Find("as_name", "autonomous_system_organization");
        int country = format == RangeFormat.IpInfoLiteCsv ? Find("country_code") : -1;
        if (network < 0 || asn < 0) throw new RangeFormatException($"{name}: header lacks a network or asn column");
        return [network, asn, asName, country];
    }

    private static void ReadRangeRow(RangeFile file, CsvReader csv, long line, int minFields, int asnField, int countryField, int nameField)
    {
        if (csv.FieldCount < minFields) { file.AddBad(line, $"{csv.FieldCount} fields, expected at least {minFields}"); return; }
        string startText = csv.GetString(0), endText = csv.GetString(1);
        if (!RangeParsing.TryParseAddress(startText, out var start)) { file.AddBad(line, $"bad start address '{RangeParsing.Clip(startText)}'"); return; }
        if (!RangeParsing.TryParseAddress(endText, out var end)) { file.AddBad(line, $"bad end address '{RangeParsing.Clip(endText)}'"); return; }
        uint? asn = null;
        if (asnField >= 0)
        {
            string asnText = csv.FieldCount > asnField ? csv.GetString(asnField) : "";
            if (!RangeParsing.TryParseAsn(asnText, out asn)) { file.AddBad(line, $"bad AS number '{RangeParsing.Clip(asnText)}'"); return; }
        }
        string? country = countryField >= 0 && csv.FieldCount > countryField ? RangeParsing.NormalizeCountry(csv.GetString(countryField)) : null;
        string? asName = nameField >= 0 && csv.FieldCount > nameField ? RangeParsing.NullIfEmpty(csv.GetString(nameField)) : null;
        Add(file, line, start, end, asn, asName, country);
    }

    private static void ReadNetworkRow(RangeFile file, CsvReader csv, long line, int[] columns)
    {
        int network = columns[0], asnColumn = columns[1], nameColumn = columns[2], countryColumn = columns[3];
        if (csv.FieldCount <= Math.Max(network, asnColumn)) { file.AddBad(line, $"{csv.FieldCount} fields, too few for the header"); return; }
        string networkText = csv.GetString(network);
        if (!RangeParsing.TryParseNetwork(networkText, out var start, out var end, out var error)) { file.AddBad(line, error!); return; }
        string asnText = csv.GetString(asnColumn);
        if (!RangeParsing.TryParseAsn(asnText, out uint? asn)) { file.AddBad(line, $"bad AS number '{RangeParsing.Clip(asnText)}'"); return; }
        string? asName = nameColumn >= 0 && csv.FieldCount > nameColumn ? RangeParsing.NullIfEmpty(csv.GetString(nameColumn)) : null;
        string? country = countryColumn >= 0 && csv.FieldCount > countryColumn ? RangeParsing.NormalizeCountry(csv.GetString(countryColumn)) : null;
        Add(file, line, start, end, asn, asName, country);
    }

    internal static void Add(RangeFile file, long line, IpAddr start, IpAddr end, uint? asn, string? asName, string? country)
    {
        if (!RangeParsing.SameFamily(start, end)) { file.AddBad(line, "start and end are of different address families"); return; }
        if (end.Value < start.Value) { file.AddBad(line, $"end {end} before start {start}"); return; }
        bool empty = file.Kind == RangeKind.Country ? country is null : asn is null && country is null;
        if (empty) { file.EmptyRows++; return; }
        if (asn is null) asName = null;
        file.Ranges.Add(new IpRange(start, end, asn, asName, country));
    }
}
