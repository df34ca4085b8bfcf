using PcapDht.Bencode;
using PcapDht.Bencode.Simd;

namespace PcapDht.Tests.Bencode;

public class DigitScannerTests
{
    [Fact]
    public void CountDigits_RandomBuffers_EveryVariantAgreesWithScalar()
    {
        var random = new Random(4242);
        for (int round = 0; round < 3000; round++)
        {
            byte[] data = new byte[random.Next(0, 80)];
            for (int i = 0; i < data.Length; i++)
                data[i] = random.Next(round % 2 == 0 ? 4 : 25) == 0 ? (byte)random.Next(256) : (byte)('0' + random.Next(10));
            for (int start = 0; start <= data.Length; start++)
            {
                int max = random.Next(1, 40);
                int expected = ScalarDigitScanner.ScanDigits(data, start, max, out ulong value);
                Assert.Equal(expected, Vector128DigitScanner.ScanDigits(data, start, max, out ulong v128));
                Assert.Equal(expected, Vector256DigitScanner.ScanDigits(data, start, max, out ulong v256));
                if (expected <= 19)
                {
                    Assert.Equal(value, v128);
                    Assert.Equal(value, v256);
                    Assert.Equal(expected == 0 ? 0UL : ulong.Parse(System.Text.Encoding.ASCII.GetString(data, start, expected)), value);
                }
            }
        }
    }

    [Fact]
    public void CountFixedStrings_RandomPeerLists_EveryVariantAgreesWithScalar()
    {
        var random = new Random(6881);
        string[] entries = ["6:abcdef", "6:123456", "18:0123456789abcdef:x", "5:abcde", "66:", "6:ab", "e", "i1e", "6:\0\0\0\0\0\0"];
        for (int round = 0; round < 4000; round++)
        {
            var text = new System.Text.StringBuilder();
            int n = random.Next(0, 40);
            for (int i = 0; i < n; i++)
                text.Append(random.Next(6) == 0 ? entries[random.Next(entries.Length)] : "6:" + (char)random.Next(256) + "bcdef");
            byte[] data = System.Text.Encoding.Latin1.GetBytes(text.ToString());
            foreach (int length in new[] { 6, 18, 5 })
            {
                for (int start = 0; start < Math.Min(data.Length, 12); start++)
                {
                    int expected = ScalarDigitScanner.CountFixedStrings(data, start, length);
                    Assert.Equal(expected, Vector128DigitScanner.CountFixedStrings(data, start, length));
                    Assert.Equal(expected, Vector256DigitScanner.CountFixedStrings(data, start, length));
                }
            }
        }
    }

    [Theory]
    [InlineData("scalar", SimdVariant.Scalar)]
    [InlineData("v128", SimdVariant.Vector128)]
    [InlineData("V256", SimdVariant.Vector256)]
    [InlineData("vector256", SimdVariant.Vector256)]
    public void Choose_ForcedByEnvironmentValue_UsesThatVariant(string value, SimdVariant expected)
    {
        Assert.Equal(expected, SimdSelection.Choose(value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("avx512")]
    public void Choose_UnsetOrUnknown_PicksTheMeasuredDefault(string? value)
    {
        // Scalar measured fastest on the KRPC sample mix (docs/benchmarks.md).
        Assert.Equal(SimdVariant.Scalar, SimdSelection.Choose(value));
    }

    [Fact]
    public void Default_FollowsThisProcessEnvironment()
    {
        Assert.Equal(SimdSelection.Choose(Environment.GetEnvironmentVariable(SimdSelection.EnvironmentVariable)), SimdSelection.Default);
        var reader = new BencodeReader("i1e"u8);
        Assert.Equal(SimdSelection.Default, reader.Simd);
    }
}
