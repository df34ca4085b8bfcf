using PcapDht.Bencode;
using PcapDht.Bencode.Simd;

namespace PcapDht.Tests.Bencode;

public class BencodeReaderTests
{
    private static List<(BencodeTokenType Type, string Value, int Depth)> Tokens(string input, SimdVariant variant, out BencodeError error)
    {
        var reader = new BencodeReader(Benc.Bytes(input), new BencodeReaderOptions(0, variant));
        var tokens = new List<(BencodeTokenType, string, int)>();
        while (reader.Read())
            tokens.Add((reader.TokenType, Benc.Text(reader.ValueSpan), reader.CurrentDepth));
        error = reader.Error;
        return tokens;
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Read_KrpcPing_YieldsKeysValuesAndDepths(SimdVariant variant)
    {
        var tokens = Tokens("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", variant, out var error);

        Assert.Equal(BencodeErrorKind.None, error.Kind);
        Assert.Equal(
        [
            (BencodeTokenType.StartDictionary, "", 0),
            (BencodeTokenType.Key, "a", 1),
            (BencodeTokenType.StartDictionary, "", 1),
            (BencodeTokenType.Key, "id", 2),
            (BencodeTokenType.String, "abcdefghij0123456789", 2),
            (BencodeTokenType.EndDictionary, "", 1),
            (BencodeTokenType.Key, "q", 1),
            (BencodeTokenType.String, "ping", 1),
            (BencodeTokenType.Key, "t", 1),
            (BencodeTokenType.String, "aa", 1),
            (BencodeTokenType.Key, "y", 1),
            (BencodeTokenType.String, "q", 1),
            (BencodeTokenType.EndDictionary, "", 0),
        ], tokens);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Read_ListOfScalars_ReportsOffsetsAndIntegers(SimdVariant variant)
    {
        var reader = new BencodeReader(Benc.Bytes("li-9223372036854775808ei0e0:i9223372036854775807e12:abcdefghijkle"), new BencodeReaderOptions(0, variant));
        Assert.True(reader.Read());
        Assert.Equal(BencodeTokenType.StartList, reader.TokenType);
        Assert.True(reader.Read());
        Assert.Equal(long.MinValue, reader.GetInt64());
        Assert.Equal(1, reader.TokenStartIndex);
        Assert.True(reader.Read());
        Assert.Equal(0, reader.GetInt64());
        Assert.True(reader.Read());
        Assert.Equal(BencodeTokenType.String, reader.TokenType);
        Assert.Equal(0, reader.ValueSpan.Length);
        Assert.True(reader.Read());
        Assert.Equal(long.MaxValue, reader.GetInt64());
        Assert.True(reader.Read());
        Assert.True(reader.ValueTextEquals("abcdefghijkl"u8));
        Assert.False(reader.ValueTextEquals("abcdefghijk"u8));
        Assert.True(reader.Read());
        Assert.Equal(BencodeTokenType.EndList, reader.TokenType);
        Assert.False(reader.Read());
        Assert.False(reader.HasError);
        Assert.Equal(reader.Data.Length, reader.BytesConsumed);
    }

    [Fact]
    public void GetInt64_OnString_Throws()
    {
        var reader = new BencodeReader("2:ab"u8);
        Assert.True(reader.Read());
        bool threw = false;
        try
        {
            reader.GetInt64();
        }
        catch (InvalidOperationException)
        {
            threw = true;
        }
        Assert.True(threw);
    }

    public static TheoryData<string, BencodeErrorKind, int> Errors => new()
    {
        { "", BencodeErrorKind.Empty, 0 },
        { "i", BencodeErrorKind.UnexpectedEnd, 1 },
        { "i12", BencodeErrorKind.UnexpectedEnd, 3 },
        { "i-", BencodeErrorKind.UnexpectedEnd, 2 },
        { "ie", BencodeErrorKind.InvalidInteger, 1 },
        { "i-e", BencodeErrorKind.InvalidInteger, 2 },
        { "i1x", BencodeErrorKind.InvalidInteger, 2 },
        { "i+1e", BencodeErrorKind.InvalidInteger, 1 },
        { "i03e", BencodeErrorKind.LeadingZero, 1 },
        { "i-03e", BencodeErrorKind.LeadingZero, 2 },
        { "i00e", BencodeErrorKind.LeadingZero, 1 },
        { "i-0e", BencodeErrorKind.NegativeZero, 0 },
        { "i9223372036854775808e", BencodeErrorKind.IntegerOverflow, 0 },
        { "i-9223372036854775809e", BencodeErrorKind.IntegerOverflow, 0 },
        { "i18446744073709551616e", BencodeErrorKind.IntegerOverflow, 0 },
        { "i12345678901234567890e", BencodeErrorKind.IntegerOverflow, 0 },
        { "li1ei99999999999999999999999999999999999999ee", BencodeErrorKind.IntegerOverflow, 4 },
        { "03:abc", BencodeErrorKind.LeadingZero, 0 },
        { "00:", BencodeErrorKind.LeadingZero, 0 },
        { "3abc", BencodeErrorKind.MissingColon, 1 },
        { "3", BencodeErrorKind.UnexpectedEnd, 1 },
        { "5:abc", BencodeErrorKind.StringPastEnd, 0 },
        { "l5:abce", BencodeErrorKind.StringPastEnd, 1 },
        { "2147483647:x", BencodeErrorKind.StringPastEnd, 0 },
        { "2147483648:x", BencodeErrorKind.StringLengthOverflow, 0 },
        { "99999999999999999999:", BencodeErrorKind.StringLengthOverflow, 0 },
        // 1-3 digit lengths with bytes after them take ReadString's direct path; its errors must match the scan's.
        { "l9:abcdefgh", BencodeErrorKind.StringPastEnd, 1 },
        { "l20:abcdefgh", BencodeErrorKind.StringPastEnd, 1 },
        { "l208:abcdefgh", BencodeErrorKind.StringPastEnd, 1 },
        { "l1000:abcdefgh", BencodeErrorKind.StringPastEnd, 1 },
        { "l03:abce", BencodeErrorKind.LeadingZero, 1 },
        { "l012:abce", BencodeErrorKind.LeadingZero, 1 },
        { "l3xabce", BencodeErrorKind.MissingColon, 2 },
        { "l12x45678e", BencodeErrorKind.MissingColon, 3 },
        { "l123x5678e", BencodeErrorKind.MissingColon, 4 },
        { "l", BencodeErrorKind.UnterminatedContainer, 1 },
        { "d1:ai1e", BencodeErrorKind.UnterminatedContainer, 7 },
        { "d1:a", BencodeErrorKind.UnterminatedContainer, 4 },
        { "di1ei2ee", BencodeErrorKind.NonStringKey, 1 },
        { "d1:ai1eli1eee", BencodeErrorKind.NonStringKey, 7 },
        { "d1:ae", BencodeErrorKind.MissingValue, 4 },
        { "i1ei2e", BencodeErrorKind.TrailingBytes, 3 },
        { "le\0", BencodeErrorKind.TrailingBytes, 2 },
        { "de\n", BencodeErrorKind.TrailingBytes, 2 },
        { "e", BencodeErrorKind.InvalidByte, 0 },
        { "x", BencodeErrorKind.InvalidByte, 0 },
        { "l-1:ae", BencodeErrorKind.InvalidByte, 1 },
        { "d1:a-1e", BencodeErrorKind.InvalidByte, 4 },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Read_InvalidInput_ReportsKindAndOffsetOnEveryVariant(string input, BencodeErrorKind kind, int offset)
    {
        foreach (var variant in SimdSelection.All)
        {
            Tokens(input, variant, out var error);
            Assert.Equal((kind, offset), (error.Kind, error.Offset));
        }
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Read_NestingBeyondLimit_StopsAtTheLimit(SimdVariant variant)
    {
        string ok = new string('l', 64) + new string('e', 64);
        Tokens(ok, variant, out var okError);
        Assert.False(okError.IsError);

        string deep = new string('l', 65) + new string('e', 65);
        Tokens(deep, variant, out var error);
        Assert.Equal((BencodeErrorKind.DepthLimit, 64), (error.Kind, error.Offset));

        var reader = new BencodeReader(Benc.Bytes(deep), new BencodeReaderOptions(8, variant));
        while (reader.Read())
        {
        }
        Assert.Equal((BencodeErrorKind.DepthLimit, 8), (reader.Error.Kind, reader.Error.Offset));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Read_HundredThousandNestedLists_RejectedAtTheDepthLimit(SimdVariant variant)
    {
        byte[] hostile = new byte[100_000];
        hostile.AsSpan().Fill((byte)'l');
        var reader = new BencodeReader(hostile, new BencodeReaderOptions(BencodeReaderOptions.MaxSupportedDepth, variant));
        int tokens = 0;
        while (reader.Read())
            tokens++;
        Assert.Equal(BencodeReaderOptions.MaxSupportedDepth, tokens);
        Assert.Equal((BencodeErrorKind.DepthLimit, 256), (reader.Error.Kind, reader.Error.Offset));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Read_MegabyteOfDigits_RejectedWithoutScanningThemAll(SimdVariant variant)
    {
        byte[] digits = new byte[1 << 20];
        digits.AsSpan().Fill((byte)'9');
        var reader = new BencodeReader(digits, new BencodeReaderOptions(0, variant));
        Assert.False(reader.Read());
        Assert.Equal((BencodeErrorKind.StringLengthOverflow, 0), (reader.Error.Kind, reader.Error.Offset));

        digits[0] = (byte)'i';
        reader = new BencodeReader(digits, new BencodeReaderOptions(0, variant));
        Assert.False(reader.Read());
        Assert.Equal((BencodeErrorKind.IntegerOverflow, 0), (reader.Error.Kind, reader.Error.Offset));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Skip_OnKeyAndContainers_LandsAfterTheValue(SimdVariant variant)
    {
        var reader = new BencodeReader(Benc.Bytes("d1:ald1:xli1ee1:yd1:zi2eee3:ende1:b2:bbe"), new BencodeReaderOptions(0, variant));
        Assert.True(reader.Read());
        Assert.True(reader.Read());
        Assert.True(reader.ValueTextEquals("a"u8));
        Assert.True(reader.Skip());
        Assert.Equal(BencodeTokenType.EndList, reader.TokenType);
        Assert.True(reader.Read());
        Assert.True(reader.ValueTextEquals("b"u8));
        Assert.True(reader.Read());
        Assert.True(reader.ValueTextEquals("bb"u8));
        Assert.True(reader.Skip()); // a scalar: nothing to skip
        Assert.True(reader.Read());
        Assert.Equal(BencodeTokenType.EndDictionary, reader.TokenType);
        Assert.False(reader.Read());
        Assert.False(reader.HasError);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Skip_OverInvalidContent_ReportsTheError(SimdVariant variant)
    {
        var reader = new BencodeReader(Benc.Bytes("d1:ald1:xi01eee1:b0:e"), new BencodeReaderOptions(0, variant));
        Assert.True(reader.Read());
        Assert.True(reader.Read());
        Assert.False(reader.Skip());
        Assert.Equal((BencodeErrorKind.LeadingZero, 10), (reader.Error.Kind, reader.Error.Offset));
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void SkipFixedStrings_PeerList_SameAsReadingOneByOne(SimdVariant variant)
    {
        string peers = string.Concat(Enumerable.Range(0, 37).Select(i => "6:" + (char)('A' + i % 26) + "bcdef"));
        string v6 = string.Concat(Enumerable.Range(0, 5).Select(i => "18:" + new string((char)('a' + i), 18)));
        var reader = new BencodeReader(Benc.Bytes("l6:first1" + peers + "5:short" + v6 + "7:lastone" + "e"), new BencodeReaderOptions(0, variant));
        Assert.True(reader.Read());
        Assert.Equal(0, reader.SkipFixedStrings(5)); // "6:first1" is not 5 bytes
        Assert.Equal(38, reader.SkipFixedStrings(6)); // "first1" and the 37 peers
        Assert.Equal("Kbcdef", Benc.Text(reader.ValueSpan)); // the 37th peer: 'A' + 36 % 26
        Assert.Equal(BencodeTokenType.String, reader.TokenType);
        Assert.True(reader.Read());
        Assert.Equal("short", Benc.Text(reader.ValueSpan));
        Assert.Equal(0, reader.SkipFixedStrings(5)); // next is "18:"
        Assert.True(reader.Read());
        Assert.Equal(4, reader.SkipFixedStrings(18));
        Assert.Equal(new string('e', 18), Benc.Text(reader.ValueSpan));
        Assert.True(reader.Read());
        Assert.Equal("lastone", Benc.Text(reader.ValueSpan));
        Assert.Equal(0, reader.SkipFixedStrings(6)); // "e" follows
        Assert.True(reader.Read());
        Assert.Equal(BencodeTokenType.EndList, reader.TokenType);
        Assert.False(reader.Read());
        Assert.False(reader.HasError);
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void SkipFixedStrings_TruncatedLastEntry_LeftForReadToReport(SimdVariant variant)
    {
        var reader = new BencodeReader(Benc.Bytes("l6:abcdef6:abcdef6:abcdef6:abc"), new BencodeReaderOptions(0, variant));
        Assert.True(reader.Read());
        Assert.True(reader.Read());
        Assert.Equal(2, reader.SkipFixedStrings(6));
        Assert.False(reader.Read());
        Assert.Equal((BencodeErrorKind.StringPastEnd, 25), (reader.Error.Kind, reader.Error.Offset));

        var inDictionary = new BencodeReader(Benc.Bytes("d1:a6:abcdef6:abcdef6:abcdefe"), new BencodeReaderOptions(0, variant));
        inDictionary.Read();
        inDictionary.Read();
        inDictionary.Read();
        Assert.Equal(0, inDictionary.SkipFixedStrings(6)); // keys and values alternate: never bulk-skipped
    }

    [Theory]
    [MemberData(nameof(Variants.All), MemberType = typeof(Variants))]
    public void Read_StringsOfOneToFourDigitLengths_ValuesAndOffsets(SimdVariant variant)
    {
        int[] lengths = [0, 1, 9, 10, 20, 99, 100, 208, 999, 1000, 1234];
        var text = new System.Text.StringBuilder("l");
        foreach (int n in lengths) text.Append(n).Append(':').Append(new string((char)('a' + n % 26), n));
        text.Append('e');
        var tokens = Tokens(text.ToString(), variant, out var error);
        Assert.Equal(BencodeErrorKind.None, error.Kind);
        Assert.Equal(lengths.Length + 2, tokens.Count);
        for (int i = 0; i < lengths.Length; i++)
        {
            Assert.Equal(BencodeTokenType.String, tokens[i + 1].Type);
            Assert.Equal(new string((char)('a' + lengths[i] % 26), lengths[i]), tokens[i + 1].Value);
        }
    }

    public static TheoryData<string> ValidValues => new()
    {
        "i0e", "i-1e", "0:", "4:spam", "le", "de", "l4:spami42ee", "d3:bar4:spam3:fooi42ee",
        "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe",
        "d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee",
        "l10:abcdefghij123:" + new string('x', 123) + "e",
    };

    [Theory]
    [MemberData(nameof(ValidValues))]
    public void Read_EveryStrictPrefix_EndsInAnError(string value)
    {
        byte[] bytes = Benc.Bytes(value);
        foreach (var variant in SimdSelection.All)
        {
            for (int length = 0; length < bytes.Length; length++)
            {
                var reader = new BencodeReader(bytes.AsSpan(0, length), new BencodeReaderOptions(0, variant));
                while (reader.Read())
                {
                }
                Assert.True(reader.HasError, $"prefix of length {length} of {value} accepted ({variant})");
                Assert.InRange(reader.Error.Offset, 0, length);
            }
        }
    }
}
