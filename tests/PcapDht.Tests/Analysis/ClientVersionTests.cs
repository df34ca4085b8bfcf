using PcapDht.Analysis;

namespace PcapDht.Tests.Analysis;

public class ClientVersionTests
{
    [Theory]
    [InlineData(new byte[] { (byte)'L', (byte)'T', 0x02, 0x08 }, "LT", "2.0.8")]   // libtorrent 2.0.8 as recorded in samples-pcap
    [InlineData(new byte[] { (byte)'L', (byte)'T', 0x01, 0x2f }, "LT", "1.2.15")]
    [InlineData(new byte[] { (byte)'L', (byte)'T', 0x01, 0x01 }, "LT", "1.1")]     // pre-1.2 {major, minor}
    [InlineData(new byte[] { (byte)'U', (byte)'T', 0x00, 0xb1 }, "UT", "177")]
    public void TryDecode_KnownEncodings_GivesCodeAndVersion(byte[] v, string code, string version)
    {
        Assert.True(ClientVersion.TryDecode(v, out var c, out var ver));
        Assert.Equal(code, c);
        Assert.Equal(version, ver);
    }

    [Theory]
    [InlineData(new byte[] { (byte)'L', (byte)'T', 0x02 })]
    [InlineData(new byte[] { 0x00, (byte)'T', 0x02, 0x08 })]
    public void TryDecode_NotTwoLettersAndTwoBytes_IsRejected(byte[] v)
        => Assert.False(ClientVersion.TryDecode(v, out _, out _));
}
