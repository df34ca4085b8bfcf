namespace PcapDht.Enrich;

/// <summary>The usable ranges of one imported file and what went wrong on the way.</summary>
public sealed class RangeFile
{
    public const int MaxBadRowsKept = 20;

    public required string FileName { get; init; }
    public required RangeFormat Format { get; init; }
    public RangeKind Kind { get; internal set; }
    public List<IpRange> Ranges { get; } = [];
    /// <summary>Rows that parsed but carry no data (iptoasn's "0 None Not routed", empty ASN and country).</summary>
    public long EmptyRows { get; internal set; }
    public long BadRowCount { get; internal set; }
    /// <summary>The first <see cref="MaxBadRowsKept"/> bad rows, with line numbers.</summary>
    public List<BadRow> BadRows { get; } = [];
    public string Attribution { get; internal set; } = "";
    /// <summary>The data's own date (<see cref="SourceDates"/>); null when the data set carries none.</summary>
    public DateTimeOffset? SourceDate { get; internal set; }
    /// <summary>Where <see cref="SourceDate"/> comes from ("MMDB build epoch", "@ip-location-db package version 2.3.2026061719", "file name ...").</summary>
    public string? SourceDateBasis { get; internal set; }

    internal void AddBad(long line, string reason)
    {
        BadRowCount++;
        if (BadRows.Count < MaxBadRowsKept) BadRows.Add(new BadRow(line, reason));
    }
}
