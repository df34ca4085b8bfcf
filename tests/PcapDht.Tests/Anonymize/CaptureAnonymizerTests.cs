using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using PcapDht.Anonymize;
using PcapDht.Capture;
using PcapDht.Net;
using PcapDht.Tests.Capture;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Store;

namespace PcapDht.Tests.Anonymize;

/// <summary>
/// End to end on real captures: an anonymized capture ingests to the same messages (type, method,
/// list sizes, lengths, flags, frame numbers), malformed rows and counts as the original; every
/// address in it is the key's mapping of the original one; no original address is left in its bytes;
/// and checksums that were right stay right.
/// </summary>
public class CaptureAnonymizerTests(CaptureAnonymizerFixture fixture) : IClassFixture<CaptureAnonymizerFixture>
{
    public static TheoryData<string> SampleNames => new()
    {
        "dht-loopback.pcap", "dht-loopback-ns.pcap", "dht-loopback.pcapng.zst", "dht-any-sll2.pcap", "synthetic-dht.pcap",
    };

    private CaptureAnonymizerFixture.Sample Sample(string name) => fixture.Samples.Single(s => s.Name == name);

    private IEnumerable<CaptureAnonymizerFixture.Sample> All => fixture.Samples;

    [Fact]
    public void Fixture_IncludesTheThirdPartyCapturesWhenPresent()
    {
        // The shared captures are part of the comparison whenever the folder exists (CI has it).
        Assert.Equal(fixture.HasSharedCaptures ? 10 : 5, fixture.Samples.Count);
    }

    [Fact]
    public void Ingest_AnonymizedCaptures_SameMessagesFrameByFrame()
    {
        const string columns = "frame_no, y, method, nodes_count, nodes6_count, values_count, samples_count, length, flags, " +
            "src_port, dst_port, external_port, port, read_only, hex(node_id), hex(tx_id), hex(token), rtt_us";
        foreach (var s in All)
        {
            long o = CaptureAnonymizerFixture.CaptureId(fixture.Original, s.Original);
            long a = CaptureAnonymizerFixture.CaptureId(fixture.Anonymized, s.Anonymized);
            var expected = CaptureAnonymizerFixture.Lines(fixture.Original, $"SELECT {columns} FROM messages WHERE capture_id = {o} ORDER BY ALL");
            var actual = CaptureAnonymizerFixture.Lines(fixture.Anonymized, $"SELECT {columns} FROM messages WHERE capture_id = {a} ORDER BY ALL");
            Assert.True(expected.Count > 0 || s.Name.StartsWith("happy-shark"), $"{s.Name}: no messages in the original");
            Assert.Equal(expected, actual);

            const string malformed = "frame_no, reason, byte_offset, src_port, dst_port, octet_length(payload)";
            Assert.Equal(
                CaptureAnonymizerFixture.Lines(fixture.Original, $"SELECT {malformed} FROM malformed_krpc WHERE capture_id = {o} ORDER BY ALL"),
                CaptureAnonymizerFixture.Lines(fixture.Anonymized, $"SELECT {malformed} FROM malformed_krpc WHERE capture_id = {a} ORDER BY ALL"));

            const string counts = "frames, krpc_messages, malformed_krpc, queries, responses, errors, node_sightings, peer_sightings, first_ts_ns, last_ts_ns";
            Assert.Equal(
                CaptureAnonymizerFixture.Lines(fixture.Original, $"SELECT {counts} FROM captures WHERE capture_id = {o}"),
                CaptureAnonymizerFixture.Lines(fixture.Anonymized, $"SELECT {counts} FROM captures WHERE capture_id = {a}"));
        }
    }

