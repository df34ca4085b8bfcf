using System.Diagnostics;

namespace PcapDht.Tests.Capture;

/// <summary>Where test captures live, and the external tools some tests compare against.</summary>
public static class CaptureTestFiles
{
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>Recorded on loopback in a network namespace by scripts/capture-fixtures.sh.</summary>
    public static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Capture", "Fixtures", name);

    /// <summary>Third-party captures (not in the repository); null when absent.</summary>
    public static string? SharedCaptures
    {
        get
        {
            // PCAPDHT_SHARED_CAPTURES lets a checkout that is not next to shared/ (a git worktree) find them.
            var dir = Environment.GetEnvironmentVariable("PCAPDHT_SHARED_CAPTURES") is { Length: > 0 } env
                ? env : Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "captures"));
            return Directory.Exists(dir) ? dir : null;
        }
    }

    public static bool HasTool(string name) =>
        Environment.GetEnvironmentVariable("PATH")!.Split(':').Any(d => File.Exists(Path.Combine(d, name)));

    /// <summary>Runs a tool, returns its stdout; throws with its stderr when it fails.</summary>
    public static string Run(string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(1)))
        {
            p.Kill(true);
            throw new TimeoutException($"{tool} did not finish");
        }
        if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed: {stderr.Result}");
        return stdout.Result;
    }

    /// <summary>Frame numbers tshark shows as carrying a whole UDP datagram (reassembly on, ICMP errors quoting UDP excluded).</summary>
    public static long[] TsharkUdpFrames(string path)
    {
        var text = Run("tshark", "-r", path, "-o", "ip.defragment:TRUE", "-o", "ipv6.defragment:TRUE",
            "-Y", "udp && !icmp && !icmpv6", "-T", "fields", "-e", "frame.number");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
    }

    public static long TsharkFrameCount(string path) =>
        Run("tshark", "-r", path, "-T", "fields", "-e", "frame.number").Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "PcapDht.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("PcapDht.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A temp directory deleted with the test.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pcapdht-capture-" + Guid.NewGuid().ToString("N")[..12]);
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose()
    {
        try { Directory.Delete(Path, true); } catch (IOException) { }
    }
}
