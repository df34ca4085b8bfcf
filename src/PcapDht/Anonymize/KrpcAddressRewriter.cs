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
/// What cannot be read as addresses is cleared (zeroed, same length), so no original address survives in
/// a payload whatever it holds: bytes trailing the last whole node record; <c>values</c> entries of other
/// lengths; an <c>ip</c> of another length; an address key holding the wrong bencode type (a list of
/// <c>nodes</c>, a <c>values</c> string: everything inside it); the BEP 33 bloom filters <c>BFsd</c>/<c>BFpe</c>
/// (made from SHA-1 hashes of peer addresses, so anyone can test a guessed address against them); every
/// string under a key the decoder does not know (it reads none of them, so the message decodes the same;
/// the keys stay, so its unknown/unsorted/duplicate-key flags stay); addresses written as text in an error
/// message (digits become <c>x</c>); and everything from the first byte that is not valid bencode (a payload
/// cut by the snap length or quoted in an ICMP error). Keys, integers and the strings of known keys (<c>t</c>,
/// <c>y</c>, <c>q</c>, <c>v</c>, ids, targets, tokens, BEP 44 items, ...) stay: the malformed row of a payload
/// keeps its reason and byte offset.
/// </remarks>
internal static class KrpcAddressRewriter
{
    private enum Field : byte { Known, Nodes, Nodes6, Values, Ip, BloomFilter, Error, Unknown }

    /// <summary>Rewrites <paramref name="payload"/>; returns the number of address fields mapped.</summary>
    public static int Rewrite(Span<byte> payload, AddressAnonymizer mapper, AnonymizeCounters counters)
    {
        var reader = new BencodeReader(payload);
        var field = Field.Known;
        int valuesDepth = -1, errorDepth = -1, clearDepth = -1;
        int mapped = 0;
        while (reader.Read())
        {
            var token = reader.TokenType;
            if (clearDepth >= 0)
            {
                // Inside a value nothing may be kept of: every string, keys included, is cleared.
                if (token is BencodeTokenType.String or BencodeTokenType.Key)
                    Clear(payload.Slice(reader.BytesConsumed - reader.ValueSpan.Length, reader.ValueSpan.Length), counters);
                else if (token is BencodeTokenType.EndList or BencodeTokenType.EndDictionary && reader.CurrentDepth + 1 == clearDepth)
                    clearDepth = -1;
                continue;
            }
            switch (token)
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
                    else if (errorDepth >= 0 && reader.CurrentDepth == errorDepth)
                        ClearTextAddresses(value, counters);
                    else if (field == Field.Nodes)
                        mapped += Records(value, 26, 4, mapper, counters);
                    else if (field == Field.Nodes6)
                        mapped += Records(value, 38, 16, mapper, counters);
                    else if (field == Field.Ip)
                        mapped += Peer(value, mapper, counters);
                    else if (field == Field.Error)
                        ClearTextAddresses(value, counters);
                    else if (field is Field.BloomFilter or Field.Values or Field.Unknown)
                        Clear(value, counters);
                    break;
                }
                case BencodeTokenType.StartList when field == Field.Values:
                    valuesDepth = reader.CurrentDepth + 1;
                    break;
                case BencodeTokenType.StartList when field == Field.Error:
                    errorDepth = reader.CurrentDepth + 1;
                    break;
                case BencodeTokenType.StartList or BencodeTokenType.StartDictionary
                    when field is Field.Nodes or Field.Nodes6 or Field.Values or Field.Ip or Field.BloomFilter or Field.Unknown
                         || reader.CurrentDepth == valuesDepth || reader.CurrentDepth == errorDepth:
                    clearDepth = reader.CurrentDepth + 1;
                    break;
                case BencodeTokenType.EndList when reader.CurrentDepth + 1 == valuesDepth:
                    valuesDepth = -1;
                    break;
                case BencodeTokenType.EndList when reader.CurrentDepth + 1 == errorDepth:
                    errorDepth = -1;
                    break;
            }
            field = Field.Known;
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
        _ when key.SequenceEqual("e"u8) => Field.Error,
        _ when IsKnown(key) => Field.Known,
        _ => Field.Unknown,
    };

    /// <summary>The keys <see cref="Krpc.KrpcDecoder"/> reads whose strings are not addresses (BEP 5, 33, 42, 44, 51; libtorrent's p and n).</summary>
    private static bool IsKnown(ReadOnlySpan<byte> key) => key.Length switch
    {
        1 => key[0] is (byte)'t' or (byte)'y' or (byte)'q' or (byte)'a' or (byte)'r' or (byte)'v' or (byte)'k' or (byte)'p' or (byte)'n',
        2 => key.SequenceEqual("ro"u8) || key.SequenceEqual("id"u8),
        3 => key.SequenceEqual("seq"u8) || key.SequenceEqual("sig"u8) || key.SequenceEqual("num"u8) || key.SequenceEqual("cas"u8),
        4 => key.SequenceEqual("port"u8) || key.SequenceEqual("want"u8) || key.SequenceEqual("salt"u8),
        5 => key.SequenceEqual("token"u8),
        6 => key.SequenceEqual("target"u8) || key.SequenceEqual("scrape"u8) || key.SequenceEqual("noseed"u8),
        7 => key.SequenceEqual("samples"u8),
        8 => key.SequenceEqual("interval"u8),
        9 => key.SequenceEqual("info_hash"u8),
        12 => key.SequenceEqual("implied_port"u8),
        _ => false,
    };

    /// <summary>
    /// An error message is text: an address in it (dotted IPv4, or IPv6 with colons) is overwritten where it
    /// stands, digits by <c>x</c>, as the bytes could not be mapped without changing the message's length.
    /// </summary>
    private static void ClearTextAddresses(Span<byte> text, AnonymizeCounters counters)
    {
        int i = 0;
        while (i < text.Length)
        {
            if (!IsAddressChar(text[i])) { i++; continue; }
            int end = i;
            while (end < text.Length && IsAddressChar(text[end])) end++;
            var run = text[i..end];
            if (LooksLikeAddress(run))
            {
                foreach (ref byte b in run)
                    if (b is not ((byte)'.' or (byte)':')) b = (byte)'x';
                counters.KrpcFieldsCleared++;
            }
            i = end;
        }
    }

    private static bool IsAddressChar(byte b) => char.IsAsciiHexDigit((char)b) || b is (byte)'.' or (byte)':';

    private static bool LooksLikeAddress(ReadOnlySpan<byte> run)
    {
        int dots = run.Count((byte)'.'), colons = run.Count((byte)':');
        if (dots < 3 && colons < 2) return false;
        // Trim what a sentence or an endpoint adds around an address ("1.2.3.4:6881.", "[::1]").
        Span<char> chars = stackalloc char[Math.Min(run.Length, 64)];
        for (int j = 0; j < chars.Length; j++) chars[j] = (char)run[j];
        var candidate = chars.Trim(".:");
        for (int cut = candidate.Length; cut > 0; cut--)
        {
            var prefix = candidate[..cut];
            if ((prefix.Count('.') == 3 || prefix.Count(':') >= 2) && System.Net.IPAddress.TryParse(prefix, out _)) return true;
        }
        return false;
    }

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
