namespace PcapDht.Enrich;

/// <summary>A file is in none of the range formats, or cannot be read at all. The message is one line for users.</summary>
public sealed class RangeFormatException(string message) : Exception(message);
