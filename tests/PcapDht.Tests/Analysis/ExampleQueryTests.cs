using System.Text.RegularExpressions;
using PcapDht.Analysis;
using PcapDht.Enrich;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Analysis;

public partial class ExampleQueryTests
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
    public void ExampleQuery_RunsAndReturnsRows(int number, string sql)
    {
        using var k = new KnownDatabase();
        RangeStore.EnsureEnrichedViews(k.Db);
        var result = SqlQuery.Run(k.Db, sql);
        Assert.True(result.Rows.Count > 0, $"example {number} returned no rows");
    }
}
