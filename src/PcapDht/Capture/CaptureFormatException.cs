namespace PcapDht.Capture;

/// <summary>The input is not a capture file this reader knows (message is one line, names the input).</summary>
public sealed class CaptureFormatException : Exception
{
    public CaptureFormatException(string message) : base(message) { }
    public CaptureFormatException(string message, Exception inner) : base(message, inner) { }
}
