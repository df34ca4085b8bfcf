using PcapDht.Bencode;
using PcapDht.Bencode.Simd;

namespace PcapDht.Krpc;

/// <summary>
/// Decides whether a UDP payload is KRPC (without looking at ports) and fills a <see cref="KrpcMessage"/>
/// of slices into it. One pass over the payload with <see cref="BencodeReader"/>; no allocation, no throw.
/// The rules (what counts as KRPC-like, which types each key must have, how unsorted and duplicate keys
/// are treated) are in docs/decoder.md.
/// </summary>
public static class KrpcDecoder
{
    /// <summary>Decodes with the process-wide SIMD variant (<see cref="SimdSelection.Default"/>).</summary>
    public static KrpcDecodeResult Decode(ReadOnlySpan<byte> payload, out KrpcMessage message, out KrpcError error) =>
        Decode(payload, SimdVariant.Auto, out message, out error);

    /// <summary>Decodes with a given SIMD variant (tests and benchmarks compare them).</summary>
    public static KrpcDecodeResult Decode(ReadOnlySpan<byte> payload, SimdVariant simd, out KrpcMessage message, out KrpcError error)
    {
        // Built in a local: an `out` ref struct cannot be handed on to helpers by reference (its value scope is narrower).
        KrpcMessage built = default;
        KrpcDecodeResult result = DecodeCore(payload, simd, ref built, out error);
        message = built;
        return result;
    }

    /// <summary>
    /// Decodes into the caller's <paramref name="message"/>, which is overwritten. The per-packet loops use
    /// this form: <see cref="Decode(ReadOnlySpan{byte}, out KrpcMessage, out KrpcError)"/> returns the
    /// ~450-byte message (two dozen spans) by copying it, which the JIT does through
    /// <c>Buffer.BulkMoveWithWriteBarrier</c> and a runtime helper: ~0.1 CPU-s per 2M messages of
    /// ingest's decoding thread (perf).
    /// </summary>
    public static KrpcDecodeResult DecodeInto(ReadOnlySpan<byte> payload, scoped ref KrpcMessage message, out KrpcError error) =>
        DecodeInto(payload, SimdVariant.Auto, ref message, out error);

    /// <inheritdoc cref="DecodeInto(ReadOnlySpan{byte}, ref KrpcMessage, out KrpcError)"/>
    public static KrpcDecodeResult DecodeInto(ReadOnlySpan<byte> payload, SimdVariant simd, scoped ref KrpcMessage message, out KrpcError error)
    {
        message = default;
        return DecodeCore(payload, simd, ref message, out error);
    }

    private static KrpcDecodeResult DecodeCore(ReadOnlySpan<byte> payload, SimdVariant simd, scoped ref KrpcMessage message, out KrpcError error)
    {
        message.Port = -1;
        message.ImpliedPort = -1;
        message.LtPort = -1;
        message.Num = -1;
        message.Interval = -1;
        message.Seq = -1;
        message.Cas = -1;
        message.ErrorCode = -1;
        error = default;

        // Every KRPC message is a dictionary (BEP 5); this one byte rejects uTP (0x01/0x11/.../0x41),
        // almost all DNS and QUIC, and most random data before any parsing.
        if (payload.IsEmpty || payload[0] != (byte)'d')
            return KrpcDecodeResult.NotKrpc;

        var reader = new BencodeReader(payload, new BencodeReaderOptions(0, simd));
        reader.Read();
        var state = new State();
        bool complete = ReadTopLevel(ref reader, ref message, ref state);
        if (complete)
            reader.Read(); // after the top-level 'e': reports trailing bytes, if any
        if (reader.HasError)
        {
            if (!state.KrpcLike)
                return KrpcDecodeResult.NotKrpc;
            error = new KrpcError(KrpcErrorReason.InvalidBencode, reader.Error.Kind, reader.Error.Offset);
            return KrpcDecodeResult.Malformed;
        }
        if (!state.KrpcLike)
            return KrpcDecodeResult.NotKrpc;
        if (state.FieldError.Reason != KrpcErrorReason.None)
        {
            error = state.FieldError;
            return KrpcDecodeResult.Malformed;
        }

        // A missing key is reported at the closing 'e' of the dictionary that lacks it.
        int end = payload.Length - 1;
        if (!state.HasT)
            return Malformed(out error, KrpcErrorReason.MissingTransactionId, end);
        if (!state.HasY)
            return Malformed(out error, KrpcErrorReason.MissingType, end);
        if (state.Y.Length != 1 || state.Y[0] is not ((byte)'q' or (byte)'r' or (byte)'e'))
            return Malformed(out error, KrpcErrorReason.InvalidType, state.YOffset);
        message.Kind = (KrpcKind)state.Y[0];
        switch (message.Kind)
        {
            case KrpcKind.Query:
                if (!state.HasQ)
                    return Malformed(out error, KrpcErrorReason.MissingMethod, end);
                if (!state.HasA)
                    return Malformed(out error, KrpcErrorReason.MissingArguments, end);
                break;
            case KrpcKind.Response:
                if (!state.HasR)
                    return Malformed(out error, KrpcErrorReason.MissingResponse, end);
                break;
            default:
                if (!state.HasE)
                    return Malformed(out error, KrpcErrorReason.MissingError, end);
                break;
        }
        // Some clients echo `q` in responses (arkime capture, packet 3); the method is kept for them too.
        if (state.HasQ)
            message.Method = ParseMethod(message.MethodName);
        if (message.ExternalIp.IsEmpty && state.HasInnerIp)
            message.ExternalIp = state.InnerIp;
        return KrpcDecodeResult.Message;
    }