    [Fact]
    public void Ingest_AnonymizedCaptures_SameCountsPerTypeMethodAndListSize()
    {
        // The done-when of issue 18 as one aggregate over every capture.
        const string sql = "SELECT y, method, nodes_count, nodes6_count, values_count, count(*) FROM messages GROUP BY ALL ORDER BY ALL";
        var expected = CaptureAnonymizerFixture.Lines(fixture.Original, sql);
        Assert.True(expected.Count > 20);
        Assert.Equal(expected, CaptureAnonymizerFixture.Lines(fixture.Anonymized, sql));
    }

    [Fact]
    public void Ingest_AnonymizedCaptures_EveryAddressIsTheKeysMappingOfTheOriginal()
    {
        using var mapper = new AddressAnonymizer(fixture.Key);
        // Each query's address columns (128-bit numbers, as text) are the ones whose name ends in _num.
        var queries = new[]
        {
            "SELECT frame_no, src_ip_num::VARCHAR AS a_num, dst_ip_num::VARCHAR AS b_num, external_ip_num::VARCHAR AS c_num FROM messages WHERE capture_id = {0}",
            "SELECT frame_no, ip_num::VARCHAR AS a_num, reporter_ip_num::VARCHAR AS b_num, source, port FROM node_sightings WHERE capture_id = {0}",
            "SELECT frame_no, ip_num::VARCHAR AS a_num, reporter_ip_num::VARCHAR AS b_num, source, port FROM peer_sightings WHERE capture_id = {0}",
            "SELECT frame_no, src_ip_num::VARCHAR AS a_num, dst_ip_num::VARCHAR AS b_num FROM malformed_krpc WHERE capture_id = {0}",
        };
        long compared = 0;
        foreach (var s in All)
        {
            long o = CaptureAnonymizerFixture.CaptureId(fixture.Original, s.Original);
            long a = CaptureAnonymizerFixture.CaptureId(fixture.Anonymized, s.Anonymized);
            foreach (var q in queries)
            {
                var expected = Rows(fixture.Original, string.Format(CultureInfo.InvariantCulture, q, o), mapper);
                var actual = Rows(fixture.Anonymized, string.Format(CultureInfo.InvariantCulture, q, a), null);
                Assert.Equal(expected, actual);
                compared += expected.Count;
            }
        }
        Assert.True(compared > 100_000, $"only {compared} rows compared");
    }

