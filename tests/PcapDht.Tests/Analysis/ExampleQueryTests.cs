using System.Text.RegularExpressions;
using PcapDht.Analysis;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

/// <summary>Every SQL block in docs/analysis.md runs against a database written by the real ingest.</summary>
public partial class ExampleQueryTests(SynthDatabaseFixture fixture) : IClassFixture<SynthDatabaseFixture>
{
    [GeneratedRegex(@"```sql\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex SqlBlock();

    public static TheoryData<int, string> Queries()
    {
        string md = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "analysis.md"));
        var data = new TheoryData<int, string>();
        int i = 0;
        foreach (Match m in SqlBlock().Matches(md)) data.Add(++i, m.Groups[1].Value);
        return data;
    }

    [Fact]
    public void Docs_HaveAtLeastTenExampleQueries() => Assert.True(Queries().Count >= 10);

    [Theory]
    [MemberData(nameof(Queries))]
    public void ExampleQuery_RunsOnIngestedCaptureAndReturnsRows(int number, string sql)
    {
        using var db = fixture.Open();
        var result = SqlQuery.Run(db, sql);
        Assert.True(result.Rows.Count > 0, $"example {number} returned no rows");
    }

    [Fact]
    public void ArticleQuery_EqualsNodeSightingGroundTruth()
    {
        using var db = fixture.Open();
        string article = Queries().Select(q => (string)q[1]).First();
        var byQuery = SqlQuery.Run(db, article).Rows.ToDictionary(r => Convert.ToInt64(r[0]), r => Convert.ToInt64(r[2]));
        var truth = fixture.Truth.Asns.Where(a => a.Ips > 0).OrderByDescending(a => a.Ips).ThenBy(a => a.Asn).Take(20)
            .ToDictionary(a => (long)a.Asn, a => a.Ips);
        Assert.Equal(truth, byQuery);
    }
}
