namespace PcapDht.Capture;

/// <summary>
/// Where and why a capture file stopped being readable. Every frame before <see cref="FrameNumber"/>
/// was delivered.
/// </summary>
/// <param name="FrameNumber">The number the first unreadable frame would have had (1-based).</param>
/// <param name="ByteOffset">Offset in the uncompressed capture data of the record or block that failed.</param>
/// <param name="Reason">One line for humans.</param>
public sealed record CaptureDamage(long FrameNumber, long ByteOffset, string Reason)
{
    public override string ToString() => $"frame {FrameNumber} at byte {ByteOffset}: {Reason}";
}
