using PcapDht.Bencode;

namespace PcapDht.Krpc;

/// <summary>What <see cref="KrpcDecoder.Decode(ReadOnlySpan{byte}, out KrpcMessage, out KrpcError)"/> made of a payload.</summary>
public enum KrpcDecodeResult : byte
{
    /// <summary>Not KRPC at all (uTP, DNS, QUIC, other bencoded data ...): not counted as KRPC.</summary>
    NotKrpc = 0,
    /// <summary>A valid KRPC message; the <see cref="KrpcMessage"/> is filled.</summary>
    Message = 1,
    /// <summary>Looks like KRPC but breaks BEP 3/5; the <see cref="KrpcError"/> says why and where.</summary>
    Malformed = 2,
}

/// <summary>Why a KRPC-looking payload was rejected.</summary>
public enum KrpcErrorReason : byte
{
    None = 0,
    /// <summary>Not valid bencode; <see cref="KrpcError.Bencode"/> holds the BEP 3 error.</summary>
    InvalidBencode,
    /// <summary>No `t` key (BEP 5: every message has a transaction id).</summary>
    MissingTransactionId,
    /// <summary>No `y` key.</summary>
    MissingType,
    /// <summary>`y` is not one of "q", "r", "e".</summary>
    InvalidType,
    /// <summary>A query without `q`.</summary>
    MissingMethod,
    /// <summary>A query without its `a` dictionary.</summary>
    MissingArguments,
    /// <summary>A response without its `r` dictionary.</summary>
    MissingResponse,
    /// <summary>An error without its `e` list.</summary>
    MissingError,
    /// <summary>`e` is not [integer, string].</summary>
    InvalidErrorList,
    /// <summary>A known key holds the wrong bencode type (e.g. `t` an integer, `port` a string, `values` not a list of strings).</summary>
    WrongType,
}

/// <summary>A KRPC decode error: reason, the underlying bencode error (if any) and the byte offset in the payload.</summary>
public readonly record struct KrpcError(KrpcErrorReason Reason, BencodeErrorKind Bencode, int Offset)
{
    /// <summary>A constant text for the reason (no allocation), e.g. for a `reason` column.</summary>
    public string Description => Reason switch
    {
        KrpcErrorReason.None => "no error",
        KrpcErrorReason.InvalidBencode => BencodeError.Describe(Bencode),
        KrpcErrorReason.MissingTransactionId => "missing t",
        KrpcErrorReason.MissingType => "missing y",
        KrpcErrorReason.InvalidType => "y is not q, r or e",
        KrpcErrorReason.MissingMethod => "query without q",
        KrpcErrorReason.MissingArguments => "query without a",
        KrpcErrorReason.MissingResponse => "response without r",
        KrpcErrorReason.MissingError => "error without e",
        KrpcErrorReason.InvalidErrorList => "e is not [code, message]",
        KrpcErrorReason.WrongType => "key has the wrong type",
        _ => "unknown KRPC error",
    };

    public override string ToString() => $"{Description} at byte {Offset}";
}
