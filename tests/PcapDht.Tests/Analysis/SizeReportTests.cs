using System.Text.Json;
using PcapDht.Analysis;
using PcapDht.Cli;
using PcapDht.Synth.Population;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Analysis;

/// <summary>report size against generated DHTs of known size, ingested into real stores.</summary>
public class SizeReportTests
{
    private static SizeResult Size(PopulationStore store, SizeOptions? options = null)
    {
        using var db = store.Open();
        return Reports.SizeEstimate(db, new ReportOptions(), options ?? new SizeOptions());
    }

    [Theory]
    [InlineData(100_000, 300, 1UL)]
    [InlineData(5_000_000, 250, 2UL)]
    public void Size_OfAKnownPopulation_IsWithinTenPercentAndTheIntervalCoversIt(int population, int lookups, ulong seed)
    {
        using var store = new PopulationStore(new PopulationOptions { Seed = seed, Population = population, Lookups = lookups, EarlyStopShare = 0.25 });
        var r = Size(store);
        Assert.Null(r.Unavailable);
        var xor = Assert.Single(r.Rows, x => x.Method == Reports.XorMethod);
        Assert.Equal(4, xor.Family);
        Assert.NotNull(xor.Estimate);
        Assert.InRange(xor.Estimate.Estimate, 0.9 * population, 1.1 * population);
        Assert.InRange(population, xor.Estimate.Low, xor.Estimate.High);

        // Exactly the converged lookups are used; every lookup cut short is rejected (not converged, or too few answers).
        var truth = store.Truth;
        Assert.True(truth.LookupsStopped >= lookups / 8, "the scenario must hold early-stopped lookups");
        Assert.Equal(truth.Lookups.Count, r.Lookups.Count);
        Assert.Equal(truth.Lookups.Where(l => l.Converged).Select(l => l.TargetPrefix).Order(),
            r.Lookups.Where(l => l.Status == LookupStatus.Used).Select(l => l.TargetPrefix).Order());
        var status = r.Lookups.ToDictionary(l => l.TargetPrefix, l => l.Status);
        foreach (var stopped in truth.Lookups.Where(l => !l.Complete))
            Assert.Contains(status[stopped.TargetPrefix], new[] { LookupStatus.NotConverged, LookupStatus.TooFewAnswers });
        Assert.Equal(truth.LookupsConverged, xor.LookupsUsed);
        Assert.Equal(truth.Lookups.Count - truth.LookupsConverged, xor.LookupsRejected);
    }

    [Fact]
    public void Size_NaiveEstimateFromUnconvergedLookups_WouldBeFarTooSmall()
    {
        // What the convergence rule protects against: lookups seen only through their first two rounds (a
        // short capture) put their 8th-closest id far from the target and would say "a few thousand nodes"
        // for a DHT of 100 000.
        using var store = new PopulationStore(new PopulationOptions { Seed = 4, Population = 100_000, Lookups = 120, EarlyStopShare = 1 });
        var r = Size(store, new SizeOptions { By = SizeGrouping.Lookup });
        var firstRounds = store.Truth.Lookups.Where(l => l.RoundsWritten <= 2).Select(l => l.TargetPrefix).ToHashSet();
        var naive = r.Lookups.Where(l => firstRounds.Contains(l.TargetPrefix) && l.KthDistance is not null).Select(l => l.KthDistance!.Value).ToList();
        Assert.True(naive.Count >= 20, $"{naive.Count} short lookups");
        Assert.True(SizeEstimator.FromKthDistances(naive).Estimate < 20_000);
        Assert.DoesNotContain(r.Lookups, l => l.Status == LookupStatus.Used);
        Assert.NotNull(Size(store).Unavailable);
    }

