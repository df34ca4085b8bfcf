using PcapDht.Krpc;
using PcapDht.Net;

namespace PcapDht.Tests.Krpc;

public class Bep42Tests
{
    // The test vectors published in BEP 42 ("IP, rand, example node ID").
    public static TheoryData<string, string> Vectors => new()
    {
        { "124.31.75.21", "5fbfbff10c5d6a4ec8a88e4c6ab4c28b95eee401" },
        { "21.75.31.124", "5a3ce9c14e7a08645677bbd1cfe7d8f956d53256" },
        { "65.23.51.170", "a5d43220bc8f112a3d426c84764f8c2a1150e616" },
        { "84.124.73.14", "1b0321dd1bb1fe518101ceef99462b947a01ff41" },
        { "43.213.53.83", "e56f6cbf5b7c4be0237986d5243b87aa6d51305a" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void IsValidNodeId_PublishedVectors_Valid(string ip, string idHex)
    {
        byte[] id = Convert.FromHexString(idHex);
        var address = IpAddr.Parse(ip);
        Assert.True(Bep42.IsValidNodeId(address, id));

        // Only the top 21 bits are bound to the address: the next 3 bits are free.
        id[2] ^= 0x07;
        Assert.True(Bep42.IsValidNodeId(address, id));
        id[2] ^= 0x07;

        for (int bit = 0; bit < 21; bit++)
        {
            byte[] flipped = (byte[])id.Clone();
            flipped[bit / 8] ^= (byte)(0x80 >> (bit % 8));
            Assert.False(Bep42.IsValidNodeId(address, flipped), $"bit {bit} flipped still valid");
        }
        // The random byte selects the CRC input: another rand, another prefix.
        byte[] otherRandom = (byte[])id.Clone();
        otherRandom[19] ^= 0x01;
        Assert.False(Bep42.IsValidNodeId(address, otherRandom));
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("192.168.1.1")]
    [InlineData("172.20.0.1")]
    [InlineData("127.0.0.1")]
    [InlineData("169.254.3.4")]
    [InlineData("::1")]
    [InlineData("fd00::1")]
    [InlineData("fe80::1")]
    public void IsValidNodeId_LocalAddresses_Exempt(string ip)
    {
        Assert.True(Bep42.IsValidNodeId(IpAddr.Parse(ip), new byte[20]));
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("2001:4860:4860::8888")]
    public void IsValidNodeId_PublicAddressWithZeroId_Invalid(string ip)
    {
        Assert.False(Bep42.IsValidNodeId(IpAddr.Parse(ip), new byte[20]));
        Assert.False(Bep42.IsValidNodeId(IpAddr.Parse(ip), new byte[19]));
    }

    [Fact]
    public void ExpectedPrefix_Ipv6_MatchesIndependentBitwiseCrc32c()
    {
        var address = IpAddr.Parse("2001:4860:4860::8888");
        byte[] masked = Convert.FromHexString("2001486048600000");
        ulong mask = 0x0103070f1f3f7fff;
        for (int i = 0; i < 8; i++)
            masked[i] &= (byte)(mask >> (56 - 8 * i));
        masked[0] |= 5 << 5;
        uint expected = BitwiseCrc32C(masked);
        Assert.Equal(expected, Bep42.ExpectedPrefix(address, 5));

        byte[] id = new byte[20];
        id[0] = (byte)(expected >> 24);
        id[1] = (byte)(expected >> 16);
        id[2] = (byte)(expected >> 8);
        id[19] = 5;
        Assert.True(Bep42.IsValidNodeId(address, id));
    }

    private static uint BitwiseCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xffffffff;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82f63b78 : crc >> 1;
        }
        return ~crc;
    }
}
