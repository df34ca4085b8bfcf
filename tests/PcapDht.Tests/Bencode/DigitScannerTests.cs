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
                data[i] = random.Next(4) == 0 ? (byte)random.Next(256) : (byte)('0' + random.Next(10));
            for (int start = 0; start <= data.Length; start++)
            {
                int max = random.Next(1, 40);
                int expected = ScalarDigitScanner.CountDigits(data, start, max);
                Assert.Equal(expected, Vector128DigitScanner.CountDigits(data, start, max));
                Assert.Equal(expected, Vector256DigitScanner.CountDigits(data, start, max));
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
    public void Choose_UnsetOrUnknown_PicksAnAcceleratedDefault(string? value)
    {
        var chosen = SimdSelection.Choose(value);
        Assert.NotEqual(SimdVariant.Auto, chosen);
        Assert.Equal(SimdSelection.Choose(null), chosen);
    }

    [Fact]
    public void Default_FollowsThisProcessEnvironment()
    {
        Assert.Equal(SimdSelection.Choose(Environment.GetEnvironmentVariable(SimdSelection.EnvironmentVariable)), SimdSelection.Default);
        var reader = new BencodeReader("i1e"u8);
        Assert.Equal(SimdSelection.Default, reader.Simd);
    }
}
