using PcapDht.Bencode;

namespace PcapDht.Anonymize;

/// <summary>
/// Rewrites the addresses a KRPC payload carries, in place and without changing one length, so the
/// payload still decodes to the same message: compact node records (<c>nodes</c>, BEP 5: 26 bytes;
/// <c>nodes6</c>, BEP 32: 38 bytes; the node id and port stay), <c>values</c> peers (6 or 18 bytes),
/// and BEP 42 <c>ip</c> (4, 6, 16 or 18 bytes), at any depth, so <c>ip</c> inside <c>r</c> (some
/// clients) and keys of messages the decoder rejects as malformed are rewritten too.
/// </summary>
/// <remarks>
/// What cannot be read as addresses is cleared (zeroed, same length): bytes trailing the last whole
/// node record, <c>values</c> entries of other lengths, an <c>ip</c> of another length, the BEP 33
/// bloom filters <c>BFsd</c>/<c>BFpe</c> (made from SHA-1 hashes of peer addresses, so anyone can test
/// a guessed address against them), and everything from the first byte that is not valid bencode
/// (a payload cut by the snap length or quoted in an ICMP error).
/// </remarks>
internal static class KrpcAddressRewriter
{
    private enum Field : byte { None, Nodes, Nodes6, Values, Ip, BloomFilter }

    /// <summary>Rewrites <paramref name="payload"/>; returns the number of address fields mapped.</summary>
    public static int Rewrite(Span<byte> payload, AddressAnonymizer mapper, AnonymizeCounters counters)
    {
        var reader = new BencodeReader(payload);
        var field = Field.None;
        int valuesDepth = -1;
        int mapped = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case BencodeTokenType.Key:
                    field = Classify(reader.ValueSpan);
                    continue;
                case BencodeTokenType.String:
                {
                    int length = reader.ValueSpan.Length;
                    var value = payload.Slice(reader.BytesConsumed - length, length);
                    if (valuesDepth >= 0 && reader.CurrentDepth == valuesDepth)
                        mapped += Peer(value, mapper, counters);
                    else if (field == Field.Nodes)
                        mapped += Records(value, 26, 4, mapper, counters);
                    else if (field == Field.Nodes6)
                        mapped += Records(value, 38, 16, mapper, counters);
                    else if (field == Field.Ip)
                        mapped += Peer(value, mapper, counters);
                    else if (field == Field.BloomFilter)
                        Clear(value, counters);
                    break;
                }
                case BencodeTokenType.StartList when field == Field.Values:
                    valuesDepth = reader.CurrentDepth + 1;
                    break;
                case BencodeTokenType.EndList when reader.CurrentDepth + 1 == valuesDepth:
                    valuesDepth = -1;
                    break;
            }
            field = Field.None;
        }
        if (reader.HasError)
        {
            // Nothing after the first invalid byte can be told apart from an address: clear it all, but
            // for the few bytes that make the error, so the payload is still malformed in the same way.
            int from = ErrorEnd(payload, reader.Error);
            if (from < payload.Length) Clear(payload[from..], counters);
        }
        counters.AddressesMapped += mapped;
        return mapped;
    }

    /// <summary>Where the bytes that decide a bencode error end (a length prefix and its ':', an integer, one bad byte).</summary>
    private static int ErrorEnd(ReadOnlySpan<byte> payload, BencodeError error)
    {
        int at = Math.Min(error.Offset, payload.Length);
        switch (error.Kind)
        {
            case BencodeErrorKind.TrailingBytes:
                return at;
            case BencodeErrorKind.StringPastEnd:
            case BencodeErrorKind.StringLengthOverflow:
            case BencodeErrorKind.MissingColon:
            case BencodeErrorKind.LeadingZero:
            case BencodeErrorKind.NegativeZero:
            case BencodeErrorKind.IntegerOverflow:
            case BencodeErrorKind.InvalidInteger:
                // The token's digits (with 'i' and '-'), then the one byte that ends or breaks it.
                while (at < payload.Length && (char.IsAsciiDigit((char)payload[at]) || payload[at] is (byte)'i' or (byte)'-')) at++;
                return Math.Min(at + 1, payload.Length);
            default:
                return Math.Min(at + 1, payload.Length);
        }
    }

    private static Field Classify(ReadOnlySpan<byte> key) => key switch
    {
        _ when key.SequenceEqual("nodes"u8) => Field.Nodes,
        _ when key.SequenceEqual("nodes6"u8) => Field.Nodes6,
        _ when key.SequenceEqual("values"u8) => Field.Values,
        _ when key.SequenceEqual("ip"u8) => Field.Ip,
        _ when key.SequenceEqual("BFsd"u8) || key.SequenceEqual("BFpe"u8) => Field.BloomFilter,
        _ => Field.None,
    };

    /// <summary>Compact records of a 20-byte node id, an address and a port; trailing bytes are cleared.</summary>
    private static int Records(Span<byte> value, int recordLength, int addressLength, AddressAnonymizer mapper, AnonymizeCounters counters)
    {
        int records = value.Length / recordLength;
        for (int i = 0; i < records; i++)
        {
            var address = value.Slice(i * recordLength + 20, addressLength);
            if (addressLength == 4) mapper.MapV4InPlace(address);
            else mapper.MapV6InPlace(address);
        }
        if (records * recordLength < value.Length) Clear(value[(records * recordLength)..], counters);
        return records;
    }

    /// <summary>A compact peer (address and port) or a bare address; any other length is cleared.</summary>
    private static int Peer(Span<byte> value, AddressAnonymizer mapper, AnonymizeCounters counters)
    {
        switch (value.Length)
        {
            case 4:
            case 6:
                mapper.MapV4InPlace(value[..4]);
                return 1;
            case 16:
            case 18:
                mapper.MapV6InPlace(value[..16]);
                return 1;
            default:
                Clear(value, counters);
                return 0;
        }
    }

    private static void Clear(Span<byte> value, AnonymizeCounters counters)
    {
        value.Clear();
        counters.KrpcFieldsCleared++;
    }
}
