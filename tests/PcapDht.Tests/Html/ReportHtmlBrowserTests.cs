using System.Globalization;
using System.Text.Json;
using PcapDht.Cli;
using PcapDht.Html;
using PcapDht.Tests.Cli;
using PcapDht.Tests.Enrich;

namespace PcapDht.Tests.Html;

/// <summary>
/// The page as a reader gets it: written by the real binary from the demo database, opened from a file
/// in headless Chromium with no network. There is no skip: a machine without Chromium fails here.
/// </summary>
[Collection(DemoDatabaseCollection.Name)]
public class ReportHtmlBrowserTests(DemoDatabaseFixture demo)
{
    private const string Top = "12";

    [Fact]
    public void ReportHtml_InHeadlessChromium_RendersEveryPanelWithoutErrorsOrRequests_AndMatchesReportAsn()
    {
        Assert.True(File.Exists(HeadlessChromium.ExecutablePath),
            $"Chromium not found at {HeadlessChromium.ExecutablePath}: scripts/install-deps.sh test installs Debian's chromium (or set PCAPDHT_CHROMIUM)");
        string page = demo.Path("report.html");
        var html = CliRunner.Run(["report", "html", "--db", demo.DbPath, "--out", page, "--top", Top, .. demo.Window]);
        Assert.True(html.ExitCode == ExitCodes.Ok, html.Stderr + html.Stdout);
        Assert.Contains(page, html.Stdout);

        using var t = new TempFiles();
        PageRun run;
        using (var chrome = HeadlessChromium.Launch(t.Dir))
            run = PageRun.Open(chrome, page);
        SaveArtifacts(page, run.Screenshot);

        // Nothing went wrong and nothing was fetched: the only request is the page itself.
        Assert.True(run.ConsoleErrors.Count == 0, "console errors: " + string.Join(" | ", run.ConsoleErrors));
        Assert.Equal([new Uri(page).AbsoluteUri], run.Requests);
        // The policy is in force: the style block passed its hash (a blocked style would leave no rounded
        // panels) and a probe the policy forbids, an image and a fetch to loopback, was refused by it.
        Assert.Equal("8px", run.State.GetProperty("panelRadius").GetString());
        Assert.Equal(0, run.State.GetProperty("scripts").GetInt32());
        Assert.Contains(run.CspViolations, v => v.StartsWith("img-src", StringComparison.Ordinal));
        Assert.Contains(run.CspViolations, v => v.StartsWith("connect-src", StringComparison.Ordinal));
        // Chromium announces the probe image and then fails it as blocked by the policy, before any connection.
        Assert.All(run.ProbeRequests, r => Assert.Equal("csp", r.BlockedReason));

        // Every panel, in order, rendered with content a reader can see. The demo's captures hold no finished
        // lookup, so the size panel gives report size's one-line reason instead of a number.
        var panels = run.State.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(ReportPanels.Default.Select(p => p.Id), panels.Select(p => p.GetProperty("id").GetString()));
        var sizeJson = Json(demo.DbPath, ["report", "size", .. demo.Window], ExitCodes.NoData);
        var sizePanel = Panel(run, ReportPanels.Size);
        Assert.Equal("unavailable", sizePanel.GetProperty("state").GetString());
        Assert.Equal("Not available: " + sizeJson.GetProperty("reason").GetString(), sizePanel.GetProperty("unavailable").GetString());
        Assert.Equal(0, sizePanel.GetProperty("marks").GetArrayLength());
        foreach (var p in panels)
        {
            string id = p.GetProperty("id").GetString()!;
            Assert.True(p.GetProperty("caption").GetString()!.Length > 40, $"panel {id} has no caption");
            if (id == ReportPanels.Size) continue;
            Assert.True(p.GetProperty("state").GetString() == "ok", $"panel {id}: {p}");
            if (id == ReportPanels.Headline)
            {
                var tiles = p.GetProperty("tiles").EnumerateArray().ToList();
                Assert.Equal(6, tiles.Count);
                Assert.All(tiles, tile => Assert.Matches("^[0-9][0-9,.]*$", tile.GetProperty("value").GetString()!));
                Assert.Contains("CC BY 4.0", p.GetProperty("text").GetString());
                continue;
            }
            Assert.True(p.GetProperty("svgs").GetInt32() >= 1, $"panel {id} has no chart");
            foreach (var size in p.GetProperty("svgSizes").EnumerateArray())
                Assert.True(size[0].GetDouble() > 300 && size[1].GetDouble() > 50, $"panel {id}: chart drawn at {size}");
            Assert.True(p.GetProperty("visibleMarks").GetInt32() >= 1, $"panel {id}: no visible bar, point or country");
        }

        // The ASN table is `report asn --format json` for the same window, row by row.
        var json = CliRunner.Run(["report", "asn", "--db", demo.DbPath, "--top", Top, "--format", "json", .. demo.Window]);
        Assert.Equal(ExitCodes.Ok, json.ExitCode);
        using var doc = JsonDocument.Parse(json.Stdout);
        var expected = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
        var shown = run.State.GetProperty("asnRows").EnumerateArray().ToList();
        Assert.Equal(12, expected.Count);
        Assert.Equal(expected.Count, shown.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            var e = expected[i];
            var s = shown[i];
            Assert.Equal(e.GetProperty("rank").GetInt64(), Int(s, "rank"));
            Assert.Equal(e.GetProperty("asn").GetInt64(), Int(s, "asn"));
            Assert.Equal(e.GetProperty("as_name").GetString(), s.GetProperty("as_name").GetString());
            Assert.Equal(e.GetProperty("country").GetString(), s.GetProperty("country").GetString());
            Assert.Equal(e.GetProperty("ips").GetInt64(), Int(s, "ips"));
            Assert.Equal(e.GetProperty("direct_ips").GetInt64(), Int(s, "direct_ips"));
            Assert.Equal(Math.Round(e.GetProperty("share").GetDouble() * 100, 2), double.Parse(s.GetProperty("share").GetString()!.TrimEnd('%'), CultureInfo.InvariantCulture));
        }
        // The bars say the same as the table.
        var bars = run.State.GetProperty("asnBars").EnumerateArray().ToList();
        Assert.Equal(expected.Select(e => e.GetProperty("ips").GetInt64()), bars.Where(b => b.GetProperty("series").GetString() == "ips").Select(b => (long)b.GetProperty("value").GetDouble()));

        // The map: every country of `report country` is on it with its number, shaded, with a tooltip.
        var countryJson = CliRunner.Run(["report", "country", "--db", demo.DbPath, "--top", "0", "--format", "json", .. demo.Window]);
        using var countries = JsonDocument.Parse(countryJson.Stdout);
        var onMap = run.State.GetProperty("countries").EnumerateArray()
            .Where(c => c.GetProperty("value").ValueKind != JsonValueKind.Null)
            .ToDictionary(c => c.GetProperty("code").GetString()!, c => c);
        var rows = countries.RootElement.GetProperty("rows").EnumerateArray().ToList();
        Assert.True(rows.Count >= 10);
        foreach (var row in rows)
        {
            string code = row.GetProperty("country").GetString()!;
            Assert.True(onMap.TryGetValue(code, out var c), $"{code} is not on the map");
            Assert.Equal(row.GetProperty("ips").GetInt64(), long.Parse(c.GetProperty("value").GetString()!, CultureInfo.InvariantCulture));
            Assert.NotEqual(PcapDht.Charts.ChartTheme.NoData, c.GetProperty("fill").GetString());
            Assert.Contains(PcapDht.Charts.ChartTheme.Count(row.GetProperty("ips").GetInt64()), c.GetProperty("title").GetString());
        }
        Assert.Equal(rows.Count, onMap.Count);

        // The population panels show the numbers of report daily, daily --by asn, sybil and bep42 for the window.
        AssertPopulationPanels(run, demo.DbPath, demo.Window);
    }

