using PcapDht.Net;

namespace PcapDht.Enrich;

/// <summary>
/// One inclusive address range of an ASN or country data set. IPv4 ranges are kept in the
/// IPv4-mapped form of <see cref="IpAddr"/> so they sort and join against the store's
/// <c>*_ip_num</c> columns without a second table per family.
/// </summary>
public readonly record struct IpRange(IpAddr Start, IpAddr End, uint? Asn, string? AsName, string? Country);

/// <summary>What a data set answers: which AS announces an address, or which country it is in.</summary>
public enum RangeKind
{
    Asn,
    Country,
}

/// <summary>A row that could not be used, with the 1-based line (or record) number where it was found.</summary>
public readonly record struct BadRow(long Line, string Reason);
