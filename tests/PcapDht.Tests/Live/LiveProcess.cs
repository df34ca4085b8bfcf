using System.Diagnostics;
using System.Text;
using PcapDht.Tests.Cli;

namespace PcapDht.Tests.Live;

/// <summary>A child process (pcapdht, tcpdump, a DHT swarm) started under a prefix such as
/// <c>ip netns exec NS</c>; the prefixes exec, so <see cref="Pid"/> is the real program's.</summary>
internal sealed class LiveProcess : IDisposable
{
    private readonly Process _p;
    private readonly StringBuilder _out = new();
    private readonly StringBuilder _err = new();

    private LiveProcess(Process p)
    {
        _p = p;
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_out) _out.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_err) _err.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
    }

    public int Pid => _p.Id;
    public string Stdout { get { lock (_out) return _out.ToString(); } }
    public string Stderr { get { lock (_err) return _err.ToString(); } }

    public static LiveProcess Start(IEnumerable<string> prefix, string program, IEnumerable<string> args)
    {
        var all = new List<string>(prefix) { program };
        all.AddRange(args);
        var psi = new ProcessStartInfo(all[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        for (int i = 1; i < all.Count; i++) psi.ArgumentList.Add(all[i]);
        psi.Environment["NO_COLOR"] = "1";
        return new LiveProcess(Process.Start(psi)!);
    }

    /// <summary>pcapdht under the prefix (the real binary next to the tests).</summary>
    public static LiveProcess Pcapdht(IEnumerable<string> prefix, params string[] args)
        => Start(prefix, DotnetPath, [CliRunner.DllPath, .. args]);

    public static string DotnetPath => Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet"
        ? p : "dotnet";

    public void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-" + signal, Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
    }

    public int WaitExit(TimeSpan timeout)
    {
        if (!_p.WaitForExit(timeout))
        {
            _p.Kill(true);
            throw new TimeoutException($"{_p.StartInfo.FileName} did not exit in {timeout}; stderr: {Stderr}");
        }
        _p.WaitForExit();
        return _p.ExitCode;
    }

    public bool HasExited => _p.HasExited;

    /// <summary>Runs to the end and returns (exit code, stdout, stderr).</summary>
    public static (int code, string stdout, string stderr) Run(IEnumerable<string> prefix, string program, IEnumerable<string> args, TimeSpan timeout)
    {
        using var p = Start(prefix, program, args);
        int code = p.WaitExit(timeout);
        return (code, p.Stdout, p.Stderr);
    }

    public void Dispose()
    {
        if (!_p.HasExited)
        {
            try { _p.Kill(true); _p.WaitForExit(5000); } catch (InvalidOperationException) { }
        }
        _p.Dispose();
    }
}

/// <summary>A network namespace owned by one test: loopback up, deleted (with anything left in it) on dispose.</summary>
internal sealed class NetNs : IDisposable
{
    public string Name { get; } = "sniff-" + Guid.NewGuid().ToString("N")[..10];

    public NetNs()
    {
        Ip("netns", "add", Name);
        Ip("-n", Name, "link", "set", "lo", "up");
    }

    public string[] Exec => ["ip", "netns", "exec", Name];

    public static void Ip(params string[] args)
    {
        var (code, _, err) = LiveProcess.Run([], "ip", args, TimeSpan.FromSeconds(20));
        if (code != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: {err.Trim()}");
    }

    public void Dispose()
    {
        // Kill whatever a failed test left running inside, then remove the namespace.
        LiveProcess.Run([], "ip", ["netns", "pids", Name], TimeSpan.FromSeconds(10)).stdout
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToList().ForEach(pid => LiveProcess.Run([], "kill", ["-9", pid], TimeSpan.FromSeconds(5)));
        LiveProcess.Run([], "ip", ["netns", "del", Name], TimeSpan.FromSeconds(20));
    }
}