    private static KrpcDecodeResult Malformed(out KrpcError error, KrpcErrorReason reason, int offset)
    {
        error = new KrpcError(reason, BencodeErrorKind.None, offset);
        return KrpcDecodeResult.Malformed;
    }

    /// <summary>Reads the top-level dictionary up to its end; false on a bencode error.</summary>
    private static bool ReadTopLevel(scoped ref BencodeReader r, scoped ref KrpcMessage m, scoped ref State s)
    {
        ReadOnlySpan<byte> previous = default;
        bool first = true;
        uint seen = 0;
        while (r.Read())
        {
            if (r.TokenType == BencodeTokenType.EndDictionary)
                return true;
            ReadOnlySpan<byte> key = r.ValueSpan;
            TopKey k = ClassifyTop(key);
            if (first)
            {
                // A KRPC message may start with any of its own keys (arkime packet 3 starts with `q`).
                s.KrpcLike |= k != TopKey.Unknown;
                first = false;
            }
            else
            {
                CheckOrder(previous, key, ref m.Flags);
            }
            previous = key;
            if (k == TopKey.Unknown)
            {
                m.Flags |= KrpcFlags.UnknownKeys;
            }
            else
            {
                uint bit = 1u << (int)k;
                if ((seen & bit) != 0)
                    m.Flags |= KrpcFlags.DuplicateKeys;
                seen |= bit;
            }
            if (!r.Read())
                return false;
            switch (k)
            {
                case TopKey.T:
                    s.KrpcLike = true;
                    s.HasT = true;
                    if (!ExpectString(ref r, ref s, out m.TransactionId))
                        return false;
                    break;
                case TopKey.Y:
                    s.KrpcLike = true;
                    s.HasY = true;
                    s.YOffset = r.TokenStartIndex;
                    if (!ExpectString(ref r, ref s, out s.Y))
                        return false;
                    break;
                case TopKey.Q:
                    s.HasQ = true;
                    if (!ExpectString(ref r, ref s, out m.MethodName))
                        return false;
                    break;
                case TopKey.A:
                case TopKey.R:
                    if (k == TopKey.A)
                        s.HasA = true;
                    else
                        s.HasR = true;
                    if (r.TokenType != BencodeTokenType.StartDictionary)
                    {
                        if (!WrongType(ref r, ref s))
                            return false;
                        break;
                    }
                    if (!ReadArguments(ref r, ref m, ref s))
                        return false;
                    break;
                case TopKey.E:
                    s.HasE = true;
                    if (!ReadErrorList(ref r, ref m, ref s))
                        return false;
                    break;
                case TopKey.V:
                    if (!ExpectString(ref r, ref s, out m.Version))
                        return false;
                    break;
                case TopKey.Ip:
                    if (!ExpectString(ref r, ref s, out m.ExternalIp))
                        return false;
                    break;
                case TopKey.Ro:
                    if (!ExpectInteger(ref r, ref s, out long ro))
                        return false;
                    m.ReadOnly = ro != 0;
                    break;
                default:
                    if (!r.Skip())
                        return false;
                    break;
            }
        }
        return false;
    }

