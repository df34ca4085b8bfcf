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

        // Every panel, in order, rendered with content a reader can see.
        var panels = run.State.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(ReportPanels.Default.Select(p => p.Id), panels.Select(p => p.GetProperty("id").GetString()));
        foreach (var p in panels)
        {
            string id = p.GetProperty("id").GetString()!;
            Assert.True(p.GetProperty("state").GetString() == "ok", $"panel {id}: {p}");
            Assert.True(p.GetProperty("caption").GetString()!.Length > 40, $"panel {id} has no caption");
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
