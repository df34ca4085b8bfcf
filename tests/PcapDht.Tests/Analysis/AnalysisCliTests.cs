using System.Text.Json;
using PcapDht.Cli;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

public class AnalysisCliTests
{
    private static string KnownDbFile(TempFiles t, bool withRanges = true)
    {
        string path;
        using (var k = new KnownDatabase(withRanges))
        {
            k.Db.Close();
            path = t.Path("copy.duckdb");
            File.Copy(k.Path, path);
        }
        return path;
    }

    [Fact]
    public void ReportAndQuery_OnAnOlderStoreSchema_RefuseOrReadWithoutRepairing()
    {
        // A file an older pcapdht wrote, with a file capture its ingest left `running`: the repair on open
        // speaks this build's schema, so report refuses the file in one line and query reads it untouched.
        using var t = new TempFiles();
        string path = t.Path("old.duckdb");
        using (var db = PcapDht.Store.PcapDhtDatabase.Open(path))
        {
            db.Execute("INSERT INTO pcapdht_store.capture (capture_id, source, kind, status, started_at) VALUES (7, 'x.pcap', 'file', 'running', now())");
            db.Execute("UPDATE pcapdht_store.meta SET value = '1' WHERE key = 'schema_version'");
        }

        var report = CliRunner.Run(["report", "overview", "--db", path]);
        Assert.Equal(ExitCodes.DatabaseError, report.ExitCode);
        Assert.Contains("store schema 1", report.Stderr);
        Assert.Single(report.Stderr.Trim().Split('\n'));

        var query = CliRunner.Run(["query", "SELECT status FROM pcapdht_store.capture WHERE capture_id = 7", "--db", path, "--format", "csv"]);
        Assert.Equal(ExitCodes.Ok, query.ExitCode);
        Assert.Equal("status\nrunning", query.Stdout.Trim().ReplaceLineEndings("\n"));
    }

    [Fact]
    public void ReportAsn_Json_CarriesRowsWindowAndAttribution()
    {
        using var t = new TempFiles();
        string db = KnownDbFile(t);
        var o = CliRunner.Run(["report", "asn", "--db", db, "--format", "json"]);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        using var doc = JsonDocument.Parse(o.Stdout);
        var rows = doc.RootElement.GetProperty("rows");
        Assert.Equal(3, rows.GetArrayLength());
        Assert.Equal(12389, rows[0].GetProperty("asn").GetInt64());
        Assert.Equal(6, rows[0].GetProperty("ips").GetInt64());
        Assert.Equal(1, rows[0].GetProperty("direct_ips").GetInt64());
        Assert.Equal("2026-02-28T12:00:00Z", doc.RootElement.GetProperty("window").GetProperty("since").GetString());
        Assert.Contains("CC BY 4.0", doc.RootElement.GetProperty("attribution")[0].GetString());
    }

    [Fact]
    public void ReportCountry_CsvAndMarkdown_HaveTheSameNumbers()
    {
        using var t = new TempFiles();
        string db = KnownDbFile(t);
        var csv = CliRunner.Run(["report", "country", "--db", db, "--format", "csv"]);
        Assert.Equal(ExitCodes.Ok, csv.ExitCode);
        var lines = csv.Stdout.Trim().Split('\n');
        Assert.Equal("rank,country,ips,direct_ips,asns,share", lines[0]);
        Assert.Equal("1,RU,6,1,1,0.545455", lines[1]);
        Assert.Contains("# window: 2026-02-28 12:00:00Z", csv.Stderr);
        var md = CliRunner.Run(["report", "country", "--db", db, "--format", "markdown", "--ipv6-prefix", "64"]);
        Assert.Equal(ExitCodes.Ok, md.ExitCode);
        Assert.Contains("| 1 | RU | 5 | 1 | 1 | 50.00% |", md.Stdout);
        Assert.Contains("- IPv6 prefix length: 64", md.Stdout);
    }