    /// <summary>Reads `a` or `r` (the reader is on its StartDictionary) into the merged fields.</summary>
    private static bool ReadArguments(scoped ref BencodeReader r, scoped ref KrpcMessage m, scoped ref State s)
    {
        ReadOnlySpan<byte> previous = default;
        bool first = true;
        uint seen = 0;
        while (r.Read())
        {
            if (r.TokenType == BencodeTokenType.EndDictionary)
                return true;
            ReadOnlySpan<byte> key = r.ValueSpan;
            if (!first)
                CheckOrder(previous, key, ref m.Flags);
            first = false;
            previous = key;
            InnerKey k = ClassifyInner(key);
            if (k == InnerKey.Unknown)
            {
                m.Flags |= KrpcFlags.UnknownKeys;
            }
            else
            {
                uint bit = 1u << (int)k;
                if ((seen & bit) != 0)
                    m.Flags |= KrpcFlags.DuplicateKeys;
                seen |= bit;
            }
            if (!r.Read())
                return false;
            bool ok;
            long number;
            switch (k)
            {
                case InnerKey.Id:
                    ok = ExpectString(ref r, ref s, out m.NodeId);
                    if (ok && m.NodeId.Length != 20 && r.TokenType == BencodeTokenType.String)
                        m.Flags |= KrpcFlags.IdNot20Bytes;
                    break;
                case InnerKey.Target: ok = ExpectString(ref r, ref s, out m.Target); break;
                case InnerKey.InfoHash: ok = ExpectString(ref r, ref s, out m.InfoHash); break;
                case InnerKey.Token: ok = ExpectString(ref r, ref s, out m.Token); break;
                case InnerKey.Nodes:
                    ok = ExpectString(ref r, ref s, out m.Nodes);
                    if (m.Nodes.Length % CompactLists.NodeLength != 0)
                        m.Flags |= KrpcFlags.NodesTrailingBytes;
                    break;
                case InnerKey.Nodes6:
                    ok = ExpectString(ref r, ref s, out m.Nodes6);
                    if (m.Nodes6.Length % CompactLists.Node6Length != 0)
                        m.Flags |= KrpcFlags.Nodes6TrailingBytes;
                    break;
                case InnerKey.Samples:
                    ok = ExpectString(ref r, ref s, out m.Samples);
                    if (m.Samples.Length % CompactLists.SampleLength != 0)
                        m.Flags |= KrpcFlags.SamplesTrailingBytes;
                    break;
                case InnerKey.BFsd: ok = ExpectString(ref r, ref s, out m.BFsd); break;
                case InnerKey.BFpe: ok = ExpectString(ref r, ref s, out m.BFpe); break;
                case InnerKey.K: ok = ExpectString(ref r, ref s, out m.Key); break;
                case InnerKey.Sig: ok = ExpectString(ref r, ref s, out m.Signature); break;
                case InnerKey.Salt: ok = ExpectString(ref r, ref s, out m.Salt); break;
                case InnerKey.Ip:
                    // BEP 42 puts `ip` at the top level; some clients (arkime capture) put it in `r`.
                    m.Flags |= KrpcFlags.ResponseIpInR;
                    s.HasInnerIp = true;
                    ok = ExpectString(ref r, ref s, out s.InnerIp);
                    break;
                case InnerKey.Port:
                    ok = ExpectInteger(ref r, ref s, out number);
                    if (number is >= 0 and <= ushort.MaxValue)
                        m.Port = (int)number;
                    else if (ok && r.TokenType == BencodeTokenType.Integer)
                    {
                        m.Flags |= KrpcFlags.PortOutOfRange;
                        m.RawPort = number; // kept: the store shows it (msg extra, messages.port)
                    }
                    break;
                case InnerKey.ImpliedPort:
                    ok = ExpectInteger(ref r, ref s, out number);
                    if (r.TokenType == BencodeTokenType.Integer)
                        m.ImpliedPort = number != 0 ? 1 : 0;
                    break;
                case InnerKey.Scrape:
                    ok = ExpectInteger(ref r, ref s, out number);
                    m.Scrape = number > 0;
                    break;
                case InnerKey.NoSeed:
                    ok = ExpectInteger(ref r, ref s, out number);
                    m.NoSeed = number > 0;
                    break;
                case InnerKey.Num: ok = ExpectIntegerInto(ref r, ref s, ref m.Num); break;
                case InnerKey.Interval: ok = ExpectIntegerInto(ref r, ref s, ref m.Interval); break;
                case InnerKey.Seq: ok = ExpectIntegerInto(ref r, ref s, ref m.Seq); break;
                case InnerKey.Cas: ok = ExpectIntegerInto(ref r, ref s, ref m.Cas); break;
                case InnerKey.Values: ok = ReadValues(ref r, ref m, ref s); break;
                case InnerKey.Want: ok = ReadWant(ref r, ref m, ref s); break;
                case InnerKey.V:
                    ok = ReadRaw(ref r, out m.Value);
                    break;
                case InnerKey.P:
                    if (r.TokenType == BencodeTokenType.Integer)
                    {
                        m.LtPeer = r.ValueSpan;
                        number = r.GetInt64();
                        if (number is >= 0 and <= ushort.MaxValue)
                            m.LtPort = (int)number;
                        else
                            m.Flags |= KrpcFlags.PortOutOfRange;
                        ok = true;
                    }
                    else
                    {
                        ok = ReadScalarOrRaw(ref r, out m.LtPeer);
                    }
                    break;
                case InnerKey.N: ok = ReadScalarOrRaw(ref r, out m.LtName); break;
                default: ok = r.Skip(); break;
            }
            if (!ok)
                return false;
        }
        return false;
    }

