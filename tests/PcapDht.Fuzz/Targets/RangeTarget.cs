using PcapDht.Enrich;
using static PcapDht.Fuzz.CaptureTarget;

namespace PcapDht.Fuzz;

/// <summary>
/// The ASN/country range importers (format detection, iptoasn TSV, IPinfo Lite, ip-location-db and GeoLite2
/// CSV, MMDB, gzip around any of them) on one file's content. A refusal (<see cref="RangeFormatException"/>,
/// one line) is the expected answer to garbage; any other exception is a finding, and so is a range whose end
/// lies before its start or in another address family, or a bad-row list longer than its cap. An MMDB whose
/// metadata <see cref="MmdbMetadataCheck"/> passes must open in MaxMind.Db without an exception (its constructor
/// leaks a memory map when it throws: finding ranges #3).
/// </summary>
public static class RangeTarget
{
    public static void Check(byte[] data)
    {
        if (data.AsSpan().IndexOf(RangeFileReader.MmdbMetadataMarker) > 0 && MmdbMetadataCheck.Problem(data) is null)
        {
            try { new MaxMind.Db.Reader(new MemoryStream(data, writable: false)).Dispose(); }
            catch (Exception e) { throw new InvalidOperationException($"metadata check passed a file MaxMind.Db refuses: {e.GetType().Name}: {e.Message}", e); }
        }
        RangeFile file;
        try
        {
            file = RangeFileReader.Read(() => new MemoryStream(data, writable: false), "fuzz");
        }
        catch (RangeFormatException e)
        {
            Require(!e.Message.Contains('\n'), "refusal longer than one line");
            return;
        }
        foreach (var r in file.Ranges)
        {
            Require(r.Start.IsV4 == r.End.IsV4, $"range {r.Start}-{r.End} spans families");
            Require(r.Start.Value <= r.End.Value, $"range {r.Start}-{r.End} ends before it starts");
            Require(r.Country is null || r.Country.Length == 2, $"country '{r.Country}'");
        }
        Require(file.BadRows.Count <= RangeFile.MaxBadRowsKept && file.BadRows.Count <= file.BadRowCount, "bad rows miscounted");
        foreach (var bad in file.BadRows)
            Require(!bad.Reason.Contains('\n') && bad.Line >= 0, $"bad row {bad.Line}: {bad.Reason}");
    }
}