    /// <summary>
    /// A page over a store made by the population scenario (a DHT of exactly 20,000 nodes, three whole days of
    /// lookups, planted Sybil addresses and churn): the size panel draws each day's estimate with its interval, and
    /// its table and points are report size --by day's; churn, Sybil and BEP 42 panels are their reports'.
    /// </summary>
    [Fact]
    public void ReportHtml_OverAPopulationStore_DrawsTheSizeEstimateWithItsIntervalPerDay_AsReportSizeByDay()
    {
        Assert.True(File.Exists(HeadlessChromium.ExecutablePath), $"Chromium not found at {HeadlessChromium.ExecutablePath}");
        using var store = new PcapDht.Tests.Analysis.PopulationStore(new PcapDht.Synth.Population.PopulationOptions
        {
            Seed = 31, Population = 20_000, Lookups = 180, Days = 3, EarlyStopShare = 0.1,
            Visitors = 200, SybilAddresses = 3, IdChangers = 2, PrefixClusters = 1,
            End = new DateTimeOffset(2026, 9, 30, 0, 0, 0, TimeSpan.Zero),
        });
        using var t = new TempFiles();
        string page = t.Path("population.html");
        var html = CliRunner.Run(["report", "html", "--db", store.DbPath, "--out", page, "--top", Top]);
        Assert.True(html.ExitCode == ExitCodes.Ok, html.Stderr + html.Stdout);
        PageRun run;
        using (var chrome = HeadlessChromium.Launch(t.Dir))
            run = PageRun.Open(chrome, page);
        Assert.True(run.ConsoleErrors.Count == 0, "console errors: " + string.Join(" | ", run.ConsoleErrors));
        Assert.Equal([new Uri(page).AbsoluteUri], run.Requests);

        var size = Json(store.DbPath, ["report", "size", "--by", "day"]);
        var expected = size.GetProperty("rows").EnumerateArray().ToList();
        var xor = expected.Where(r => r.GetProperty("method").GetString() == PcapDht.Analysis.Reports.XorMethod).ToList();
        Assert.Equal(3, xor.Count);
        Assert.All(xor, r => Assert.Equal(JsonValueKind.Number, r.GetProperty("estimate").ValueKind));
        var panel = Panel(run, ReportPanels.Size);
        Assert.Equal("ok", panel.GetProperty("state").GetString());
        Assert.True(panel.GetProperty("bands").GetInt32() >= 1, "the size chart has no interval band");
        AssertTable(panel, expected, "day", "family", "method", "estimate", "ci_low", "ci_high", "lookups_used", "lookups_rejected");
        // One point per day and estimate, at the estimate (a day without one would be a gap, not a zero).
        var points = panel.GetProperty("marks").EnumerateArray().ToList();
        var withEstimate = expected.Where(r => r.GetProperty("estimate").ValueKind == JsonValueKind.Number).ToList();
        Assert.Equal(withEstimate.Count, points.Count);
        foreach (var r in withEstimate)
        {
            string series = $"{r.GetProperty("family").GetString()} {r.GetProperty("method").GetString()}";
            var point = Assert.Single(points, m => m.GetProperty("series").GetString() == series && m.GetProperty("category").GetString() == r.GetProperty("day").GetString());
            Assert.Equal(r.GetProperty("estimate").GetInt64(), point.GetProperty("value").GetDouble());
        }
        AssertPopulationPanels(run, store.DbPath, []);
        var sybil = Panel(run, ReportPanels.Sybil);
        Assert.True(sybil.GetProperty("rows").GetArrayLength() >= 3, "the planted Sybil addresses are not listed");
    }

