using System.Runtime.CompilerServices;
using PcapDht.Bencode.Simd;

namespace PcapDht.Bencode;

/// <summary>
/// A forward-only reader over one bencoded value (BEP 3), in the manner of <c>Utf8JsonReader</c>:
/// <see cref="Read"/> moves to the next token, <see cref="ValueSpan"/> is a slice of the input,
/// nothing is allocated. Validation is strict and complete: anything that is not BEP 3 stops the
/// reader with an <see cref="Error"/> (kind + byte offset) instead of throwing. Dictionary key order
/// is not checked here; callers that care (the KRPC decoder) compare consecutive keys themselves.
/// </summary>
public ref struct BencodeReader
{
    // A length prefix above int.MaxValue cannot fit any buffer: 10 digits are the most worth parsing.
    private const int MaxLengthDigits = 10;
    // long.MaxValue has 19 digits; one more tells "too long" without scanning a hostile run to its end.
    private const int MaxIntegerDigits = 19;

    private readonly ReadOnlySpan<byte> _data;
    private readonly int _maxDepth;
    private readonly SimdVariant _simd;
    private int _pos;
    private int _depth;
    private DepthBits _isDictionary;
    private bool _expectKey;
    private bool _started;
    private BencodeTokenType _tokenType;
    private int _tokenStart;
    private int _tokenDepth;
    private int _valueStart;
    private int _valueLength;
    private long _integer;
    private BencodeError _error;

    public BencodeReader(ReadOnlySpan<byte> data, BencodeReaderOptions options = default)
    {
        _data = data;
        _maxDepth = options.EffectiveMaxDepth;
        _simd = SimdSelection.Resolve(options.Simd);
    }

    /// <summary>The whole input the reader walks.</summary>
    public readonly ReadOnlySpan<byte> Data => _data;

    public readonly BencodeTokenType TokenType => _tokenType;

    /// <summary>String or key bytes, or an integer's text (digits and '-'); empty for container tokens.</summary>
    public readonly ReadOnlySpan<byte> ValueSpan => _data.Slice(_valueStart, _valueLength);

    /// <summary>Offset of the current token's first byte (the 'd', 'l', 'e', 'i' or first length digit).</summary>
    public readonly int TokenStartIndex => _tokenStart;

    /// <summary>Bytes consumed so far: the offset just past the current token.</summary>
    public readonly int BytesConsumed => _pos;

    /// <summary>Containers enclosing the current token (a container's own start/end token is at its parent's depth).</summary>
    public readonly int CurrentDepth => _tokenDepth;

    public readonly BencodeError Error => _error;

    public readonly bool HasError => _error.Kind != BencodeErrorKind.None;

    /// <summary>The variant this reader scans digits with (never <see cref="SimdVariant.Auto"/>).</summary>
    public readonly SimdVariant Simd => _simd;

    /// <summary>The value of the current <see cref="BencodeTokenType.Integer"/> token (validated during <see cref="Read"/>).</summary>
    public readonly long GetInt64()
    {
        if (_tokenType != BencodeTokenType.Integer)
            ThrowHelper.ThrowNotInteger(_tokenType);
        return _integer;
    }

    /// <summary>Cheap comparison for keys and strings: <c>reader.ValueTextEquals("id"u8)</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool ValueTextEquals(ReadOnlySpan<byte> text) => ValueSpan.SequenceEqual(text);

    /// <summary>
    /// Moves to the next token. False when the top-level value is complete (and nothing trails it) or
    /// on an error; <see cref="HasError"/> tells which.
    /// </summary>
    public bool Read()
    {
        if (_error.Kind != BencodeErrorKind.None)
            return false;
        int pos = _pos;
        ReadOnlySpan<byte> data = _data;
        if (_depth == 0 && _started)
        {
            if (pos != data.Length)
                return Fail(BencodeErrorKind.TrailingBytes, pos);
            _tokenType = BencodeTokenType.None;
            return false;
        }
        if ((uint)pos >= (uint)data.Length)
            return Fail(_started ? BencodeErrorKind.UnterminatedContainer : BencodeErrorKind.Empty, pos);

        _started = true;
        _tokenStart = pos;
        _tokenDepth = _depth;
        byte b = data[pos];
        bool inDictionary = _depth > 0 && IsDictionaryAt(_depth);

        if (b == (byte)'e')
        {
            if (_depth == 0)
                return Fail(BencodeErrorKind.InvalidByte, pos);
            if (inDictionary && !_expectKey)
                return Fail(BencodeErrorKind.MissingValue, pos);
            _tokenType = inDictionary ? BencodeTokenType.EndDictionary : BencodeTokenType.EndList;
            _depth--;
            _tokenDepth = _depth;
            // The closed container was a value; its parent dictionary (if any) now waits for a key.
            _expectKey = true;
            _valueStart = pos;
            _valueLength = 0;
            _pos = pos + 1;
            return true;
        }

        if (inDictionary && _expectKey)
        {
            if ((uint)(b - '0') > 9)
                return Fail(BencodeErrorKind.NonStringKey, pos);
            if (!ReadString(pos))
                return false;
            _tokenType = BencodeTokenType.Key;
            _expectKey = false;
            return true;
        }

        if ((uint)(b - '0') <= 9)
        {
            if (!ReadString(pos))
                return false;
            _tokenType = BencodeTokenType.String;
            _expectKey = true;
            return true;
        }

        switch (b)
        {
            case (byte)'i':
                if (!ReadInteger(pos))
                    return false;
                _tokenType = BencodeTokenType.Integer;
                _expectKey = true;
                return true;
            case (byte)'d':
            case (byte)'l':
                if (_depth >= _maxDepth)
                    return Fail(BencodeErrorKind.DepthLimit, pos);
                _depth++;
                bool dictionary = b == (byte)'d';
                SetDictionaryAt(_depth, dictionary);
                _expectKey = dictionary;
                _tokenType = dictionary ? BencodeTokenType.StartDictionary : BencodeTokenType.StartList;
                _valueStart = pos;
                _valueLength = 0;
                _pos = pos + 1;
                return true;
            default:
                return Fail(BencodeErrorKind.InvalidByte, pos);
        }
    }

    /// <summary>
    /// Skips the current value: on a key, its value; on a container start, everything up to and
    /// including its end; on a scalar, nothing. Validates what it skips. False on error.
    /// </summary>
    public bool Skip()
    {
        if (_tokenType == BencodeTokenType.Key && !Read())
            return false;
        if (_tokenType is BencodeTokenType.StartDictionary or BencodeTokenType.StartList)
        {
            int target = _tokenDepth;
            do
            {
                if (!Read())
                    return false;
            }
            while (_depth > target);
        }
        return true;
    }

    /// <summary>
    /// Inside a list: skips the run of following strings that have exactly
    /// <paramref name="length"/> bytes (1..99), as <see cref="Read"/> would one by one, and returns how
    /// many. The reader is left on the last of them. For long BEP 5 `values` lists of compact peers.
    /// </summary>
    public int SkipFixedStrings(int length)
    {
        if (_error.Kind != BencodeErrorKind.None || _depth == 0 || IsDictionaryAt(_depth) || (uint)(length - 1) > 98)
            return 0;
        int count = _simd switch
        {
            SimdVariant.Vector256 => Vector256DigitScanner.CountFixedStrings(_data, _pos, length),
            SimdVariant.Vector128 => Vector128DigitScanner.CountFixedStrings(_data, _pos, length),
            _ => ScalarDigitScanner.CountFixedStrings(_data, _pos, length),
        };
        if (count == 0)
            return 0;
        int prefix = length >= 10 ? 3 : 2;
        int last = _pos + (count - 1) * (prefix + length);
        _tokenType = BencodeTokenType.String;
        _tokenStart = last;
        _tokenDepth = _depth;
        _valueStart = last + prefix;
        _valueLength = length;
        _pos = last + prefix + length;
        return count;
    }

    private bool ReadString(int pos)
    {
        ReadOnlySpan<byte> data = _data;
        // KRPC's keys and values have 1-3 digit lengths ("1:t", "20:<id>", "208:<nodes>"): decide
        // those with direct compares before the general scan. Callers ensure data[pos] is a digit.
        // Anything unusual (leading zero, 4+ digits, missing colon, end of data) takes the general
        // path, which reports the error exactly as before.
        uint d0 = (uint)(data[pos] - '0');
        if ((uint)(pos + 3) < (uint)data.Length)
        {
            uint c1 = data[pos + 1];
            int fastStart = -1;
            uint fastLength = 0;
            if (c1 == ':')
            {
                fastStart = pos + 2;
                fastLength = d0;
            }
            else if (d0 != 0 && (c1 - '0') <= 9)
            {
                uint c2 = data[pos + 2];
                if (c2 == ':')
                {
                    fastStart = pos + 3;
                    fastLength = d0 * 10 + (c1 - '0');
                }
                else if ((c2 - '0') <= 9 && data[pos + 3] == ':')
                {
                    fastStart = pos + 4;
                    fastLength = d0 * 100 + (c1 - '0') * 10 + (c2 - '0');
                }
            }
            if (fastStart >= 0)
            {
                if (fastLength > (uint)(data.Length - fastStart))
                    return Fail(BencodeErrorKind.StringPastEnd, pos);
                _valueStart = fastStart;
                _valueLength = (int)fastLength;
                _pos = fastStart + (int)fastLength;
                return true;
            }
        }
        int digits = ScanDigits(pos, MaxLengthDigits + 1, out ulong length);
        if (digits > 1 && data[pos] == (byte)'0')
            return Fail(BencodeErrorKind.LeadingZero, pos);
        if (digits > MaxLengthDigits)
            return Fail(BencodeErrorKind.StringLengthOverflow, pos);
        int colon = pos + digits;
        if (colon >= data.Length)
            return Fail(BencodeErrorKind.UnexpectedEnd, colon);
        if (data[colon] != (byte)':')
            return Fail(BencodeErrorKind.MissingColon, colon);
        if (length > int.MaxValue)
            return Fail(BencodeErrorKind.StringLengthOverflow, pos);
        int start = colon + 1;
        if ((long)length > data.Length - start)
            return Fail(BencodeErrorKind.StringPastEnd, pos);
        _valueStart = start;
        _valueLength = (int)length;
        _pos = start + (int)length;
        return true;
    }

    private bool ReadInteger(int pos)
    {
        ReadOnlySpan<byte> data = _data;
        int p = pos + 1;
        bool negative = p < data.Length && data[p] == (byte)'-';
        if (negative)
            p++;
        int digits = ScanDigits(p, MaxIntegerDigits + 1, out ulong magnitude);
        if (digits == 0)
            return p >= data.Length ? Fail(BencodeErrorKind.UnexpectedEnd, p) : Fail(BencodeErrorKind.InvalidInteger, p);
        if (data[p] == (byte)'0')
        {
            if (digits > 1)
                return Fail(BencodeErrorKind.LeadingZero, p);
            if (negative)
                return Fail(BencodeErrorKind.NegativeZero, pos);
        }
        if (digits > MaxIntegerDigits)
            return Fail(BencodeErrorKind.IntegerOverflow, pos);
        int end = p + digits;
        if (end >= data.Length)
            return Fail(BencodeErrorKind.UnexpectedEnd, end);
        if (data[end] != (byte)'e')
            return Fail(BencodeErrorKind.InvalidInteger, end);
        // 19 digits never overflow ulong; the signed range is asymmetric by one.
        if (magnitude > (negative ? (ulong)long.MaxValue + 1 : long.MaxValue))
            return Fail(BencodeErrorKind.IntegerOverflow, pos);
        _integer = negative ? (long)(0 - magnitude) : (long)magnitude;
        _valueStart = pos + 1;
        _valueLength = end - _valueStart;
        _pos = end + 1;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly int ScanDigits(int start, int max, out ulong value) => _simd switch
    {
        SimdVariant.Vector256 => Vector256DigitScanner.ScanDigits(_data, start, max, out value),
        SimdVariant.Vector128 => Vector128DigitScanner.ScanDigits(_data, start, max, out value),
        _ => ScalarDigitScanner.ScanDigits(_data, start, max, out value),
    };

    private bool Fail(BencodeErrorKind kind, int offset)
    {
        _error = new BencodeError(kind, offset);
        _tokenType = BencodeTokenType.None;
        return false;
    }

    private readonly bool IsDictionaryAt(int level) => (_isDictionary[level >> 6] & (1UL << level)) != 0;

    private void SetDictionaryAt(int level, bool dictionary)
    {
        ref ulong word = ref _isDictionary[level >> 6];
        word = dictionary ? word | (1UL << level) : word & ~(1UL << level);
    }

    /// <summary>One bit per nesting level (ulong shifts use the low 6 bits): is the container there a dictionary.</summary>
    [InlineArray(BencodeReaderOptions.MaxSupportedDepth / 64 + 1)]
    private struct DepthBits
    {
        private ulong _word;
    }
}