    /// <summary>Rows as sorted text lines, with the _num columns mapped when a mapper is given.</summary>
    private static List<string> Rows(DuckDB.NET.Data.DuckDBConnection c, string sql, AddressAnonymizer? mapper)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var lines = new List<string>();
        var fields = new string[r.FieldCount];
        while (r.Read())
        {
            for (int i = 0; i < fields.Length; i++)
            {
                string text = r.IsDBNull(i) ? "∅" : Convert.ToString(r.GetValue(i), CultureInfo.InvariantCulture)!;
                if (mapper != null && !r.IsDBNull(i) && r.GetName(i).EndsWith("_num", StringComparison.Ordinal))
                    text = mapper.Map(UInt128.Parse(text, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
                fields[i] = text;
            }
            lines.Add(string.Join('\t', fields));
        }
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    [Fact]
    public void AnonymizedBytes_HoldNoOriginalAddress()
    {
        foreach (var s in All)
        {
            var addresses = OriginalAddresses(s);
            // The all-zero address is in every capture's padding and empty fields; it says nothing.
            addresses.RemoveWhere(a => a.Equals(IPAddress.Any) || a.Equals(IPAddress.IPv6Any));
            Assert.NotEmpty(addresses);
            var v4 = addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
                .Select(a => BinaryPrimitives.ReadUInt32BigEndian(a.GetAddressBytes())).ToHashSet();
            var v6 = addresses.Where(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6)
                .Select(a => BinaryPrimitives.ReadUInt128BigEndian(a.GetAddressBytes())).ToHashSet();

            // Every byte offset of every frame is tried, headers and payloads alike. An original address
            // found in bytes the rewrite left as they were is a leak. One found where the rewrite wrote
            // new bytes (say the tail of one mapped address and the head of the next) is a coincidence of
            // pseudo-random output, not a leak: it is counted, and must stay rare.
            long leaks = 0, coincidences = 0;
            string firstLeak = "";
            using var original = CaptureReader.Open(s.Original);
            using var anonymized = CaptureReader.Open(s.Anonymized);
            while (anonymized.TryRead(out var a))
            {
                Assert.True(original.TryRead(out var o));
                var bytes = a.Data;
                for (int i = 0; i + 4 <= bytes.Length; i++)
                {
                    bool hit = v4.Contains(BinaryPrimitives.ReadUInt32BigEndian(bytes[i..]))
                        || (i + 16 <= bytes.Length && v6.Contains(BinaryPrimitives.ReadUInt128BigEndian(bytes[i..])));
                    if (!hit) continue;
                    int length = i + 16 <= bytes.Length && v6.Contains(BinaryPrimitives.ReadUInt128BigEndian(bytes[i..])) ? 16 : 4;
                    if (o.Data.Slice(i, length).SequenceEqual(bytes.Slice(i, length)))
                    {
                        if (leaks++ == 0) firstLeak = $"frame {a.Number} byte {i}: {Convert.ToHexString(bytes.Slice(i, length))}";
                    }
                    else
                    {
                        coincidences++;
                    }
                }
            }
            Assert.True(leaks == 0, $"{s.Name}: {leaks} original addresses left in place, first at {firstLeak}");
            // Chance alone: about (addresses) x (bytes written) / 2^32 for IPv4.
            Assert.True(coincidences <= 3, $"{s.Name}: {coincidences} coincidences");

            // Not vacuous: the mapped addresses are there instead.
            byte[] file = File.ReadAllBytes(s.Anonymized);
            using var mapper = new AddressAnonymizer(fixture.Key);
            var first = addresses.First(a => !a.IsIPv4MappedToIPv6);
            var mapped = mapper.Map(IpAddr.FromIPAddress(first)).ToIPAddress();
            Assert.True(file.AsSpan().IndexOf(mapped.GetAddressBytes()) >= 0, $"{s.Name}: {first} mapped to {mapped} is not in the output");
        }
    }

    /// <summary>
    /// Every address of the original capture: every IP header tshark dissects (tunnelled and
    /// ICMP-quoted ones included, loopback and private ranges included), ARP, and every address the
    /// original ingest found in KRPC payloads.
    /// </summary>
    private HashSet<IPAddress> OriginalAddresses(CaptureAnonymizerFixture.Sample s)
    {
        var set = new HashSet<IPAddress>();
        if (CaptureTestFiles.HasTool("tshark"))
        {
            string plain = s.Original;
            if (s.Original.EndsWith(".zst"))
            {
                // tshark reads zstd only in newer builds: give it the plain capture.
                plain = fixture.TempPath("plain-" + s.Name[..^4]);
                using var reader = CaptureReader.Open(s.Original);
                using var output = File.Create(plain);
                var writer = CaptureFileWriter.PcapNg(output);
                while (reader.TryRead(out var f)) writer.Write(f.TimestampNs, f.LinkType, f.OriginalLength, f.Data);
            }
            var text = CaptureTestFiles.Run("tshark", "-r", plain, "-T", "fields", "-e", "ip.src", "-e", "ip.dst",
                "-e", "ipv6.src", "-e", "ipv6.dst", "-e", "arp.src.proto_ipv4", "-e", "arp.dst.proto_ipv4");
            foreach (var field in text.Split(['\t', '\n', ','], StringSplitOptions.RemoveEmptyEntries))
                set.Add(IPAddress.Parse(field));
        }
        long id = CaptureAnonymizerFixture.CaptureId(fixture.Original, s.Original);
        foreach (var sql in new[]
        {
            $"SELECT src_ip FROM messages WHERE capture_id = {id} UNION SELECT dst_ip FROM messages WHERE capture_id = {id} UNION SELECT external_ip FROM messages WHERE capture_id = {id}",
            $"SELECT ip FROM node_sightings WHERE capture_id = {id} UNION SELECT ip FROM peer_sightings WHERE capture_id = {id}",
            $"SELECT src_ip FROM malformed_krpc WHERE capture_id = {id} UNION SELECT dst_ip FROM malformed_krpc WHERE capture_id = {id}",
        })
        {
            foreach (var row in Sql.Rows(fixture.Original, sql))
                if (row[0] is string ip) set.Add(IPAddress.Parse(ip));
        }
        return set;
    }

    [Fact]
    public void Checksums_RightStayRight_WrongStayWrong()
    {
        if (!CaptureTestFiles.HasTool("tshark")) throw new InvalidOperationException("tshark is required (scripts/install-deps.sh installs it)");
        foreach (var name in new[] { "dht-loopback.pcap", "dht-any-sll2.pcap", "synthetic-dht.pcap" })
        {
            var s = Sample(name);
            var before = ChecksumStatus(s.Original);
            var after = ChecksumStatus(s.Anonymized);
            // Loopback captures hold datagrams with offloaded (unfinished) checksums: they must stay
            // "bad" by the same amount, and every good one stay good. Cut payloads cannot be verified.
            Assert.Equal(before.GetValueOrDefault("udp bad"), after.GetValueOrDefault("udp bad"));
            Assert.Equal(before.GetValueOrDefault("udp good"), after.GetValueOrDefault("udp good") + after.GetValueOrDefault("udp unverified"));
            Assert.Equal(s.Counters.OtherPayloadsCut, after.GetValueOrDefault("udp unverified"));
            Assert.Equal(before.GetValueOrDefault("ip good"), after.GetValueOrDefault("ip good"));
            Assert.Equal(0, after.GetValueOrDefault("ip bad"));
            Assert.True(before.GetValueOrDefault("udp good") > 0);
        }
    }

    private static Dictionary<string, int> ChecksumStatus(string path)
    {
        var text = CaptureTestFiles.Run("tshark", "-r", path, "-o", "ip.defragment:TRUE", "-o", "ipv6.defragment:TRUE",
            "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-T", "fields", "-e", "udp.checksum.status", "-e", "ip.checksum.status");
        var counts = new Dictionary<string, int>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split('\t');
            Count("udp", parts[0].Split(',')[0]);
            if (parts.Length > 1) Count("ip", parts[1].Split(',')[0]);
        }
        return counts;

        void Count(string layer, string status)
        {
            string? word = status switch { "0" => "bad", "1" => "good", "2" => "unverified", _ => null };
            if (word != null) counts[$"{layer} {word}"] = counts.GetValueOrDefault($"{layer} {word}") + 1;
        }
    }

    [Theory]
    [MemberData(nameof(SampleNames))]
    public void Output_SameFramesTimestampsAndLengths_InTheInputsContainer(string name)
    {
        var s = Sample(name);
        using var original = CaptureReader.Open(s.Original);
        using var anonymized = CaptureReader.Open(s.Anonymized);
        Assert.Equal(original.Format == CaptureFormat.PcapNg, anonymized.Format == CaptureFormat.PcapNg);
        Assert.Equal(original.Format == CaptureFormat.PcapNanosecond, anonymized.Format == CaptureFormat.PcapNanosecond);
        long cut = 0;
        while (original.TryRead(out var o))
        {
            Assert.True(anonymized.TryRead(out var a), $"frame {o.Number} missing");
            Assert.Equal((o.Number, o.TimestampNs, o.LinkType, o.OriginalLength), (a.Number, a.TimestampNs, a.LinkType, a.OriginalLength));
            if (a.Data.Length < o.Data.Length) cut++;
            else Assert.Equal(o.Data.Length, a.Data.Length);
        }
        Assert.False(anonymized.TryRead(out _));
        Assert.Null(anonymized.Damage);
        Assert.Equal(s.Counters.FramesCut, cut);
        Assert.Equal(s.Counters.FramesRead, s.Counters.FramesWritten);
    }

    [Fact]
    public void Counters_SyntheticCapture_NonKrpcPayloadsCutToTheirFirstBytes()
    {
        var s = Sample("synthetic-dht.pcap");
        // synthetic-dht.truth.json: uTP, DNS and other noise datagrams are the captures' not_krpc.
        long notKrpc = Sql.Long(fixture.Original, $"SELECT not_krpc FROM captures WHERE capture_id = {CaptureAnonymizerFixture.CaptureId(fixture.Original, s.Original)}");
        Assert.True(notKrpc > 100);
        Assert.Equal(notKrpc, s.Counters.OtherPayloadsCut);
        Assert.Equal(0, Sql.Long(fixture.Anonymized, $"SELECT not_krpc FROM captures WHERE capture_id = {CaptureAnonymizerFixture.CaptureId(fixture.Anonymized, s.Anonymized)}"));
        Assert.True(s.Counters.FragmentedDatagramsRewritten > 0);
        Assert.Equal(0, s.Counters.FragmentedDatagramsGivenUp);

        var loopback = Sample("dht-loopback.pcap");
        // README of samples-pcap: 56 IPv4 and 30 IPv6 fragmented datagrams, all put together and rewritten.
        Assert.Equal(86, loopback.Counters.FragmentedDatagramsRewritten);
        Assert.Equal(0, loopback.Counters.FramesCut);
    }

    [Fact]
    public void Cli_AddressCommandAndCaptureAgree_CompressedInAndOut()
    {
        var keyFile = fixture.TempPath("cli.key");
        File.WriteAllText(keyFile, CaptureAnonymizerFixture.KeyHex + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        string input = Path.Combine(CaptureTestFiles.RepoRoot, "samples-pcap", "dht-loopback.pcapng.zst");
        string output = fixture.TempPath("cli-out.pcapng.zst");
        var run = CliRunner.Run(["anonymize", input, output, "--key", keyFile]);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("wrote 7098 frames", run.Stdout);
        Assert.Equal("", run.Stderr);

        // The compressed output is zstd around pcapng, with the same frames as the library's output.
        using (var reader = CaptureReader.Open(output))
        using (var library = CaptureReader.Open(Sample("dht-loopback.pcapng.zst").Anonymized))
        {
            Assert.Equal(CaptureCompression.Zstd, reader.Compression);
            Assert.Equal(CaptureFormat.PcapNg, reader.Format);
            while (library.TryRead(out var l))
            {
                Assert.True(reader.TryRead(out var r));
                Assert.True(l.Data.SequenceEqual(r.Data), $"frame {l.Number} differs");
            }
            Assert.False(reader.TryRead(out _));
        }

        // The node 127.0.1.1 and fd00:0:0:1::1 (samples-pcap/README.md) as the address command maps them
        // are the senders the anonymized capture shows.
        var addresses = CliRunner.Run(["anonymize", "address", "127.0.1.1", "fd00:0:0:1::1", "--key", keyFile]);
        Assert.Equal(0, addresses.ExitCode);
        var lines = addresses.Stdout.Trim().Split('\n').Select(l => l.Split('\t')).ToList();
        Assert.Equal(["127.0.1.1", "fd00:0:0:1::1"], lines.Select(l => l[0]));
        long id = CaptureAnonymizerFixture.CaptureId(fixture.Anonymized, Sample("dht-loopback.pcap").Anonymized);
        foreach (var l in lines)
        {
            Assert.NotEqual(l[0], l[1]);
            Assert.True(Sql.Long(fixture.Anonymized, $"SELECT count(*) FROM messages WHERE capture_id = {id} AND src_ip = '{l[1]}'") > 10, $"{l[1]} not a sender");
            Assert.Equal(0, Sql.Long(fixture.Anonymized, $"SELECT count(*) FROM messages WHERE src_ip = '{l[0]}'"));
        }
    }
}
