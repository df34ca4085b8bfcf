namespace PcapDht.Bencode;

/// <summary>What <see cref="BencodeReader.Read"/> stopped on (BEP 3 value kinds plus container ends and keys).</summary>
public enum BencodeTokenType : byte
{
    None = 0,
    StartDictionary,
    EndDictionary,
    StartList,
    EndList,
    /// <summary>A dictionary key (always a byte string in BEP 3).</summary>
    Key,
    /// <summary>A byte string value; <see cref="BencodeReader.ValueSpan"/> is its content.</summary>
    String,
    /// <summary>An integer; <see cref="BencodeReader.ValueSpan"/> holds its digits (with '-'), <see cref="BencodeReader.GetInt64"/> its value.</summary>
    Integer,
}
