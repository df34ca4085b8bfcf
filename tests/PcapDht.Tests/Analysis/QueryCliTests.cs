using System.Text.Json;
using PcapDht.Cli;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>
/// Issue 19 #2 and #3: `query` runs every statement of its SQL in order (it used to stop after the first one that
/// returned rows, so `SELECT 1; DELETE ...` printed 1 and deleted nothing), and without --write or --allow-files it
/// touches no file but the database (COPY ... TO, EXPORT DATABASE, read_csv and glob used to work read-only).
/// </summary>
public sealed class QueryCliTests
{
    private static string Database(TempFiles t)
    {
        string path = t.Path("q.duckdb");
        using (var k = new KnownDatabase())
        {
            k.Db.Close();
            File.Copy(k.Path, path);
        }
        return path;
    }

    private static CliOutput Query(string db, params string[] args) => CliRunner.Run(["query", .. args, "--db", db]);

    private static long Count(string db, string sql) =>
        long.Parse(Query(db, $"SELECT ({sql}) AS n", "--format", "csv").Stdout.Trim().Split('\n')[^1]);

    [Fact]
    public void Write_SelectThenDelete_RunsBothInOrder()
    {
        using var t = new TempFiles();
        string db = Database(t);
        Assert.Equal(4, Count(db, "SELECT count(*) FROM asn_ranges"));

        var o = Query(db, "--write", "SELECT 1 AS one; DELETE FROM asn_ranges WHERE asn = 4134", "--format", "csv");

        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Equal("one\n1", o.Stdout.Trim().ReplaceLineEndings("\n"));
        Assert.Equal(3, Count(db, "SELECT count(*) FROM asn_ranges"));
    }

    [Fact]
    public void FileScript_EveryStatementRuns_TablesShowEachResult()
    {
        using var t = new TempFiles();
        string db = Database(t);
        string script = t.Write("s.sql", """
            -- a comment; with a semicolon
            SELECT count(*) AS before FROM asn_ranges;
            CREATE TABLE notes AS SELECT 'a;b' AS text, $$x;y$$ AS dollar;   /* ; */
            INSERT INTO notes VALUES ('it''s', E'\';');
            SELECT count(*) AS after FROM notes;
            """);

        var o = Query(db, "--write", "-f", script);

        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        Assert.Contains("before", o.Stdout);
        Assert.Contains("after", o.Stdout);
        Assert.True(o.Stdout.IndexOf("before", StringComparison.Ordinal) < o.Stdout.IndexOf("after", StringComparison.Ordinal));
        Assert.Equal(2, Count(db, "SELECT count(*) FROM notes"));
        Assert.Equal(1, Count(db, "SELECT count(*) FROM notes WHERE text = 'a;b' AND dollar = 'x;y'"));
    }

    [Fact]
    public void Json_SeveralResults_PrintsTheLastAsOneDocument()
    {
        using var t = new TempFiles();
        string db = Database(t);
        var o = Query(db, "SELECT 1 AS a; SELECT asn FROM asn_ranges WHERE asn = 4766", "--format", "json");
        Assert.Equal(ExitCodes.Ok, o.ExitCode);
        using var doc = JsonDocument.Parse(o.Stdout);
        Assert.Equal(4766, doc.RootElement[0].GetProperty("asn").GetInt64());
    }

    [Fact]
    public void FailingStatement_StopsThereWithItsPosition()
    {
        using var t = new TempFiles();
        string db = Database(t);

        var o = Query(db, "--write", "CREATE TABLE first AS SELECT 1 AS x;\nSELECT nope FROM first;\nCREATE TABLE third AS SELECT 3 AS x");

        Assert.Equal(ExitCodes.Failure, o.ExitCode);
        string err = Assert.Single(o.Stderr.Trim().Split('\n'));
        Assert.Contains("statement 2 of 3 (line 2)", err);
        Assert.Contains("nope", err);
        Assert.Equal(1, Count(db, "SELECT count(*) FROM first"));
        Assert.Equal(0, Count(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'third'"));
    }

    [Fact]
    public void SyntaxErrorAnywhere_RunsNothing()
    {
        using var t = new TempFiles();
        string db = Database(t);
        var o = Query(db, "--write", "CREATE TABLE early AS SELECT 1 AS x; SELEC 2");
        Assert.Equal(ExitCodes.Failure, o.ExitCode);
        Assert.Contains("statement 2 of 2 (line 1)", o.Stderr);
        Assert.Equal(0, Count(db, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'early'"));
    }

    public static TheoryData<string> FileAccess => new()
    {
        "COPY (SELECT 1 AS x) TO '{dir}/copied.csv'",
        "EXPORT DATABASE '{dir}/exported'",
        "SELECT * FROM read_csv('{dir}/secret.csv')",
        "SELECT * FROM read_text('{dir}/secret.csv')",
        "SELECT * FROM glob('{dir}/*')",
        "ATTACH '{dir}/other.duckdb' AS other",
        "SET enable_external_access = true; SELECT * FROM read_text('{dir}/secret.csv')",
        "LOAD '{dir}/secret.duckdb_extension'",
    };

    [Theory]
    [MemberData(nameof(FileAccess))]
    public void ReadOnly_TouchesNoFileButTheDatabase(string sql)
    {
        using var t = new TempFiles();
        string db = Database(t);
        string dir = t.Path("outside");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "secret.csv"), "word\nswordfish\n");
        var before = Directory.GetFileSystemEntries(dir).Order().ToList();

        var o = Query(db, sql.Replace("{dir}", dir));

        Assert.Equal(ExitCodes.Failure, o.ExitCode);
        Assert.DoesNotContain("swordfish", o.Stdout + o.Stderr);
        Assert.DoesNotContain("secret.csv", o.Stdout);
        Assert.Single(o.Stderr.Trim().Split('\n'));
        Assert.Equal(before, Directory.GetFileSystemEntries(dir).Order().ToList());
        Assert.False(File.Exists(Path.Combine(dir, "other.duckdb")));
    }

    [Fact]
    public void AllowFilesOrWrite_LiftTheRestriction()
    {
        using var t = new TempFiles();
        string db = Database(t);
        string secret = t.Write("secret.csv", "word\nswordfish\n");
        var refused = Query(db, $"SELECT word FROM read_csv('{secret}')");
        Assert.Equal(ExitCodes.Failure, refused.ExitCode);
        Assert.Contains("--allow-files", refused.Stderr);

        var read = Query(db, $"SELECT word FROM read_csv('{secret}')", "--allow-files", "--format", "csv");
        Assert.Equal(ExitCodes.Ok, read.ExitCode);
        Assert.Equal("word\nswordfish", read.Stdout.Trim().ReplaceLineEndings("\n"));

        string copy = t.Path("copy.csv");
        var written = Query(db, $"COPY (SELECT asn FROM asn_ranges ORDER BY asn) TO '{copy}'", "--write");
        Assert.Equal(ExitCodes.Ok, written.ExitCode);
        Assert.Equal("asn\n4134\n4766\n12389\n12389", File.ReadAllText(copy).Trim().ReplaceLineEndings("\n"));
    }
}