    /// <summary>`values` (BEP 5): a list of compact peers; kept raw, counted, odd sizes flagged.</summary>
    private static bool ReadValues(scoped ref BencodeReader r, scoped ref KrpcMessage m, scoped ref State s)
    {
        if (r.TokenType != BencodeTokenType.StartList)
            return WrongType(ref r, ref s);
        int start = r.TokenStartIndex;
        int count = 0;
        while (r.Read())
        {
            switch (r.TokenType)
            {
                case BencodeTokenType.EndList:
                    m.Values = r.Data[start..r.BytesConsumed];
                    m.ValuesCount = count;
                    return true;
                case BencodeTokenType.String:
                    count++;
                    int length = r.ValueSpan.Length;
                    if (length == CompactLists.PeerLength || length == CompactLists.Peer6Length)
                        count += r.SkipFixedStrings(length); // replies carry up to ~150 peers of one size
                    else
                        m.Flags |= KrpcFlags.ValuesOddEntry;
                    break;
                default:
                    if (!WrongType(ref r, ref s))
                        return false;
                    break;
            }
        }
        return false;
    }

    /// <summary>`want` (BEP 32): a list of "n4" / "n6".</summary>
    private static bool ReadWant(scoped ref BencodeReader r, scoped ref KrpcMessage m, scoped ref State s)
    {
        if (r.TokenType != BencodeTokenType.StartList)
            return WrongType(ref r, ref s);
        while (r.Read())
        {
            switch (r.TokenType)
            {
                case BencodeTokenType.EndList:
                    return true;
                case BencodeTokenType.String:
                    if (r.ValueTextEquals("n4"u8))
                        m.Want |= 1;
                    else if (r.ValueTextEquals("n6"u8))
                        m.Want |= 2;
                    break;
                default:
                    if (!WrongType(ref r, ref s))
                        return false;
                    break;
            }
        }
        return false;
    }

    /// <summary>
    /// `e` (BEP 5): "a list. The first element is an integer representing the error code. The second element is a
    /// string containing the error message." A list that lacks either (empty, or only a code) or has either of the
    /// wrong type is malformed; elements after the message are skipped.
    /// </summary>
    private static bool ReadErrorList(scoped ref BencodeReader r, scoped ref KrpcMessage m, scoped ref State s)
    {
        if (r.TokenType != BencodeTokenType.StartList)
            return WrongType(ref r, ref s);
        int index = 0;
        while (r.Read())
        {
            if (r.TokenType == BencodeTokenType.EndList)
            {
                if (index < 2)
                    s.Record(KrpcErrorReason.InvalidErrorList, r.TokenStartIndex);
                return true;
            }
            if (index == 0 && r.TokenType == BencodeTokenType.Integer)
            {
                m.ErrorCode = r.GetInt64();
            }
            else if (index == 1 && r.TokenType == BencodeTokenType.String)
            {
                m.ErrorMessage = r.ValueSpan;
            }
            else
            {
                if (index < 2)
                    s.Record(KrpcErrorReason.InvalidErrorList, r.TokenStartIndex);
                if (!r.Skip())
                    return false;
            }
            index++;
        }
        return false;
    }

