using System.Net;
using PcapDht.Anonymize;
using PcapDht.Net;

namespace PcapDht.Tests.Anonymize;

/// <summary>
/// Published Crypto-PAn vectors. Every port that reproduces them uses the same key layout (AES key,
/// then pad) and the same bit order, so passing them means our mappings equal those of CAIDA's,
/// Tenzir's, yacryptopan's and the original implementation's for the same key.
/// </summary>
public class CryptoPanTests
{
    // The key of the original Crypto-PAn distribution's sample (sample.cpp).
    private const string ReferenceKey = "1522178d33a4cf80130a5b1649907d10d8988f837979652762574c2d2a842202";
    // libanon's test key: SHA-1("tes") + SHA-1("ting"), first 32 bytes (libanon test/anon-key.1.out).
    private const string LibanonKey = "d1c056a983786a38ca76a05cda240c7b86d7713693544000a0e6c4dd5b3dabdd";
    // Key bytes 00 01 .. 1f (yacryptopan's and pycryptopan's self-test, and the vectors).
    private const string CountingKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    // yacryptopan contrib/diekmann.
    private const string DiekmannKey = "8009ab3a605435bea0c385bea18485d8b0a1103d6590bdf48c968be5de53836e";

    public static TheoryData<string, string, string> Vectors => new()
    {
        // The original Crypto-PAn distribution: sample_trace_raw.dat -> sample_trace_sanitized.dat
        // (as re-published in the test suites of Yawning/cryptopan cryptopan_test.go and
        // noinkling/node-cryptopan src/test/test_data.ts).
        { ReferenceKey, "128.11.68.132", "135.242.180.132" },
        { ReferenceKey, "129.118.74.4", "134.136.186.123" },
        { ReferenceKey, "130.132.252.244", "133.68.164.234" },
        { ReferenceKey, "141.223.7.43", "141.167.8.160" },
        { ReferenceKey, "141.233.145.108", "141.129.237.235" },
        { ReferenceKey, "152.163.225.39", "151.140.114.167" },
        { ReferenceKey, "156.29.3.236", "147.225.12.42" },
        { ReferenceKey, "165.247.96.84", "162.9.99.234" },
        { ReferenceKey, "166.107.77.190", "160.132.178.185" },
        { ReferenceKey, "192.102.249.13", "252.138.62.131" },
        { ReferenceKey, "192.215.32.125", "252.43.47.189" },
        { ReferenceKey, "192.233.80.103", "252.25.108.8" },
        { ReferenceKey, "192.41.57.43", "252.222.221.184" },
        { ReferenceKey, "193.150.244.223", "253.169.52.216" },
        { ReferenceKey, "195.205.63.100", "255.186.223.5" },
        { ReferenceKey, "198.200.171.101", "249.199.68.213" },
        { ReferenceKey, "198.26.132.101", "249.36.123.202" },
        { ReferenceKey, "198.36.213.5", "249.7.21.132" },
        { ReferenceKey, "198.51.77.238", "249.18.186.254" },
        { ReferenceKey, "199.217.79.101", "248.38.184.213" },
        { ReferenceKey, "202.49.198.20", "245.206.7.234" },
        { ReferenceKey, "203.12.160.252", "244.248.163.4" },
        { ReferenceKey, "204.184.162.189", "243.192.77.90" },
        { ReferenceKey, "204.202.136.230", "243.178.4.198" },
        { ReferenceKey, "204.29.20.4", "243.33.20.123" },
        { ReferenceKey, "205.178.38.67", "242.108.198.51" },
        { ReferenceKey, "205.188.147.153", "242.96.16.101" },
        { ReferenceKey, "205.188.248.25", "242.96.88.27" },
        { ReferenceKey, "205.245.121.43", "242.21.121.163" },
        { ReferenceKey, "207.105.49.5", "241.118.205.138" },
        { ReferenceKey, "207.135.65.238", "241.202.129.222" },
        { ReferenceKey, "207.155.9.214", "241.220.250.22" },
        { ReferenceKey, "207.188.7.45", "241.255.249.220" },
        { ReferenceKey, "207.25.71.27", "241.33.119.156" },
        { ReferenceKey, "207.33.151.131", "241.1.233.131" },
        { ReferenceKey, "208.147.89.59", "227.237.98.191" },
        { ReferenceKey, "208.234.120.210", "227.154.67.17" },
        { ReferenceKey, "208.28.185.184", "227.39.94.90" },
        { ReferenceKey, "208.52.56.122", "227.8.63.165" },
        { ReferenceKey, "209.12.231.7", "226.243.167.8" },
        { ReferenceKey, "209.238.72.3", "226.6.119.243" },
        { ReferenceKey, "209.246.74.109", "226.22.124.76" },
        { ReferenceKey, "209.68.60.238", "226.184.220.233" },
        { ReferenceKey, "209.85.249.6", "226.170.70.6" },
        { ReferenceKey, "212.120.124.31", "228.135.163.231" },
        { ReferenceKey, "212.146.8.236", "228.19.4.234" },
        { ReferenceKey, "212.186.227.154", "228.59.98.98" },
        { ReferenceKey, "212.204.172.118", "228.71.195.169" },
        { ReferenceKey, "212.206.130.201", "228.69.242.193" },
        { ReferenceKey, "216.148.237.145", "235.84.194.111" },
        { ReferenceKey, "216.157.30.252", "235.89.31.26" },
        { ReferenceKey, "216.184.159.48", "235.96.225.78" },
        { ReferenceKey, "216.227.10.221", "235.28.253.36" },
        { ReferenceKey, "216.254.18.172", "235.7.16.162" },
        { ReferenceKey, "216.32.132.250", "235.192.139.38" },
        { ReferenceKey, "216.35.217.178", "235.195.157.81" },
        { ReferenceKey, "24.0.250.221", "100.15.198.226" },
        { ReferenceKey, "24.13.62.231", "100.2.192.247" },
        { ReferenceKey, "24.14.213.138", "100.1.42.141" },
        { ReferenceKey, "24.5.0.80", "100.9.15.210" },
        { ReferenceKey, "24.7.198.88", "100.10.6.25" },
        { ReferenceKey, "24.94.26.44", "100.88.228.35" },
        { ReferenceKey, "38.15.67.68", "64.3.66.187" },
        { ReferenceKey, "4.3.88.225", "124.60.155.63" },
        { ReferenceKey, "63.14.55.111", "95.9.215.7" },
        { ReferenceKey, "63.195.241.44", "95.179.238.44" },
        { ReferenceKey, "63.97.7.140", "95.97.9.123" },
        { ReferenceKey, "64.14.118.196", "0.255.183.58" },
        { ReferenceKey, "64.34.154.117", "0.221.154.117" },
        { ReferenceKey, "64.39.15.238", "0.219.7.41" },
        { ReferenceKey, "10.185.25.118", "117.161.29.118" },
        // UniStuttgart-VISUS/Sappan.CryptoPAn (C#) and IP::Anonymous (Perl), via node-cryptopan test_data.ts.
        { ReferenceKey, "129.69.205.36", "134.182.53.212" },
        { ReferenceKey, "129.69.215.37", "134.182.41.43" },
        { ReferenceKey, "127.0.0.1", "33.0.243.129" },
        { ReferenceKey, "0.0.0.0", "120.255.240.1" },
        { ReferenceKey, "10.0.1.128", "117.15.1.129" },
        { ReferenceKey, "169.254.100.50", "169.251.68.45" },
        { ReferenceKey, "255.255.255.255", "206.120.97.255" },
        // IPv6 with the same key: Yawning/cryptopan cryptopan_test.go and Sappan.CryptoPAn.
        { ReferenceKey, "::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed" },
        { ReferenceKey, "::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef" },
        { ReferenceKey, "::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838" },
        { ReferenceKey, "2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e" },
        { ReferenceKey, "2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c" },
        // schoenw/libanon (C; also wikimedia/analytics-libanon), test data via node-cryptopan test_data.ts.
        { LibanonKey, "1.2.3.4", "236.157.211.10" },
        { LibanonKey, "1.2.3.3", "236.157.211.12" },
        { LibanonKey, "0.0.0.0", "237.113.211.225" },
        { LibanonKey, "1.1.1.1", "236.159.20.242" },
        { LibanonKey, "255.255.255.254", "0.0.127.6" },
        { LibanonKey, "255.255.255.255", "0.0.127.7" },
        { LibanonKey, "2.6.8.15", "238.6.10.23" },
        { LibanonKey, "2.6.3.83", "238.6.7.179" },
        { LibanonKey, "6.3.11.123", "233.3.231.131" },
        { LibanonKey, "112.28.3.2", "136.126.15.210" },
        { LibanonKey, "220.201.45.30", "61.17.221.254" },
        { LibanonKey, "31d6:1be5:41bd:663c:3e9e:1005:1eec:6f01", "cc29:fb1a:b9fd:613c:e68:a03b:1efd:961f" },
        { LibanonKey, "5dc9:b9a:5699:45e4:3c33:2f50:a4d:2fca", "a3cf:3bda:5768:b87b:ac8c:cc56:a43:5235" },
        { LibanonKey, "2d70:77b8:119d:918:4165:78ae:2f24:1d00", "dcce:77ba:d5ad:16df:c119:68b2:2f0a:2518" },
        { LibanonKey, "fffe:638:709:861::3", "1:ce05:ee9:971:7f1f:1f8:ec7:c05b" },
        { LibanonKey, "ffff:638:709:861::1", "0:e9f8:3928:f76e:3f:3fc6:135:ffa6" },
        { LibanonKey, "2001:638:709:861::1", "d0f1:f603:8e9:98c:3f5f:1f9:ffcf:bf9f" },
        { LibanonKey, "2001:638:709:861::4", "d0f1:f603:8e9:98c:3f5f:1f9:ffcf:bf98" },
        { LibanonKey, "2001:638:709:4::1", "d0f1:f603:8e9:6cb:803f:3e39:f134:3fbe" },
        { LibanonKey, "2001:638:709:4::4", "d0f1:f603:8e9:6cb:803f:3e39:f134:3fbb" },
        // Key 00..1f: yacryptopan's self-test (the two vectors of issue 18), IP::Anonymous (Perl),
        // pwood/cryptopan (Ruby).
        { CountingKey, "192.0.2.1", "2.90.93.17" },
        { CountingKey, "2001:db8::1", "dd92:2c44:3fc0:ff1e:7ff9:c7f0:8180:7e00" },
        { CountingKey, "0.0.0.0", "254.152.65.220" },
        { CountingKey, "10.0.1.128", "246.35.190.47" },
        { CountingKey, "127.0.0.1", "168.227.160.61" },
        { CountingKey, "165.254.100.50", "90.1.157.13" },
        { CountingKey, "255.255.255.255", "56.0.15.254" },
        { CountingKey, "148.88.132.153", "106.38.130.153" },
        { CountingKey, "148.88.132.64", "106.38.130.64" },
        { CountingKey, "148.88.133.200", "106.38.131.223" },
        // yacryptopan contrib/diekmann, via node-cryptopan test_data.ts.
        { DiekmannKey, "123.123.123.123", "117.8.135.123" },
        { DiekmannKey, "131.159.1.42", "162.112.255.43" },
        { DiekmannKey, "8.8.8.8", "55.21.62.136" },
        { DiekmannKey, "255.8.1.100", "240.232.0.156" },
        { DiekmannKey, "2a02:db8:85a3::8a2e:370:7344", "1482:f447:75b3:f1f9:fbdf:622e:34f:ff7b" },
        { DiekmannKey, "2a02:0db8:85a3:08d3:1319:8a2e:0370:7344", "1482:f447:75b3:f904:c1d9:ba2e:489:1346" },
        { DiekmannKey, "2001:b8:a3:00:00:2e:70:44", "1f18:b37b:1cc3:8118:41f:9fd1:f875:fab8" },
        { DiekmannKey, "fc00::", "f33c:8ca3:ef0f:e019:e7ff:f1e3:f91f:f800" },
        // yacryptopan's README example (key "32-char-str-for-AES-key-and-pad.").
        { Convert.ToHexString("32-char-str-for-AES-key-and-pad."u8), "192.0.2.1", "192.0.125.244" },
        { Convert.ToHexString("32-char-str-for-AES-key-and-pad."u8), "2001:db8::1", "27fe:8bc7:fee:1e:1e1f:f0fe:f0e1:83fd" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Anonymize_PublishedVector_Matches(string keyHex, string original, string expected)
    {
        var key = AnonymizationKey.Parse(keyHex);
        using var cryptoPan = key.CreateCryptoPan();
        var input = IPAddress.Parse(original);
        IPAddress actual;
        if (input.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            actual = IpAddr.FromV4(cryptoPan.AnonymizeV4(IpAddr.FromIPAddress(input).V4)).ToIPAddress();
        else
            actual = new IpAddr(cryptoPan.AnonymizeV6(IpAddr.FromIPAddress(input).Value)).ToIPAddress();
        Assert.Equal(IPAddress.Parse(expected), actual);

        // The reusable mapper (cache and IpAddr form) gives the same answer, twice (miss, then hit).
        using var mapper = new AddressAnonymizer(key);
        Assert.Equal(IPAddress.Parse(expected), mapper.Map(IpAddr.Parse(original)).ToIPAddress());
        Assert.Equal(IPAddress.Parse(expected), mapper.Map(IpAddr.Parse(original)).ToIPAddress());
        Assert.Equal(1, mapper.Computed);
    }

    [Fact]
    public void AnonymizeV6_IPv4MappedAddressAs128Bits_MatchesDiekmannVector()
    {
        // The raw 128-bit mapping of ::ffff:192.0.2.128 (yacryptopan contrib/diekmann). The mapper
        // instead maps it as IPv4 (see the next test); both are what they claim to be.
        using var cryptoPan = AnonymizationKey.Parse(DiekmannKey).CreateCryptoPan();
        var actual = new IpAddr(cryptoPan.AnonymizeV6(IpAddr.Parse("::ffff:192.0.2.128").Value));
        // IpAddr.Parse folds ::ffff:a.b.c.d into its IPv4 form; the 128-bit value is the same.
        Assert.Equal(IPAddress.Parse("3883:b073:ff0f:fff8:203f:7c8:617:fd01"), actual.ToIPAddress());
    }

    [Fact]
    public void Map_IPv4MappedIPv6_MapsLikeTheIPv4AddressAndKeepsThePrefix()
    {
        using var mapper = new AddressAnonymizer(AnonymizationKey.Parse(CountingKey));
        Span<byte> v6 = stackalloc byte[16];
        v6[10] = 0xff;
        v6[11] = 0xff;
        new byte[] { 192, 0, 2, 1 }.CopyTo(v6[12..]);
        mapper.MapV6InPlace(v6);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 2, 90, 93, 17 }, v6.ToArray());
        Span<byte> v4 = [192, 0, 2, 1];
        mapper.MapV4InPlace(v4);
        Assert.Equal(new byte[] { 2, 90, 93, 17 }, v4.ToArray());
    }

    [Fact]
    public void Map_RandomPairs_PreservesExactlyTheCommonPrefix()
    {
        using var mapper = new AddressAnonymizer(AnonymizationKey.Parse(CountingKey));
        var rng = new Random(18);
        for (int i = 0; i < 2000; i++)
        {
            UInt128 a = new((ulong)rng.NextInt64(), (ulong)rng.NextInt64());
            int common = rng.Next(0, 128);
            // b shares exactly `common` leading bits with a.
            UInt128 flip = UInt128.One << (127 - common);
            UInt128 low = common == 127 ? UInt128.Zero : new UInt128((ulong)rng.NextInt64(), (ulong)rng.NextInt64()) & (flip - 1);
            UInt128 b = ((a ^ flip) & ~(flip - 1)) | low;
            if (new IpAddr(a).IsV4 || new IpAddr(b).IsV4) continue;
            Assert.Equal((UInt128)common, UInt128.LeadingZeroCount(a ^ b));
            Assert.Equal((UInt128)common, UInt128.LeadingZeroCount(mapper.Map(a) ^ mapper.Map(b)));

            uint x = (uint)rng.NextInt64(), y = (uint)rng.NextInt64();
            Assert.Equal(uint.LeadingZeroCount(x ^ y), uint.LeadingZeroCount(mapper.MapV4(x) ^ mapper.MapV4(y)));
        }
    }

    [Fact]
    public void Parse_BadKeys_OneLineErrors()
    {
        Assert.Contains("64 hex digits", Assert.Throws<AnonymizationKeyException>(() => AnonymizationKey.Parse("00ff")).Message);
        Assert.Contains("not a hex digit", Assert.Throws<AnonymizationKeyException>(() => AnonymizationKey.Parse(new string('g', 64))).Message);
        Assert.Equal(CountingKey, Convert.ToHexStringLower(AnonymizationKey.Parse("  " + CountingKey.ToUpperInvariant() + "\n").Bytes));
    }
}
