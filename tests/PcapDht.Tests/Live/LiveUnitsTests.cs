using PcapDht.Live;

namespace PcapDht.Tests.Live;

public class LiveUnitsTests
{
    [Theory]
    [InlineData("5", 5.0)]
    [InlineData("5s", 5.0)]
    [InlineData("250ms", 0.25)]
    [InlineData("10min", 600.0)]
    [InlineData("1.5h", 5400.0)]
    [InlineData("7d", 604800.0)]
    [InlineData(" 2 H ", 7200.0)]
    public void TryParseDuration_Valid_ReturnsSeconds(string text, double seconds)
    {
        Assert.True(LiveUnits.TryParseDuration(text, out var t));
        Assert.Equal(seconds, t.TotalSeconds, 6);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("-5s")]
    [InlineData("5 parsecs")]
    [InlineData("1e9999d")]
    public void TryParseDuration_Invalid_ReturnsFalse(string text) => Assert.False(LiveUnits.TryParseDuration(text, out _));

    [Theory]
    [InlineData("4096", 4096L)]
    [InlineData("64K", 65536L)]
    [InlineData("64M", 67108864L)]
    [InlineData("64MiB", 67108864L)]
    [InlineData("1g", 1073741824L)]
    public void TryParseSize_Valid_ReturnsBytes(string text, long bytes)
    {
        Assert.True(LiveUnits.TryParseSize(text, out var b));
        Assert.Equal(bytes, b);
    }

    [Theory]
    [InlineData("M")]
    [InlineData("12 apples")]
    [InlineData("-1K")]
    public void TryParseSize_Invalid_ReturnsFalse(string text) => Assert.False(LiveUnits.TryParseSize(text, out _));

    [Theory]
    [InlineData("100M", 104857600L, 0.0)]
    [InlineData("1G", 1073741824L, 0.0)]
    [InlineData("10min", 0L, 600.0)]
    [InlineData("1h", 0L, 3600.0)]
    public void TryParseRotate_SizeOrTime(string text, long bytes, double seconds)
    {
        Assert.True(LiveUnits.TryParseRotate(text, out var b, out var t));
        Assert.Equal(bytes, b);
        Assert.Equal(seconds, t.TotalSeconds, 6);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0s")]
    [InlineData("soon")]
    public void TryParseRotate_ZeroOrJunk_ReturnsFalse(string text) => Assert.False(LiveUnits.TryParseRotate(text, out _, out _));

    [Theory]
    [InlineData(0L, 5u, 5L)]
    [InlineData(5L, 7u, 7L)]
    [InlineData(0xFFFF_FFF0L, 3u, 0x1_0000_0003L)]
    [InlineData(0x1_0000_0003L, 10u, 0x1_0000_000AL)]
    public void Widen_32BitPcapCounterAcrossWrap_KeepsCounting(long previous, uint current, long expected)
        => Assert.Equal(expected, LiveSession.Widen(previous, current));
}