    private static bool ExpectString(scoped ref BencodeReader r, scoped ref State s, out ReadOnlySpan<byte> value)
    {
        if (r.TokenType == BencodeTokenType.String)
        {
            value = r.ValueSpan;
            return true;
        }
        value = default;
        return WrongType(ref r, ref s);
    }

    private static bool ExpectInteger(scoped ref BencodeReader r, scoped ref State s, out long value)
    {
        if (r.TokenType == BencodeTokenType.Integer)
        {
            value = r.GetInt64();
            return true;
        }
        value = -1;
        return WrongType(ref r, ref s);
    }

    private static bool ExpectIntegerInto(scoped ref BencodeReader r, scoped ref State s, ref long field)
    {
        if (r.TokenType == BencodeTokenType.Integer)
        {
            field = r.GetInt64();
            return true;
        }
        return WrongType(ref r, ref s);
    }

    /// <summary>Records the first wrong-typed value and skips it, so the rest is still validated.</summary>
    private static bool WrongType(scoped ref BencodeReader r, scoped ref State s)
    {
        s.Record(KrpcErrorReason.WrongType, r.TokenStartIndex);
        return r.Skip();
    }

    /// <summary>The whole encoded value the reader is on (BEP 44 `v` may be any bencode value).</summary>
    private static bool ReadRaw(scoped ref BencodeReader r, out ReadOnlySpan<byte> raw)
    {
        int start = r.TokenStartIndex;
        bool ok = r.Skip();
        raw = ok ? r.Data[start..r.BytesConsumed] : default;
        return ok;
    }

    private static bool ReadScalarOrRaw(scoped ref BencodeReader r, out ReadOnlySpan<byte> value)
    {
        if (r.TokenType is BencodeTokenType.String or BencodeTokenType.Integer)
        {
            value = r.ValueSpan;
            return true;
        }
        return ReadRaw(ref r, out value);
    }

    /// <summary>BEP 3 wants keys sorted as raw byte strings; equal neighbours are duplicates.</summary>
    private static void CheckOrder(ReadOnlySpan<byte> previous, ReadOnlySpan<byte> key, ref KrpcFlags flags)
    {
        // Neighbouring KRPC keys nearly always differ in their first byte: decide there without a call.
        if (!previous.IsEmpty && !key.IsEmpty && previous[0] != key[0])
        {
            if (previous[0] > key[0])
                flags |= KrpcFlags.UnsortedKeys;
            return;
        }
        int order = previous.SequenceCompareTo(key);
        if (order == 0)
            flags |= KrpcFlags.DuplicateKeys;
        else if (order > 0)
            flags |= KrpcFlags.UnsortedKeys;
    }

    internal static KrpcMethod ParseMethod(ReadOnlySpan<byte> name) => name.Length switch
    {
        4 when name.SequenceEqual("ping"u8) => KrpcMethod.Ping,
        9 when name.SequenceEqual("find_node"u8) => KrpcMethod.FindNode,
        9 when name.SequenceEqual("get_peers"u8) => KrpcMethod.GetPeers,
        13 when name.SequenceEqual("announce_peer"u8) => KrpcMethod.AnnouncePeer,
        3 when name.SequenceEqual("get"u8) => KrpcMethod.Get,
        3 when name.SequenceEqual("put"u8) => KrpcMethod.Put,
        17 when name.SequenceEqual("sample_infohashes"u8) => KrpcMethod.SampleInfohashes,
        _ => KrpcMethod.Other,
    };

