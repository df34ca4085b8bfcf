using PcapDht.Net;
using PcapDht.Synth;

namespace PcapDht.Tests.Synth;

public class Bep42Tests
{
    // The examples table of BEP 42 (IPv4): ip, rand, first three bytes of a conforming id (the third masked to 5 bits).
    [Theory]
    [InlineData("124.31.75.21", 1, 0x5fbfbf)]
    [InlineData("21.75.31.124", 86, 0x5a3ce9)]
    [InlineData("65.23.51.170", 22, 0xa5d432)]
    [InlineData("84.124.73.14", 65, 0x1b0321)]
    [InlineData("43.213.53.83", 90, 0xe56f6c)]
    public void Prefix_MatchesBep42Examples(string ip, int rand, int expected)
    {
        uint crc = Bep42.Prefix(IpAddr.Parse(ip), (byte)rand);
        Assert.Equal((uint)expected >> 3, crc >> 11);
    }

    [Fact]
    public void Apply_ProducesConformingId_AndConformsRejectsOtherAddress()
    {
        var ip = IpAddr.Parse("2a00:1000::1234:5678");
        var id = new byte[20];
        new Random(3).NextBytes(id);
        Bep42.Apply(ip, 0x47, id);
        Assert.True(Bep42.Conforms(ip, id));
        Assert.Equal(0x47, id[19]);
        Assert.False(Bep42.Conforms(IpAddr.Parse("2a05:d000::1"), id));
    }
}
