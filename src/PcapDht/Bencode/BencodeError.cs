namespace PcapDht.Bencode;

/// <summary>Why a buffer is not valid BEP 3 bencode. Each case is its own kind so counts stay meaningful.</summary>
public enum BencodeErrorKind : byte
{
    None = 0,
    /// <summary>The input is empty.</summary>
    Empty,
    /// <summary>The input ends inside an integer or a string length (offset: end of input).</summary>
    UnexpectedEnd,
    /// <summary>A byte that cannot start a value here, e.g. '-' before a length or 'e' at the top level.</summary>
    InvalidByte,
    /// <summary>A non-digit inside i...e, or an empty integer "ie" / "i-e" (offset: that byte).</summary>
    InvalidInteger,
    /// <summary>"i03e" or "03:abc": BEP 3 forbids leading zeros (offset: the first digit).</summary>
    LeadingZero,
    /// <summary>"i-0e": BEP 3 forbids negative zero (offset: the 'i').</summary>
    NegativeZero,
    /// <summary>An integer that does not fit a signed 64-bit number (offset: the 'i').</summary>
    IntegerOverflow,
    /// <summary>String length digits not followed by ':' (offset: the byte where ':' was expected).</summary>
    MissingColon,
    /// <summary>A string length of more than 10 digits or above int.MaxValue (offset: first digit).</summary>
    StringLengthOverflow,
    /// <summary>A string whose length runs past the end of the buffer (offset: first digit of the length).</summary>
    StringPastEnd,
    /// <summary>The input ends inside a list or dictionary (offset: end of input).</summary>
    UnterminatedContainer,
    /// <summary>A dictionary key that is not a byte string (offset: the key's first byte).</summary>
    NonStringKey,
    /// <summary>A dictionary that ends after a key, before its value (offset: the 'e').</summary>
    MissingValue,
    /// <summary>Bytes after the complete top-level value (offset: the first extra byte).</summary>
    TrailingBytes,
    /// <summary>Containers nested deeper than <see cref="BencodeReaderOptions.MaxDepth"/> (offset: the 'l' or 'd' that went too deep).</summary>
    DepthLimit,
}

/// <summary>A bencode error: its kind and the byte offset in the input where it was found.</summary>
public readonly record struct BencodeError(BencodeErrorKind Kind, int Offset)
{
    public bool IsError => Kind != BencodeErrorKind.None;

    /// <summary>A constant, human-readable description of the kind (no allocation).</summary>
    public static string Describe(BencodeErrorKind kind) => kind switch
    {
        BencodeErrorKind.None => "no error",
        BencodeErrorKind.Empty => "empty input",
        BencodeErrorKind.UnexpectedEnd => "input ends inside an integer or string length",
        BencodeErrorKind.InvalidByte => "byte cannot start a value",
        BencodeErrorKind.InvalidInteger => "invalid integer",
        BencodeErrorKind.LeadingZero => "leading zero",
        BencodeErrorKind.NegativeZero => "negative zero",
        BencodeErrorKind.IntegerOverflow => "integer beyond 64 bits",
        BencodeErrorKind.MissingColon => "string length not followed by ':'",
        BencodeErrorKind.StringLengthOverflow => "string length overflows",
        BencodeErrorKind.StringPastEnd => "string runs past the end",
        BencodeErrorKind.UnterminatedContainer => "unterminated list or dictionary",
        BencodeErrorKind.NonStringKey => "dictionary key is not a string",
        BencodeErrorKind.MissingValue => "dictionary key without value",
        BencodeErrorKind.TrailingBytes => "trailing bytes after the value",
        BencodeErrorKind.DepthLimit => "nesting too deep",
        _ => "unknown bencode error",
    };

    public override string ToString() => $"{Describe(Kind)} at byte {Offset}";
}
