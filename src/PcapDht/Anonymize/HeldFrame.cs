namespace PcapDht.Anonymize;

/// <summary>A frame copied out of the reader, rewritten in place, and written once nothing waits on it.</summary>
internal sealed class HeldFrame
{
    public byte[] Data = new byte[2048];
    public int Length;
    /// <summary>Bytes to write (the rest is cut, as a snap length would cut it).</summary>
    public int Keep;
    public long TimestampNs;
    public int LinkType;
    public int OriginalLength;
    /// <summary>Fragments in this frame whose datagram is still incomplete.</summary>
    public int PendingFragments;
    public PendingDatagram? Pending;
    /// <summary>Part of the frame could not be read and is not written.</summary>
    public bool NotParsed;

    public void Load(long timestampNs, int linkType, int originalLength, ReadOnlySpan<byte> data)
    {
        if (Data.Length < data.Length) Data = new byte[Math.Max(data.Length, Data.Length * 2)];
        data.CopyTo(Data);
        Length = Keep = data.Length;
        TimestampNs = timestampNs;
        LinkType = linkType;
        OriginalLength = originalLength;
        PendingFragments = 0;
        Pending = null;
        NotParsed = false;
    }
}

/// <summary>One fragment of a datagram: where its data lies in which held frame.</summary>
internal readonly record struct FragmentPiece(HeldFrame Frame, int Position, int Length, int Offset, bool More, byte Protocol);

/// <summary>A fragmented datagram waiting for the rest of its fragments.</summary>
internal sealed class PendingDatagram(FragmentKey key, long firstTimestampNs, PseudoSums pseudo, int depth)
{
    public readonly FragmentKey Key = key;
    public readonly long FirstTimestampNs = firstTimestampNs;
    public readonly PseudoSums Pseudo = pseudo;
    public readonly int Depth = depth;
    public readonly List<FragmentPiece> Pieces = [];
    public bool Done;
}