    [Fact]
    public void Size_TooFewConvergedLookups_RefusesInOneLineWithExitCode7()
    {
        using var store = new PopulationStore(new PopulationOptions { Seed = 5, Population = 100_000, Lookups = 12 });
        var r = Size(store);
        Assert.NotNull(r.Unavailable);
        Assert.Contains("too few converged lookups", r.Unavailable);
        // JSON: not available, the reason, the lookups counted, and no row (no number at all).
        var cli = CliRunner.Run(["report", "size", "--db", store.DbPath, "--format", "json"]);
        Assert.Equal(ExitCodes.NoData, cli.ExitCode);
        using var doc = JsonDocument.Parse(cli.Stdout);
        Assert.False(doc.RootElement.GetProperty("available").GetBoolean());
        Assert.Equal(r.Unavailable, doc.RootElement.GetProperty("reason").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("rows").GetArrayLength());
        Assert.InRange(doc.RootElement.GetProperty("facts").GetProperty("ipv4_lookups_used").GetInt64(), 0, SizeEstimator.MinimumLookups - 1);
        // Table: one message (the title and the reason, wrapped only at the terminal's width), nothing else.
        var text = CliRunner.Run(["report", "size", "--db", store.DbPath]);
        Assert.Equal(ExitCodes.NoData, text.ExitCode);
        Assert.Equal($"{doc.RootElement.GetProperty("title").GetString()}: not available. {r.Unavailable}",
            string.Join(' ', text.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
    }

    [Fact]
    public void Size_ByDay_EstimatesEveryDay_AndChapmanCoversThePopulation()
    {
        const int n = 20_000;
        using var store = new PopulationStore(new PopulationOptions
        {
            Seed = 6, Population = n, Lookups = 360, Days = 3, EarlyStopShare = 0.1,
            End = new DateTimeOffset(2026, 9, 30, 0, 0, 0, TimeSpan.Zero), // three whole UTC days
        });
        var r = Size(store, new SizeOptions { By = SizeGrouping.Day });
        var days = r.Rows.Where(x => x.Method == Reports.XorMethod).ToList();
        Assert.Equal(3, days.Count);
        Assert.Equal(3, days.Select(d => d.Day).Distinct().Count());
        // ~107 lookups a day: each day's estimate is within 20 % (4 standard errors); a 95 % interval may
        // miss now and then (the rate is checked in SizeEstimatorTests), so at least 2 of 3 must cover.
        foreach (var d in days)
        {
            Assert.NotNull(d.Estimate);
            Assert.InRange(d.Estimate.Estimate, 0.8 * n, 1.2 * n);
        }
        Assert.True(days.Count(d => d.Estimate!.Low <= n && n <= d.Estimate.High) >= 2);
        // Over the whole window: the balls of ~160 lookups per half give enough recaptures at this size.
        var all = Size(store);
        var xor = Assert.Single(all.Rows, x => x.Method == Reports.XorMethod);
        Assert.InRange(n, xor.Estimate!.Low, xor.Estimate.High);
        var chapman = Assert.Single(all.Rows, x => x.Method == Reports.ChapmanMethod);
        Assert.NotNull(chapman.Estimate);
        Assert.InRange(n, chapman.Estimate.Low, chapman.Estimate.High);
    }

    [Fact]
    public void SizeCli_Json_HasTheFieldsAsNumbers()
    {
        using var store = new PopulationStore(new PopulationOptions { Seed = 7, Population = 30_000, Lookups = 60 });
        var o = CliRunner.Run(["report", "size", "--db", store.DbPath, "--format", "json"]);
        Assert.True(o.ExitCode == ExitCodes.Ok, o.Stdout + o.Stderr);
        using var doc = JsonDocument.Parse(o.Stdout);
        var row = doc.RootElement.GetProperty("rows").EnumerateArray().First(x => x.GetProperty("method").GetString() == Reports.XorMethod);
        foreach (var field in new[] { "estimate", "ci_low", "ci_high", "lookups_used", "lookups_rejected" })
            Assert.Equal(JsonValueKind.Number, row.GetProperty(field).ValueKind);
        Assert.True(row.GetProperty("ci_low").GetInt64() <= row.GetProperty("estimate").GetInt64());
        Assert.Equal(store.Truth.LookupsConverged, row.GetProperty("lookups_used").GetInt64());
        Assert.True(doc.RootElement.GetProperty("window").GetProperty("days").GetDouble() > 0);
        var facts = doc.RootElement.GetProperty("facts");
        Assert.Equal(store.Truth.LookupsConverged, facts.GetProperty("ipv4_lookups_used").GetInt64());
        Assert.Equal(row.GetProperty("lookups_rejected").GetInt64(), facts.GetProperty("ipv4_lookups").GetInt64() - facts.GetProperty("ipv4_lookups_used").GetInt64());
        Assert.Contains(doc.RootElement.GetProperty("notes").EnumerateArray(), n => n.GetString()!.StartsWith("Method (xor-distance)", StringComparison.Ordinal));

        var bad = CliRunner.Run(["report", "size", "--db", store.DbPath, "--min-lookups", "3"]);
        Assert.Equal(ExitCodes.Usage, bad.ExitCode);
    }
}
