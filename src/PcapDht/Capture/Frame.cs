namespace PcapDht.Capture;

/// <summary>
/// One captured frame. <see cref="Data"/> is a slice of the reader's buffer, valid only until the
/// reader's next call; nothing is copied.
/// </summary>
public readonly ref struct Frame
{
    /// <summary>1-based, as Wireshark numbers frames (across all sections/interfaces of a file).</summary>
    public readonly long Number;
    /// <summary>Capture time in nanoseconds since the Unix epoch (the file's full precision).</summary>
    public readonly long TimestampNs;
    /// <summary>The LINKTYPE_ value of the frame's interface (1 Ethernet, 101 raw, 276 SLL2, ...).</summary>
    public readonly int LinkType;
    /// <summary>Length of the packet on the wire; larger than Data.Length when the snaplen cut it.</summary>
    public readonly int OriginalLength;
    public readonly ReadOnlySpan<byte> Data;

    public Frame(long number, long timestampNs, int linkType, int originalLength, ReadOnlySpan<byte> data)
    {
        Number = number;
        TimestampNs = timestampNs;
        LinkType = linkType;
        OriginalLength = originalLength;
        Data = data;
    }

    public bool IsTruncated => Data.Length < OriginalLength;
}