    /// <summary>The churn, per-day, Sybil and BEP 42 panels of a page against the JSON of their reports.</summary>
    private static void AssertPopulationPanels(PageRun run, string db, string[] window)
    {
        var daily = Json(db, ["report", "daily", .. window]);
        var churn = Panel(run, ReportPanels.Churn);
        Assert.Equal("ok", churn.GetProperty("state").GetString());
        AssertTable(churn, daily.GetProperty("rows").EnumerateArray().ToList(), "day", "ips", "new", "returning", "gone");
        // The churn lines are the table's columns; "gone" has no point on the last day of data.
        var churnMarks = churn.GetProperty("marks").EnumerateArray().ToList();
        foreach (var row in daily.GetProperty("rows").EnumerateArray())
            foreach (var column in new[] { "ips", "new", "returning", "gone" })
            {
                var points = churnMarks.Where(m => m.GetProperty("series").GetString() == column && m.GetProperty("category").GetString() == row.GetProperty("day").GetString()).ToList();
                if (row.GetProperty(column).ValueKind == JsonValueKind.Null) Assert.Empty(points);
                else Assert.Equal(row.GetProperty(column).GetInt64(), Assert.Single(points).GetProperty("value").GetDouble());
            }

        // Addresses per day: the "all addresses" line is report daily, each ASN line report daily --by asn --top 5.
        var perDay = Panel(run, ReportPanels.Daily);
        var lines = perDay.GetProperty("marks").EnumerateArray()
            .GroupBy(m => m.GetProperty("series").GetString()!)
            .ToDictionary(g => g.Key, g => g.ToDictionary(m => m.GetProperty("category").GetString()!, m => (long)m.GetProperty("value").GetDouble()));
        Assert.Equal(daily.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("day").GetString()!, r => r.GetProperty("ips").GetInt64()), lines["all addresses"]);
        var byAsn = Json(db, ["report", "daily", "--by", "asn", "--top", "5", .. window]).GetProperty("rows").EnumerateArray().ToList();
        Assert.NotEmpty(byAsn);
        foreach (var r in byAsn)
        {
            string label = PcapDht.Charts.ReportCharts.AsLabel(r.GetProperty("asn").ValueKind == JsonValueKind.Null ? null : r.GetProperty("asn").GetInt64(), r.GetProperty("as_name").GetString());
            Assert.Equal(r.GetProperty("ips").GetInt64(), lines[label][r.GetProperty("day").GetString()!]);
        }
        Assert.Equal(byAsn.Select(r => r.GetProperty("asn").ToString()).Distinct().Count() + 1, lines.Count);

