using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Synth;

namespace PcapDht.Tests.Synth;

public class Bep42Tests
{
    [Theory]
    [InlineData("124.31.75.21", 1)]
    [InlineData("2a00:1000::1234:5678", 0x47)]
    public void ApplyBep42_MakesIdValid_OnlyForThatAddress(string address, int random)
    {
        var ip = IpAddr.Parse(address);
        var id = new byte[20];
        new Random(3).NextBytes(id);
        NodePopulation.ApplyBep42(ip, (byte)random, id);
        Assert.True(Bep42.IsValidNodeId(ip, id));
        Assert.Equal(random, id[19]);
        Assert.False(Bep42.IsValidNodeId(IpAddr.Parse(ip.IsV4 ? "124.31.75.22" : "2a05:d000::1"), id));
    }

    [Fact]
    public void ApplyBep42_MatchesBep42Example()
    {
        // BEP 42 examples table: 124.31.75.21 with rand 1 gives an id starting 5f bf b8..bf.
        var id = new byte[20];
        NodePopulation.ApplyBep42(IpAddr.Parse("124.31.75.21"), 1, id);
        Assert.Equal(0x5f, id[0]);
        Assert.Equal(0xbf, id[1]);
        Assert.Equal(0xb8, id[2] & 0xf8);
    }
}
