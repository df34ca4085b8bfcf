namespace PcapDht.Enrich;

/// <summary>The file formats <see cref="RangeFileReader"/> recognises from their content.</summary>
public enum RangeFormat
{
    /// <summary>iptoasn.com ip2asn-v4/v6/combined TSV: start end asn country description.</summary>
    IpToAsnTsv,
    /// <summary>iptoasn.com ip2asn-v4-u32 TSV: the same with IPv4 as decimal numbers.</summary>
    IpToAsnU32Tsv,
    /// <summary>IPinfo Lite CSV: network,country,country_code,continent,continent_code,asn,as_name,as_domain.</summary>
    IpInfoLiteCsv,
    /// <summary>@ip-location-db asn CSV (no header): start,end,asn,as_org; addresses as text or numbers.</summary>
    IpLocationDbAsnCsv,
    /// <summary>@ip-location-db country CSV (no header): start,end,country_code.</summary>
    IpLocationDbCountryCsv,
    /// <summary>MaxMind GeoLite2-ASN-Blocks CSV: network,autonomous_system_number,autonomous_system_organization.</summary>
    GeoLite2AsnCsv,
    /// <summary>Any MaxMind DB file carrying ASN and/or country keys (GeoLite2, IPinfo, ip-location-db).</summary>
    Mmdb,
}

public static class RangeFormats
{
    public static string Name(RangeFormat format) => format switch
    {
        RangeFormat.IpToAsnTsv => "iptoasn TSV",
        RangeFormat.IpToAsnU32Tsv => "iptoasn u32 TSV",
        RangeFormat.IpInfoLiteCsv => "IPinfo Lite CSV",
        RangeFormat.IpLocationDbAsnCsv => "ip-location-db asn CSV",
        RangeFormat.IpLocationDbCountryCsv => "ip-location-db country CSV",
        RangeFormat.GeoLite2AsnCsv => "GeoLite2-ASN CSV",
        RangeFormat.Mmdb => "MMDB",
        _ => format.ToString(),
    };

    /// <summary>
    /// The licence and credit line each source asks users to show; reports print it next to any
    /// number derived from the data set (CC BY and CC BY-SA require attribution).
    /// </summary>
    public static string Attribution(RangeFormat format, string? mmdbDatabaseType) => format switch
    {
        RangeFormat.IpToAsnTsv or RangeFormat.IpToAsnU32Tsv =>
            "IP to ASN data by iptoasn.com, Public Domain Dedication and License (PDDL) v1.0",
        RangeFormat.IpInfoLiteCsv =>
            "IP address data powered by IPinfo (IPinfo Lite), CC BY-SA 4.0",
        RangeFormat.IpLocationDbAsnCsv =>
            "@ip-location-db/asn by sapics, CC BY 4.0; data from RouteViews (routeviews.org), the NRO (nro.net) and DB-IP (db-ip.com, IP to ASN Lite), CC BY 4.0",
        RangeFormat.IpLocationDbCountryCsv =>
            "@ip-location-db/asn-country by sapics, CC BY 4.0; data from the NRO (nro.net) and RouteViews (routeviews.org), CC BY 4.0",
        RangeFormat.GeoLite2AsnCsv =>
            "This product includes GeoLite2 data created by MaxMind (maxmind.com), GeoLite2 End User License Agreement",
        RangeFormat.Mmdb => MmdbAttribution(mmdbDatabaseType),
        _ => "",
    };

    private static string MmdbAttribution(string? databaseType)
    {
        string t = databaseType ?? "";
        if (t.StartsWith("GeoLite2", StringComparison.OrdinalIgnoreCase) || t.StartsWith("GeoIP2", StringComparison.OrdinalIgnoreCase))
            return "This product includes GeoLite2 data created by MaxMind (maxmind.com), GeoLite2 End User License Agreement";
        if (t.Contains("ipinfo", StringComparison.OrdinalIgnoreCase))
            return "IP address data powered by IPinfo (IPinfo Lite), CC BY-SA 4.0";
        if (t.Contains("ip-location-db", StringComparison.OrdinalIgnoreCase) || t.Contains("asn", StringComparison.OrdinalIgnoreCase))
            return $"MMDB database type '{t}'; if from @ip-location-db: CC BY 4.0 by sapics with RouteViews, NRO and DB-IP data";
        return $"MMDB database type '{t}': see the data set's own licence";
    }
}