        var sybil = Json(db, ["report", "sybil", "--top", Top, .. window]);
        var sybilPanel = Panel(run, ReportPanels.Sybil);
        Assert.Equal("ok", sybilPanel.GetProperty("state").GetString());
        AssertTable(sybilPanel, sybil.GetProperty("rows").EnumerateArray().ToList(), "ip", "asn", "as_name", "node_ids", "ports", "why");
        Assert.Equal(sybil.GetProperty("facts").GetProperty("flagged").GetInt64(), FactNumber(sybilPanel, "flagged"));

        var bep42 = Json(db, ["report", "bep42", "--top", Top, .. window]);
        var bep42Panel = Panel(run, ReportPanels.Bep42);
        Assert.Equal("ok", bep42Panel.GetProperty("state").GetString());
        AssertTable(bep42Panel, bep42.GetProperty("rows").EnumerateArray().ToList(), "client", "code", "pairs", "compliant", "non_compliant", "exempt", "compliant_share");
        foreach (var fact in new[] { "pairs", "compliant", "non_compliant", "exempt" })
            Assert.Equal(bep42.GetProperty("facts").GetProperty(fact).GetInt64(), FactNumber(bep42Panel, fact));
    }

    /// <summary>The report's JSON (run with --format json); <paramref name="exit"/> is the exit code it must have.</summary>
    private static JsonElement Json(string db, string[] args, int exit = ExitCodes.Ok)
    {
        var o = CliRunner.Run([.. args, "--db", db, "--format", "json"]);
        Assert.True(o.ExitCode == exit, $"{string.Join(' ', args)}: exit {o.ExitCode}: {o.Stderr}");
        using var doc = JsonDocument.Parse(o.Stdout);
        return doc.RootElement.Clone();
    }

    /// <summary>A fact the panel prints as "1,786" or "1,786 (80.2%)": its count.</summary>
    private static long FactNumber(JsonElement panel, string key) =>
        long.Parse(panel.GetProperty("facts").GetProperty(key).GetString()!.Split(' ')[0], NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    private static JsonElement Panel(PageRun run, string id) =>
        run.State.GetProperty("panels").EnumerateArray().Single(p => p.GetProperty("id").GetString() == id);

    /// <summary>The panel's table, row by row and cell by cell, is the JSON rows: numbers as the page prints them, shares in percent.</summary>
    private static void AssertTable(JsonElement panel, List<JsonElement> expected, params string[] columns)
    {
        var shown = panel.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(expected.Count, shown.Count);
        for (int i = 0; i < expected.Count; i++)
            foreach (var column in columns)
            {
                var e = expected[i].GetProperty(column);
                string s = shown[i].GetProperty(column).GetString()!;
                switch (e.ValueKind)
                {
                    case JsonValueKind.Null: Assert.Equal("", s); break;
                    case JsonValueKind.String: Assert.Equal(e.GetString(), s); break;
                    case JsonValueKind.Number when s.EndsWith('%'):
                        Assert.Equal(Math.Round(e.GetDouble() * 100, 2), double.Parse(s.TrimEnd('%'), CultureInfo.InvariantCulture));
                        break;
                    default: Assert.Equal(e.GetInt64(), long.Parse(s, NumberStyles.AllowThousands, CultureInfo.InvariantCulture)); break;
                }
            }
    }

    private static long Int(JsonElement row, string column) =>
        long.Parse(row.GetProperty(column).GetString()!, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    /// <summary>The page and its screenshot under artifacts/report-html/ (the README's picture is made from these).</summary>
    private static void SaveArtifacts(string page, byte[] screenshot)
    {
        string dir = Path.Combine(RepoPaths.Root, "artifacts", "report-html");
        Directory.CreateDirectory(dir);
        File.Copy(page, Path.Combine(dir, "report.html"), overwrite: true);
        File.WriteAllBytes(Path.Combine(dir, "report.png"), screenshot);
    }
}

/// <summary>What one visit of a page recorded: its state as the DOM shows it, console errors, requests, a screenshot.</summary>
internal sealed record PageRun(JsonElement State, List<string> ConsoleErrors, List<string> Requests, List<string> CspViolations, List<(string Url, string? BlockedReason)> ProbeRequests, byte[] Screenshot)
{
    private const int Width = 1100;

    // Read from the rendered DOM: what each panel shows, the ASN table's cells, the map's countries.
    private const string StateScript = """
        (() => {
          const visible = el => { const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0; };
          const panels = [...document.querySelectorAll('section.panel')].map(s => ({
            id: s.id,
            state: s.dataset.state,
            caption: s.querySelector('.caption')?.textContent ?? '',
            text: s.textContent,
            svgs: s.querySelectorAll('svg.chart').length,
            svgSizes: [...s.querySelectorAll('svg.chart')].map(v => { const r = v.getBoundingClientRect(); return [r.width, r.height]; }),
            visibleMarks: [...s.querySelectorAll('svg.chart .mark')].filter(visible).length,
            tiles: [...s.querySelectorAll('.tile')].map(t => ({ metric: t.dataset.metric, value: t.querySelector('.value').textContent })),
            unavailable: s.querySelector('.unavailable')?.textContent ?? null,
            facts: Object.fromEntries([...s.querySelectorAll('[data-fact]')].map(f => [f.dataset.fact, f.querySelector('b').textContent])),
            rows: [...s.querySelectorAll('table.data tbody tr')].map(tr => Object.fromEntries([...tr.cells].map(td => [td.dataset.column, td.textContent]))),
            marks: [...s.querySelectorAll('svg.chart .mark')].map(m => ({ category: m.dataset.category ?? null, series: m.dataset.series ?? null, value: Number(m.dataset.value) })),
            bands: s.querySelectorAll('svg.chart .band').length,
          }));
          const asnRows = [...document.querySelectorAll('#table-asn tbody tr')].map(tr => Object.fromEntries([...tr.cells].map(td => [td.dataset.column, td.textContent])));
          const asnBars = [...document.querySelectorAll('#asn svg.chart .mark')].map(m => ({ category: m.dataset.category, series: m.dataset.series, value: Number(m.dataset.value) }));
          const countries = [...document.querySelectorAll('#map .country[data-country]')].map(p => ({
            code: p.dataset.country, value: p.dataset.value ?? null, fill: p.getAttribute('fill'), title: p.querySelector('title')?.textContent ?? '' }));
          return JSON.stringify({
            title: document.title, panels, asnRows, asnBars, countries,
            scripts: document.scripts.length,
            panelRadius: getComputedStyle(document.querySelector('section.panel')).borderTopLeftRadius,
          });
        })()
        """;

    // Asks for what the policy forbids (an image and a fetch, to a closed loopback port) and collects the violations.
    private const string ProbeScript = """
        new Promise(resolve => {
          const seen = [];
          const done = () => resolve(JSON.stringify(seen));
          document.addEventListener('securitypolicyviolation', e => { seen.push(e.effectiveDirective + ' ' + e.blockedURI); if (seen.length >= 2) done(); });
          const img = document.createElement('img'); img.src = 'http://127.0.0.1:9/probe.png'; document.body.appendChild(img);
          fetch('http://127.0.0.1:9/probe').catch(() => {});
          setTimeout(done, 5000);
        })
        """;

    public static PageRun Open(HeadlessChromium chrome, string path)
    {
        string url = new Uri(path).AbsoluteUri;
        string target = chrome.Send("Target.createTarget", new { url = "about:blank" }).GetProperty("targetId").GetString()!;
        string session = chrome.Send("Target.attachToTarget", new { targetId = target, flatten = true }).GetProperty("sessionId").GetString()!;
        foreach (var domain in new[] { "Page.enable", "Runtime.enable", "Log.enable", "Network.enable" }) chrome.Send(domain, null, session);
        chrome.Send("Network.emulateNetworkConditions", new { offline = true, latency = 0, downloadThroughput = -1, uploadThroughput = -1 }, session);
        chrome.Send("Emulation.setDeviceMetricsOverride", new { width = Width, height = 900, deviceScaleFactor = 1, mobile = false }, session);
        int before = chrome.Events.Count;
        chrome.Send("Page.navigate", new { url }, session);
        chrome.WaitFor("Page.loadEventFired", session, TimeSpan.FromSeconds(60));
        var state = Evaluate(chrome, session, StateScript);

        var events = chrome.Events.Skip(before).Where(e => e.SessionId == session).ToList();
        var errors = new List<string>();
        var requests = new List<string>();
        foreach (var e in events)
        {
            switch (e.Method)
            {
                case "Runtime.consoleAPICalled" when e.Params.GetProperty("type").GetString() is "error" or "assert" or "warning":
                    errors.Add("console: " + e.Params.GetProperty("args").ToString());
                    break;
                case "Runtime.exceptionThrown":
                    errors.Add("exception: " + e.Params.GetProperty("exceptionDetails").ToString());
                    break;
                case "Log.entryAdded" when e.Params.GetProperty("entry").GetProperty("level").GetString() is "error" or "warning":
                    errors.Add("log: " + e.Params.GetProperty("entry").GetProperty("text").GetString());
                    break;
                case "Network.requestWillBeSent":
                    requests.Add(e.Params.GetProperty("request").GetProperty("url").GetString()!);
                    break;
            }
        }

        var metrics = chrome.Send("Page.getLayoutMetrics", null, session);
        double height = Math.Ceiling(metrics.GetProperty("cssContentSize").GetProperty("height").GetDouble());
        var shot = chrome.Send("Page.captureScreenshot", new
        {
            format = "png",
            captureBeyondViewport = true,
            clip = new { x = 0, y = 0, width = Width, height, scale = 1 },
        }, session);
        byte[] png = Convert.FromBase64String(shot.GetProperty("data").GetString()!);

        int beforeProbe = chrome.Events.Count;
        var violations = JsonSerializer.Deserialize<List<string>>(Evaluate(chrome, session, ProbeScript, awaitPromise: true).GetRawText())!;
        var probeEvents = chrome.Events.Skip(beforeProbe).Where(e => e.SessionId == session).ToList();
        var probeRequests = probeEvents.Where(e => e.Method == "Network.requestWillBeSent").Select(e =>
        {
            string id = e.Params.GetProperty("requestId").GetString()!;
            var failed = probeEvents.FirstOrDefault(f => f.Method == "Network.loadingFailed" && f.Params.GetProperty("requestId").GetString() == id);
            string? reason = failed is not null && failed.Params.TryGetProperty("blockedReason", out var b) ? b.GetString() : null;
            return (e.Params.GetProperty("request").GetProperty("url").GetString()!, reason);
        }).ToList();
        return new PageRun(state, errors, requests, violations, probeRequests, png);
    }

    private static JsonElement Evaluate(HeadlessChromium chrome, string session, string script, bool awaitPromise = false)
    {
        var result = chrome.Send("Runtime.evaluate", new { expression = script, returnByValue = true, awaitPromise }, session);
        if (result.TryGetProperty("exceptionDetails", out var ex)) throw new InvalidOperationException("page script failed: " + ex);
        string json = result.GetProperty("result").GetProperty("value").GetString()!;
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.Clone();
    }
}
