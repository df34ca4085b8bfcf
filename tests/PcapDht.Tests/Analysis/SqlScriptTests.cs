using PcapDht.Analysis;

namespace PcapDht.Tests.Analysis;

public sealed class SqlScriptTests
{
    [Theory]
    [InlineData("SELECT 1", new[] { "SELECT 1" })]
    [InlineData("SELECT 1;", new[] { "SELECT 1" })]
    [InlineData(" ; ;SELECT 1;;", new[] { "SELECT 1" })]
    [InlineData("SELECT 'a;b'; SELECT 2", new[] { "SELECT 'a;b'", " SELECT 2" })]
    [InlineData("SELECT 'it''s;'; SELECT 2", new[] { "SELECT 'it''s;'", " SELECT 2" })]
    [InlineData("SELECT E'\\';'; SELECT 2", new[] { "SELECT E'\\';'", " SELECT 2" })]
    [InlineData("SELECT \"a;\"\"b\" FROM t; SELECT 2", new[] { "SELECT \"a;\"\"b\" FROM t", " SELECT 2" })]
    [InlineData("SELECT $$;$$, $tag$ $$; $tag$; SELECT 2", new[] { "SELECT $$;$$, $tag$ $$; $tag$", " SELECT 2" })]
    [InlineData("SELECT 1 -- ; no\n; SELECT 2", new[] { "SELECT 1 -- ; no\n", " SELECT 2" })]
    [InlineData("SELECT /* ; /* ; */ ; */ 1; SELECT 2", new[] { "SELECT /* ; /* ; */ ; */ 1", " SELECT 2" })]
    [InlineData("-- only a comment; here\n/* and ; this */", new string[0])]
    [InlineData("SELECT a$b; SELECT 2", new[] { "SELECT a$b", " SELECT 2" })]
    public void Split_SemicolonsOutsideQuotesAndComments(string sql, string[] expected)
    {
        Assert.Equal(expected, SqlScript.Split(sql).Select(s => s.Text));
    }

    [Fact]
    public void Split_NumbersStatementsAndTheLineTheyStartOn()
    {
        var s = SqlScript.Split("SELECT 1;\n\n-- note\n  SELECT\n 2; /* x\n */ SELECT 3");
        Assert.Equal([(1, 1), (2, 4), (3, 6)], s.Select(x => (x.Number, x.Line)));
    }
}
