using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PcapDht.Tests.Html;

/// <summary>
/// Debian's Chromium, headless, driven over the DevTools protocol through a pair of pipes
/// (--remote-debugging-pipe: NUL-terminated JSON on file descriptors 3 and 4), so the test needs no
/// debugging port and no npm driver. As root it runs in a network namespace of its own with no
/// interface up (unshare -n): the browser has no network at all, and the page is also switched offline
/// through the protocol. Every event is recorded, so a test can list the requests and console messages
/// a page produced.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    public static string ExecutablePath =>
        Environment.GetEnvironmentVariable("PCAPDHT_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    private readonly Process _process;
    private readonly FileStream _toBrowser;
    private readonly FileStream _fromBrowser;
    private readonly Thread _reader;
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonElement>> _pending = new();
    private readonly List<CdpEvent> _events = [];
    private readonly StringBuilder _stderr = new();
    private int _nextId;

    public sealed record CdpEvent(string Method, JsonElement Params, string? SessionId);

    /// <summary>True when the browser runs in its own network namespace without any network.</summary>
    public bool Isolated { get; }

    private HeadlessChromium(string workDir)
    {
        if (!File.Exists(ExecutablePath))
            throw new FileNotFoundException($"Chromium not found at {ExecutablePath}: scripts/install-deps.sh test installs Debian's chromium (or set PCAPDHT_CHROMIUM)");
        string input = Path.Combine(workDir, "cdp-in"), output = Path.Combine(workDir, "cdp-out");
        foreach (var fifo in new[] { input, output }) Run("mkfifo", fifo);
        // unshare -n needs CAP_SYS_ADMIN: root, as in CI. Elsewhere the browser keeps the host's network and
        // only the offline switch and the page's own policy keep it from using it (the test still sees every request).
        Isolated = Environment.UserName == "root" && Run("unshare", "-n", "true") == 0;
        var args = new List<string>
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic", "--disable-extensions", "--disable-default-apps",
            "--no-default-browser-check", "--disable-features=Translate,MediaRouter,OptimizationHints",
            "--hide-scrollbars", "--mute-audio", "--font-render-hinting=none",
            $"--user-data-dir={Path.Combine(workDir, "profile")}", "--remote-debugging-pipe", "about:blank",
        };
        string command = (Isolated ? "exec unshare -n " : "exec ") + Quote(ExecutablePath) + " " + string.Join(' ', args.Select(Quote));
        var psi = new ProcessStartInfo("bash")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"exec 3<{Quote(input)} 4>{Quote(output)}; {command}");
        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.OutputDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        // Opening a FIFO blocks until its other end is opened: bash opens cdp-in first, then cdp-out.
        var open = Task.Run(() => (new FileStream(input, FileMode.Open, FileAccess.Write), new FileStream(output, FileMode.Open, FileAccess.Read)));
        if (!open.Wait(TimeSpan.FromSeconds(30)))
        {
            Kill();
            throw new InvalidOperationException($"Chromium did not open its DevTools pipes: {Stderr}");
        }
        (_toBrowser, _fromBrowser) = open.Result;
        _reader = new Thread(ReadLoop) { IsBackground = true, Name = "cdp-reader" };
        _reader.Start();
    }

    public static HeadlessChromium Launch(string workDir) => new(workDir);

    public string Stderr
    {
        get { lock (_stderr) return _stderr.ToString(); }
    }

    public IReadOnlyList<CdpEvent> Events
    {
        get { lock (_events) return [.. _events]; }
    }

    /// <summary>Sends a command and waits for its result; a protocol error becomes an exception with its message.</summary>
    public JsonElement Send(string method, object? parameters = null, string? sessionId = null, TimeSpan? timeout = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var tcs = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        var message = new JsonObject { ["id"] = id, ["method"] = method };
        if (parameters is not null) message["params"] = JsonSerializer.SerializeToNode(parameters);
        if (sessionId is not null) message["sessionId"] = sessionId;
        var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        lock (_toBrowser)
        {
            _toBrowser.Write(bytes);
            _toBrowser.WriteByte(0);
            _toBrowser.Flush();
        }
        if (!tcs.Task.Wait(timeout ?? TimeSpan.FromSeconds(60)))
            throw new TimeoutException($"Chromium did not answer {method}: {Stderr}");
        return tcs.Task.Result;
    }

    /// <summary>Waits until an event with this method (and session) has been recorded.</summary>
    public CdpEvent WaitFor(string method, string? sessionId, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            lock (_events)
            {
                foreach (var e in _events)
                    if (e.Method == method && e.SessionId == sessionId) return e;
                Monitor.Wait(_events, TimeSpan.FromMilliseconds(100));
            }
        }
        throw new TimeoutException($"no {method} event within {timeout}: {Stderr}");
    }

    private void ReadLoop()
    {
        var buffer = new byte[1 << 16];
        var message = new MemoryStream();
        try
        {
            int n;
            while ((n = _fromBrowser.Read(buffer)) > 0)
            {
                int start = 0;
                for (int i = 0; i < n; i++)
                {
                    if (buffer[i] != 0) continue;
                    message.Write(buffer, start, i - start);
                    Dispatch(message.ToArray());
                    message.SetLength(0);
                    start = i + 1;
                }
                message.Write(buffer, start, n - start);
            }
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
        foreach (var tcs in _pending.Values) tcs.TrySetException(new IOException($"Chromium closed its DevTools pipe: {Stderr}"));
    }

    private void Dispatch(byte[] json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement.Clone();
        if (root.TryGetProperty("id", out var idElement) && _pending.TryRemove(idElement.GetInt32(), out var tcs))
        {
            if (root.TryGetProperty("error", out var error)) tcs.TrySetException(new InvalidOperationException($"DevTools error: {error}"));
            else tcs.TrySetResult(root.GetProperty("result"));
            return;
        }
        if (root.TryGetProperty("method", out var method))
        {
            string? session = root.TryGetProperty("sessionId", out var s) ? s.GetString() : null;
            var parameters = root.TryGetProperty("params", out var p) ? p : default;
            lock (_events)
            {
                _events.Add(new CdpEvent(method.GetString()!, parameters, session));
                Monitor.PulseAll(_events);
            }
        }
    }

    public void Dispose()
    {
        try { Send("Browser.close", timeout: TimeSpan.FromSeconds(10)); }
        catch (Exception e) when (e is TimeoutException or IOException or InvalidOperationException or AggregateException) { }
        if (!_process.WaitForExit(10_000)) Kill();
        _toBrowser.Dispose();
        _fromBrowser.Dispose();
        _process.Dispose();
    }

    private void Kill()
    {
        try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
    }

    private static int Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.WaitForExit();
        return p.ExitCode;
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";
}
