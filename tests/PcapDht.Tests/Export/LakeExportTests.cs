using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DuckDB.NET.Data;
using PcapDht.Analysis;
using PcapDht.Anonymize;
using PcapDht.Export;
using PcapDht.Krpc;
using PcapDht.Net;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Export;

/// <summary>What export writes, how it grows, what it refuses, what a crash leaves, and what other engines read.</summary>
[Collection(LakeFixture.Collection)]
public sealed class LakeExportTests(LakeFixture lake)
{
    [Fact]
    public void Export_WritesHivePartitionsWithTheDocumentedTypes()
    {
        Assert.Equal(2, lake.AlphaExport.Captures.Count);
        Assert.True(lake.AlphaExport.Rows["node_sightings"] > 0);
        string day = Directory.EnumerateDirectories(Path.Combine(lake.Lake, "node_sightings", "sensor=alpha")).First();
        Assert.Matches(@"day=\d{4}-\d{2}-\d{2}$", day);
        Assert.True(File.Exists(Path.Combine(lake.Lake, LakeLayout.LakeFile)));
        Assert.Single(Directory.EnumerateFiles(Path.Combine(lake.Lake, "captures", "sensor=beta"), "*.parquet"));
        using var db = new DuckDBConnection("Data Source=:memory:");
        db.Open();
        string file = Path.Combine(lake.Lake, lake.AlphaExport.Captures.Count > 0 ? "messages" : "", "sensor=alpha", "**", "*.parquet");
        var schema = new Dictionary<string, (string Physical, string? Logical)>();
        using (var cmd = db.CreateCommand())
        {
            cmd.CommandText = $"SELECT name, type, coalesce(logical_type, converted_type) FROM parquet_schema('{file}')";
            using var r = cmd.ExecuteReader();
            while (r.Read()) schema[r.GetString(0)] = (r.IsDBNull(1) ? "" : r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2));
        }
        Assert.Equal("INT64", schema["src_ip_num_hi"].Physical);
        Assert.Equal("INT64", schema["src_ip_num_lo"].Physical);
        Assert.DoesNotContain("src_ip_num", schema.Keys);
        Assert.Equal("BYTE_ARRAY", schema["node_id"].Physical);
        Assert.Equal("BYTE_ARRAY", schema["src_ip"].Physical);
        Assert.Contains("isAdjustedToUTC=1", schema["ts"].Logical);
        Assert.Contains("MICROS", schema["ts"].Logical);
        Assert.Contains("asn", schema.Keys);
        Assert.DoesNotContain("day", schema.Keys); // the partition is in the path only
        // The halves order like the 128-bit numbers, IPv6 above IPv4 and ULA (fc00::/7) above global addresses.
        using var cmd2 = db.CreateCommand();
        cmd2.CommandText = $"""
            SELECT {LakeColumns.Hi("a")}, {LakeColumns.Lo("a")}, {LakeColumns.Join(LakeColumns.Hi("a"), LakeColumns.Lo("a"))} = a
            FROM (VALUES ('{IpAddr.Parse("10.0.0.1").Value}'::UHUGEINT), ('{IpAddr.Parse("2001:db8::1").Value}'::UHUGEINT),
                         ('{IpAddr.Parse("2001:db8::8000:0:0:1").Value}'::UHUGEINT), ('{IpAddr.Parse("fd00::1").Value}'::UHUGEINT)) t(a)
            ORDER BY 1, 2
            """;
        using var r2 = cmd2.ExecuteReader();
        var order = new List<long>();
        while (r2.Read())
        {
            Assert.True(r2.GetBoolean(2));
            order.Add(r2.GetInt64(0));
        }
        Assert.Equal(4, order.Count);
        Assert.True(order[0] < order[1] && order[1] == order[2] && order[2] < order[3]);
    }

    [Fact]
    public void ExportAgain_AddsNothing_AndANewCaptureAlone()
    {
        string lakeDir = lake.TempPath("grow");
        string db = lake.Database("grow.duckdb", LakeFixture.Sample("dht-loopback.pcapng.zst"));
        var first = LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = db, Sensor = "s1" });
        Assert.Single(first.Captures);
        var again = LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = db, Sensor = "s1" });
        Assert.Null(again.Batch);
        long before = CountRows(lakeDir, "messages");
        using (var store = PcapDht.Store.PcapDhtDatabase.Open(db))
            Assert.Null(new PcapDht.Ingest.IngestPipeline(store).IngestFile(LakeFixture.Sample("dht-any-sll2.pcap")).Error);
        var next = LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = db, Sensor = "s1" });
        Assert.Equal([2], next.Captures.Select(c => c.CaptureId));
        Assert.Equal(2 * before, CountRows(lakeDir, "messages")); // the second recording is the same traffic again
        using var lakeDb = LakeReader.Open(lakeDir);
        Assert.Equal(2, LakeReportTests.Scalar(lakeDb, "SELECT count(*) FROM captures"));
        Assert.Equal(0, LakeReportTests.Scalar(lakeDb, "SELECT count(*) - count(DISTINCT (capture_id, frame_no)) FROM messages"));
    }

    [Fact]
    public void Export_ByWindows_WritesEveryRowExactlyOnce()
    {
        string lakeDir = lake.TempPath("windows");
        var split = new DateTimeOffset(2026, 9, 15, 0, 0, 0, TimeSpan.Zero);
        var early = LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = lake.Alpha, Sensor = "alpha", Until = split });
        Assert.Single(early.Captures); // the recording is from November: no row before the split
        var again = LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = lake.Alpha, Sensor = "alpha", Until = split });
        Assert.Null(again.Batch);
        var rest = LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = lake.Alpha, Sensor = "alpha" });
        Assert.Equal(2, rest.Captures.Count);
        Assert.Null(LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = lake.Alpha, Sensor = "alpha" }).Batch);
        using var db = LakeFixture.Open(lake.Alpha);
        using var lakeDb = LakeReader.Open(lakeDir);
        foreach (var relation in new[] { "messages", "node_sightings", "peer_sightings", "captures" })
            Assert.Equal(LakeReportTests.Scalar(db, $"SELECT count(*) FROM {relation}"), LakeReportTests.Scalar(lakeDb, $"SELECT count(*) FROM {relation}"));
        Assert.Equal(0, LakeReportTests.Scalar(lakeDb, "SELECT count(*) - count(DISTINCT (capture_id, frame_no)) FROM messages"));
    }

    [Fact]
    public void Export_InterruptedBeforeItsManifest_IsInvisible_AndTheNextExportRemovesIt()
    {
        string lakeDir = lake.TempPath("crash");
        string db = lake.Database("crash.duckdb", LakeFixture.Sample("dht-loopback.pcapng.zst"));
        var done = LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = db, Sensor = "s1" });
        // What a crash after the data files were placed, before the manifest was renamed, leaves: the journal and files
        // named by the batch (here copies of the committed batch's files, so a reader that took them would count double).
        string batch = LakeLayout.NewBatchId(DateTimeOffset.UtcNow.AddMinutes(1));
        File.WriteAllText(LakeLayout.PendingPath(lakeDir, "s1", batch), batch);
        foreach (var f in Directory.EnumerateFiles(Path.Combine(lakeDir, "messages"), "*.parquet", SearchOption.AllDirectories).ToList())
            File.Copy(f, Path.Combine(Path.GetDirectoryName(f)!, $"part-{batch}-0.parquet"));
        Directory.CreateDirectory(LakeLayout.StagingDir(lakeDir, "s1", batch));
        long committed = done.Rows["messages"];
        using (var lakeDb = LakeReader.Open(lakeDir))
            Assert.Equal(committed, LakeReportTests.Scalar(lakeDb, "SELECT count(*) FROM messages"));
        var next = LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = db, Sensor = "s1" });
        Assert.Equal(1, next.RolledBack);
        Assert.Null(next.Batch);
        Assert.Empty(Directory.EnumerateFiles(lakeDir, $"part-{batch}*", SearchOption.AllDirectories));
        Assert.False(Directory.Exists(LakeLayout.StagingDir(lakeDir, "s1", batch)));
        Assert.False(File.Exists(LakeLayout.PendingPath(lakeDir, "s1", batch)));
        Assert.Equal(committed, CountRows(lakeDir, "messages"));
    }

    [Fact]
    public void Export_Refuses_MixingPlainAndAnonymized_OtherKeys_AndAnotherDatabaseUnderOneSensor()
    {
        string lakeDir = lake.TempPath("refusals");
        string db = lake.Database("refusals.duckdb", LakeFixture.Sample("dht-loopback.pcapng.zst"));
        LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = db, Sensor = "s1" });
        var anonymized = Assert.Throws<LakeException>(() =>
            LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = db, Sensor = "s2", Key = lake.Key }));
        Assert.Contains("plain", anonymized.Message);
        var other = Assert.Throws<LakeException>(() =>
            LakeExporter.Run(new ExportOptions { Lake = lake.AnonymizedLake, Database = db, Sensor = "s3", Key = AnonymizationKey.Generate(), AnonymizeIds = true }));
        Assert.Contains("another key", other.Message);
        var plain = Assert.Throws<LakeException>(() => LakeExporter.Run(new ExportOptions { Lake = lake.AnonymizedLake, Database = db, Sensor = "s3" }));
        Assert.Contains("anonymized lake", plain.Message);
        var ids = Assert.Throws<LakeException>(() => LakeExporter.Run(new ExportOptions { Lake = lake.AnonymizedLake, Database = db, Sensor = "s3", Key = lake.Key }));
        Assert.Contains("--anonymize-ids", ids.Message);
        // sensor s1 holds capture 1 of the first database; another database's capture 1 is another capture.
        string second = lake.Database("refusals-2.duckdb", LakeFixture.Sample("dht-any-sll2.pcap"));
        var sensor = Assert.Throws<LakeException>(() => LakeExporter.Run(new ExportOptions { Lake = lakeDir, Database = second, Sensor = "s1" }));
        Assert.Contains("its own --sensor", sensor.Message);
        Assert.NotNull(LakeLayout.SensorNameError("1st"));
        Assert.NotNull(LakeLayout.SensorNameError("a/b"));
        Assert.Null(LakeLayout.SensorNameError("fra-1.dc_2"));
    }

    [Fact]
    public void AnonymizedLake_AsnAndCountryReports_EqualTheOriginal_AndEveryAddressIsTheKeysMapping()
    {
        using var db = LakeFixture.Open(lake.All);
        using var anon = LakeReader.Open(lake.AnonymizedLake);
        foreach (var options in new[] { new ReportOptions { Days = 400, Top = 0 }, new ReportOptions { Days = 400, Top = 0, Ipv6Prefix = 64 }, new ReportOptions { Top = 0 } })
        {
            Assert.Equal(LakeReportTests.Canonical(Reports.Asn(db, options)), LakeReportTests.Canonical(Reports.Asn(anon, options)));
            Assert.Equal(LakeReportTests.Canonical(Reports.Country(db, options)), LakeReportTests.Canonical(Reports.Country(anon, options)));
        }
        using var plain = LakeReader.Open(lake.Lake);
        foreach (var relation in new[] { "messages", "node_sightings", "peer_sightings", "malformed_krpc", "captures" })
            Assert.Equal(LakeReportTests.Scalar(plain, $"SELECT count(*) FROM {relation}"), LakeReportTests.Scalar(anon, $"SELECT count(*) FROM {relation}"));

        using var mapper = new AddressAnonymizer(lake.Key);
        using var anonymizer = new LakeAnonymizer(lake.Key, hashIds: true);
        // Row by row (capture, frame and the contact's port identify a node sighting): each address is the mapping of
        // the original, text and number agree, each id is its keyed hash, and BEP 42 was decided on the real address.
        const string rows = "SELECT capture_id, frame_no, port, source, ip_num, ip, node_id, reporter_ip_num FROM node_sightings ORDER BY capture_id, frame_no, source, ip_num, port";
        var original = Read(plain, rows);
        var mapped = Read(anon, rows.Replace("ORDER BY capture_id, frame_no, source, ip_num, port", ""))
            .ToLookup(r => ((long)Convert.ToInt64(r[0]), Convert.ToInt64(r[1]), Convert.ToInt64(r[2]), (string)r[3]!, LakeAnonymizer.ToUInt128(r[4]!)));
        Assert.True(original.Count > 1000);
        int bep42Checked = 0;
        foreach (var o in original)
        {
            var real = LakeAnonymizer.ToUInt128(o[4]!);
            var key = ((long)Convert.ToInt64(o[0]), Convert.ToInt64(o[1]), Convert.ToInt64(o[2]), (string)o[3]!, mapper.Map(real));
            var m = mapped[key].FirstOrDefault(x => o[6] is null ? x[6] is null : x[6] is byte[] id && id.AsSpan().SequenceEqual(anonymizer.HashId((byte[])o[6]!)));
            Assert.True(m is not null, $"no anonymized row for capture {o[0]} frame {o[1]} {o[5]}");
            Assert.Equal(mapper.Map(real), IpAddr.Parse((string)m[5]!).Value);
            if (o[7] is not null) Assert.Equal(mapper.Map(LakeAnonymizer.ToUInt128(o[7]!)), LakeAnonymizer.ToUInt128(m[7]!));
        }
        // BEP 42 compliance, kept as a column, is the real address's.
        foreach (var r in Read(anon, "SELECT ip_num, bep42_valid FROM pcapdht_lake.node_sightings WHERE source = 'sender' LIMIT 200"))
            bep42Checked += r[1] is null ? 0 : 1;
        Assert.True(bep42Checked > 0);
        var realPairs = Read(plain, "SELECT DISTINCT src_ip_num, node_id FROM messages WHERE node_id IS NOT NULL AND octet_length(node_id) = 20");
        var anonValid = Read(anon, "SELECT DISTINCT src_ip_num, node_id, bep42_valid FROM pcapdht_lake.messages WHERE node_id IS NOT NULL")
            .ToDictionary(r => (LakeAnonymizer.ToUInt128(r[0]!), Convert.ToHexString((byte[])r[1]!)), r => (bool?)r[2]);
        foreach (var p in realPairs)
        {
            var ip = new IpAddr(LakeAnonymizer.ToUInt128(p[0]!));
            var id = (byte[])p[1]!;
            bool? expected = Bep42.IsExempt(ip) ? null : Bep42.IsValidNodeId(ip, id);
            Assert.Equal(expected, anonValid[(mapper.Map(ip.Value), Convert.ToHexString(anonymizer.HashId(id)))]);
        }
        // No original address survives in the anonymized lake's text columns, but where the mapping happens to hit one.
        var originalIps = Read(plain, "SELECT DISTINCT ip FROM node_sightings UNION SELECT DISTINCT src_ip FROM messages").Select(r => (string)r[0]!).ToHashSet();
        var anonIps = Read(anon, "SELECT DISTINCT ip FROM node_sightings UNION SELECT DISTINCT src_ip FROM messages").Select(r => (string)r[0]!).ToHashSet();
        var expectedAnon = originalIps.Select(t => mapper.Map(IpAddr.Parse(t).Value)).ToHashSet();
        Assert.True(expectedAnon.SetEquals(anonIps.Select(t => IpAddr.Parse(t).Value)));
        // Captures carry no local paths.
        Assert.All(Read(anon, "SELECT source FROM captures"), r => Assert.DoesNotContain("/", (string)r[0]!));
    }

    [Fact]
    public void AnonymizedLake_MalformedPayloads_AreRewrittenAsAnAnonymizedCaptureRewritesThem()
    {
        using var plain = LakeReader.Open(lake.Lake);
        using var anon = LakeReader.Open(lake.AnonymizedLake);
        const string sql = "SELECT capture_id, frame_no, payload, reason, byte_offset FROM malformed_krpc ORDER BY capture_id, frame_no";
        var original = Read(plain, sql);
        var rewritten = Read(anon, sql);
        Assert.NotEmpty(original);
        Assert.Equal(original.Count, rewritten.Count);
        using var mapper = new AddressAnonymizer(lake.Key);
        for (int i = 0; i < original.Count; i++)
        {
            var payload = ((byte[])original[i][2]!).ToArray();
            KrpcAddressRewriter.Rewrite(payload, mapper, new AnonymizeCounters());
            Assert.Equal(payload, (byte[])rewritten[i][2]!);
            Assert.Equal(original[i][3], rewritten[i][3]);
        }
    }

    [Fact]
    public async Task DuckDbAndPolars_ReadTheLake_WithPcapDhtsCountsAndReport()
    {
        string dir = Path.Combine(RepoPaths.Root, "scripts", "lake-readers");
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "nodejs-polars")) && Directory.Exists(Path.Combine(dir, "node_modules", "@duckdb", "node-api")),
            "scripts/lake-readers/node_modules is missing: scripts/install-deps.sh test installs it (npm)");
        var psi = new ProcessStartInfo("node") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        psi.ArgumentList.Add("read-lake.mjs");
        psi.ArgumentList.Add(lake.Lake);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(timeout.Token);
        Assert.True(p.ExitCode == 0, await stderr);
        using var json = JsonDocument.Parse(await stdout);

        using var db = LakeFixture.Open(lake.All);
        // The article's table over all data, from PcapDht's own report over the database.
        var report = Reports.Asn(db, new ReportOptions { Days = 3650, Top = 0 });
        var expectedAsn = report.Rows.Select(r => (Asn: (long)r[1]!, Ips: (long)r[4]!, Direct: (long)r[5]!)).OrderBy(r => r.Asn).ToList();
        Assert.True(expectedAsn.Count >= 3);
        foreach (var engine in new[] { "duckdb", "polars" })
        {
            var e = json.RootElement.GetProperty(engine);
            foreach (var relation in new[] { "messages", "node_sightings", "peer_sightings", "malformed_krpc", "captures" })
                Assert.True(LakeReportTests.Scalar(db, $"SELECT count(*) FROM {relation}") == e.GetProperty("rows").GetProperty(relation).GetInt64(), $"{engine}: rows of {relation}");
            Assert.Equal(["alpha", "beta"], e.GetProperty("sensors").EnumerateArray().Select(s => s.GetString()));
            Assert.Equal(LakeReportTests.Scalar(db, "SELECT count(DISTINCT ip_num) FROM node_sightings"), e.GetProperty("distinct_node_ips").GetInt64());
            var got = e.GetProperty("asn").EnumerateArray()
                .Select(a => (Asn: a.GetProperty("asn").GetInt64(), Ips: a.GetProperty("ips").GetInt64(), Direct: a.GetProperty("direct_ips").GetInt64())).ToList();
            Assert.Equal(expectedAsn, got);
        }
    }

    [Fact]
    public void Cli_ExportThenReportOverLake_PrintsTheDatabasesNumbers()
    {
        string lakeDir = lake.TempPath("cli-lake");
        var export = CliRunner.Run(["export", lakeDir, "--db", lake.Alpha, "--sensor", "alpha", "--format", "json"]);
        Assert.True(export.ExitCode == 0, export.Stderr);
        using (var doc = JsonDocument.Parse(export.Stdout))
            Assert.Equal(2, doc.RootElement.GetProperty("captures").GetArrayLength());
        var again = CliRunner.Run(["export", lakeDir, "--db", lake.Alpha, "--sensor", "alpha"]);
        Assert.Equal(0, again.ExitCode);
        Assert.Contains("nothing new to export", again.Stdout);
        foreach (var verb in new[] { "asn", "country", "clients", "overview" })
        {
            var fromDb = CliRunner.Run(["report", verb, "--db", lake.Alpha, "--days", "400", "--format", "csv"]);
            var fromLake = CliRunner.Run(["report", verb, "--lake", lakeDir, "--days", "400", "--format", "csv"]);
            Assert.Equal(0, fromLake.ExitCode);
            Assert.Equal(fromDb.Stdout, fromLake.Stdout);
        }
        var both = CliRunner.Run(["report", "asn", "--lake", lakeDir, "--db", lake.Alpha]);
        Assert.Equal(2, both.ExitCode);
        var missing = CliRunner.Run(["report", "asn", "--lake", lake.TempPath("no-such-lake")]);
        Assert.Equal(4, missing.ExitCode);
        Assert.Contains("no lake at", missing.Stderr);
        var badSensor = CliRunner.Run(["export", lakeDir, "--db", lake.Alpha, "--sensor", "../x"]);
        Assert.Equal(2, badSensor.ExitCode);
    }

    private static long CountRows(string lakeDir, string relation)
    {
        using var db = LakeReader.Open(lakeDir);
        return LakeReportTests.Scalar(db, $"SELECT count(*) FROM {relation}");
    }

    private static List<object?[]> Read(DuckDBConnection db, string sql)
    {
        using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var rows = new List<object?[]>();
        while (r.Read())
        {
            var row = new object?[r.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = r.IsDBNull(i) ? null : r.GetValue(i) is Stream s ? LakeAnonymizer.Bytes(s) : r.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }
}