    [Fact]
    public void ReportAsn_WithoutAsnData_SaysSoAndExitsNoData()
    {
        using var t = new TempFiles();
        string db = KnownDbFile(t, withRanges: false);
        var o = CliRunner.Run(["report", "asn", "--db", db]);
        Assert.Equal(ExitCodes.NoData, o.ExitCode);
        Assert.Contains("no ASN data", o.Stdout);
        Assert.DoesNotContain("│", o.Stdout);
    }

    [Fact]
    public void Report_BadOptions_AreUsageErrors()
    {
        Assert.Equal(ExitCodes.Usage, CliRunner.Run(["report", "asn", "--format", "xml"]).ExitCode);
        Assert.Equal(ExitCodes.Usage, CliRunner.Run(["report", "asn", "--since", "yesterday-ish"]).ExitCode);
        Assert.Equal(ExitCodes.Usage, CliRunner.Run(["report", "asn", "--ipv6-prefix", "129"]).ExitCode);
        using var t = new TempFiles();
        Assert.Equal(ExitCodes.DatabaseError, CliRunner.Run(["report", "asn", "--db", t.Path("missing.duckdb")]).ExitCode);
    }

    [Fact]
    public void Query_IsReadOnlyUnlessWrite()
    {
        using var t = new TempFiles();
        string db = KnownDbFile(t);
        var denied = CliRunner.Run(["query", "DELETE FROM asn_ranges", "--db", db]);
        Assert.Equal(ExitCodes.Failure, denied.ExitCode);
        Assert.Contains("read-only", denied.Stderr);
        Assert.Single(denied.Stderr.Trim().Split('\n'));
        var count = CliRunner.Run(["query", "SELECT count(*) AS n FROM asn_ranges", "--db", db, "--format", "csv"]);
        Assert.Equal("n\n4", count.Stdout.Trim().ReplaceLineEndings("\n"));
        var write = CliRunner.Run(["query", "DELETE FROM asn_ranges WHERE asn = 4134", "--db", db, "--write"]);
        Assert.Equal(ExitCodes.Ok, write.ExitCode);
        var after = CliRunner.Run(["query", "SELECT count(*) AS n FROM asn_ranges", "--db", db, "--format", "csv"]);
        Assert.Equal("n\n3", after.Stdout.Trim().ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("DELETE FROM messages")]
    [InlineData("UPDATE node_sightings SET port = 1")]
    [InlineData("WITH old AS (SELECT 1) DELETE FROM messages")]
    public void Query_ChangeWithoutWrite_GetsTheWriteHintEvenWhenDuckDbBindsFirst(string sql)
    {
        using var t = new TempFiles();
        string db = KnownDbFile(t);
        var o = CliRunner.Run(["query", sql, "--db", db]);
        Assert.Equal(ExitCodes.Failure, o.ExitCode);
        var line = Assert.Single(o.Stderr.Trim().Split('\n'));
        Assert.EndsWith("(the database is opened read-only; add --write to change it)", line);
    }

    [Theory]
    [InlineData("SELECT 'DELETE' AS word", false)]
    [InlineData("/* DELETE */ SELECT 1", false)]
    [InlineData("SELECT 1; DROP TABLE x", true)]
    [InlineData("  (INSERT INTO x VALUES (1))", true)]
    [InlineData("with x as (select 1) select * from x", false)]
    [InlineData("WITH x AS (SELECT 'DELETE') UPDATE t SET a = 1", true)]
    [InlineData("-- drop it\nSELECT 1", false)]
    public void ReadOnlyHint_ChangesData_LooksAtEachStatementsFirstKeyword(string sql, bool changes) =>
        Assert.Equal(changes, PcapDht.Cli.Commands.ReadOnlyHint.ChangesData(sql));

    [Fact]
    public void Query_SqlFromStdinAndFile_JsonAndErrors()
    {
        using var t = new TempFiles();
        string db = KnownDbFile(t);
        var stdin = CliRunner.Run(["query", "-", "--db", db, "--format", "json"], stdin: "SELECT asn, as_name FROM asn_ranges WHERE asn = 4766");
        Assert.Equal(ExitCodes.Ok, stdin.ExitCode);
        using (var doc = JsonDocument.Parse(stdin.Stdout))
        {
            Assert.Equal(4766, doc.RootElement[0].GetProperty("asn").GetInt64());
            Assert.Equal("Korea Telecom", doc.RootElement[0].GetProperty("as_name").GetString());
        }
        string sqlFile = t.Write("q.sql", "SELECT ip, hex(node_id) AS id FROM node_sightings WHERE ip = '8.8.8.8'");
        var file = CliRunner.Run(["query", "-f", sqlFile, "--db", db, "--format", "markdown"]);
        Assert.Equal(ExitCodes.Ok, file.ExitCode);
        Assert.StartsWith("| ip | id |", file.Stdout);
        var bad = CliRunner.Run(["query", "SELECT * FROM node_sighting", "--db", db]);
        Assert.Equal(ExitCodes.Failure, bad.ExitCode);
        Assert.Single(bad.Stderr.Trim().Split('\n'));
        Assert.Contains("node_sighting", bad.Stderr);
    }

    [Fact]
    public void AsnImport_UnknownFormat_ChangesNothingAndExitsInputError()
    {
        using var t = new TempFiles();
        string db = t.Path("a.duckdb");
        string good = t.Write("asn-ipv4.csv", KnownDatabase.AsnCsv);
        var first = CliRunner.Run(["asn", "import", good, "--db", db]);
        Assert.Equal(ExitCodes.Ok, first.ExitCode);
        Assert.Contains("asn data set replaced: 4 ranges", first.Stdout);
        string other = t.Write("other.csv", "5.0.0.0,5.0.0.255,3320,DTAG\n");
        string junk = t.Write("junk.txt", "not, a, range\n");
        var failed = CliRunner.Run(["asn", "import", other, junk, "--db", db]);
        Assert.Equal(ExitCodes.InputError, failed.ExitCode);
        Assert.Contains("junk.txt: not a known ASN/country range format", failed.Stderr);
        var status = CliRunner.Run(["asn", "status", "--db", db, "--format", "csv"]);
        Assert.Equal(ExitCodes.Ok, status.ExitCode);
        Assert.Contains("asn,asn-ipv4.csv,ip-location-db asn CSV,4,0,", status.Stdout);
        Assert.DoesNotContain("other.csv", status.Stdout);
    }

    [Fact]
    public void AsnImport_BadRows_ArePrintedWithLineNumbers()
    {
        using var t = new TempFiles();
        string f = t.Write("asn.csv", "1.0.0.0,1.0.0.255,13335,Cloudflare\n1.0.4.0,1.0.7.999,38803,Gtelecom\n");
        var o = CliRunner.Run(["asn", "import", f, "--db", t.Path("b.duckdb")]);
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Contains("1 ranges", o.Stdout);
        Assert.Contains("1 bad rows", o.Stdout);
        Assert.Contains("line 2: bad end address '1.0.7.999'", o.Stdout);
    }

    [Fact]
    public void Query_AfterAsnImportBeforeIngest_StillFindsEnrichedViews()
    {
        using var t = new TempFiles();
        string db = t.Path("order.duckdb");
        Assert.Equal(ExitCodes.Ok, CliRunner.Run(["asn", "import", t.Write("a.csv", KnownDatabase.AsnCsv), "--db", db]).ExitCode);
        using (PcapDht.Store.PcapDhtDatabase.Open(db)) { } // what the first ingest does: store schema, no enriched views
        var o = CliRunner.Run(["query", "SELECT count(*) AS n FROM node_sightings_enriched", "--db", db, "--format", "csv"]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stderr);
        Assert.Equal("n\n0", o.Stdout.Trim().ReplaceLineEndings("\n"));
    }
}