    private static TopKey ClassifyTop(ReadOnlySpan<byte> key)
    {
        if (key.Length == 1)
        {
            return key[0] switch
            {
                (byte)'t' => TopKey.T,
                (byte)'y' => TopKey.Y,
                (byte)'q' => TopKey.Q,
                (byte)'a' => TopKey.A,
                (byte)'r' => TopKey.R,
                (byte)'e' => TopKey.E,
                (byte)'v' => TopKey.V,
                _ => TopKey.Unknown,
            };
        }
        if (key.Length == 2)
        {
            if (key[0] == (byte)'i' && key[1] == (byte)'p')
                return TopKey.Ip;
            if (key[0] == (byte)'r' && key[1] == (byte)'o')
                return TopKey.Ro;
        }
        return TopKey.Unknown;
    }

    private static InnerKey ClassifyInner(ReadOnlySpan<byte> key)
    {
        switch (key.Length)
        {
            case 1:
                return key[0] switch
                {
                    (byte)'k' => InnerKey.K,
                    (byte)'v' => InnerKey.V,
                    (byte)'p' => InnerKey.P,
                    (byte)'n' => InnerKey.N,
                    _ => InnerKey.Unknown,
                };
            case 2:
                if (key[0] == (byte)'i')
                {
                    if (key[1] == (byte)'d')
                        return InnerKey.Id;
                    if (key[1] == (byte)'p')
                        return InnerKey.Ip;
                }
                return InnerKey.Unknown;
            case 3:
                if (key.SequenceEqual("seq"u8)) return InnerKey.Seq;
                if (key.SequenceEqual("sig"u8)) return InnerKey.Sig;
                if (key.SequenceEqual("num"u8)) return InnerKey.Num;
                if (key.SequenceEqual("cas"u8)) return InnerKey.Cas;
                return InnerKey.Unknown;
            case 4:
                if (key.SequenceEqual("port"u8)) return InnerKey.Port;
                if (key.SequenceEqual("want"u8)) return InnerKey.Want;
                if (key.SequenceEqual("salt"u8)) return InnerKey.Salt;
                if (key.SequenceEqual("BFsd"u8)) return InnerKey.BFsd;
                if (key.SequenceEqual("BFpe"u8)) return InnerKey.BFpe;
                return InnerKey.Unknown;
            case 5:
                if (key.SequenceEqual("nodes"u8)) return InnerKey.Nodes;
                if (key.SequenceEqual("token"u8)) return InnerKey.Token;
                return InnerKey.Unknown;
            case 6:
                if (key.SequenceEqual("target"u8)) return InnerKey.Target;
                if (key.SequenceEqual("values"u8)) return InnerKey.Values;
                if (key.SequenceEqual("nodes6"u8)) return InnerKey.Nodes6;
                if (key.SequenceEqual("scrape"u8)) return InnerKey.Scrape;
                if (key.SequenceEqual("noseed"u8)) return InnerKey.NoSeed;
                return InnerKey.Unknown;
            case 7:
                return key.SequenceEqual("samples"u8) ? InnerKey.Samples : InnerKey.Unknown;
            case 8:
                return key.SequenceEqual("interval"u8) ? InnerKey.Interval : InnerKey.Unknown;
            case 9:
                return key.SequenceEqual("info_hash"u8) ? InnerKey.InfoHash : InnerKey.Unknown;
            case 12:
                return key.SequenceEqual("implied_port"u8) ? InnerKey.ImpliedPort : InnerKey.Unknown;
            default:
                return InnerKey.Unknown;
        }
    }

    private enum TopKey : byte { Unknown, T, Y, Q, A, R, E, V, Ip, Ro }

    private enum InnerKey : byte
    {
        Unknown, Id, Target, InfoHash, Token, Port, ImpliedPort, Nodes, Nodes6, Values, Want, Scrape, NoSeed,
        BFsd, BFpe, Samples, Num, Interval, K, Sig, Seq, Cas, Salt, V, Ip, P, N,
    }

    /// <summary>What the single pass learns besides the message fields.</summary>
    private ref struct State
    {
        public bool KrpcLike;
        public bool HasT;
        public bool HasY;
        public bool HasQ;
        public bool HasA;
        public bool HasR;
        public bool HasE;
        public bool HasInnerIp;
        public int YOffset;
        public ReadOnlySpan<byte> Y;
        public ReadOnlySpan<byte> InnerIp;
        public KrpcError FieldError;

        public void Record(KrpcErrorReason reason, int offset)
        {
            if (FieldError.Reason == KrpcErrorReason.None)
                FieldError = new KrpcError(reason, BencodeErrorKind.None, offset);
        }
    }
}
