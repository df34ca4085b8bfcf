namespace PcapDht.Tests.Live;

/// <summary>A fact that needs root (network namespaces, capture); reported as skipped, with the reason, otherwise.</summary>
public class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux()) Skip = "live capture tests run on Linux only";
        else if (!Environment.IsPrivilegedProcess) Skip = "needs root (creates network namespaces and captures on them); run the suite as root";
    }
}

/// <summary>A root fact that also runs a libtorrent DHT swarm (Debian python3-libtorrent).</summary>
public sealed class SwarmFactAttribute : RootFactAttribute
{
    public SwarmFactAttribute()
    {
        if (Skip == null && !HasLibtorrent())
            Skip = "needs /usr/bin/python3 with python3-libtorrent (scripts/install-deps.sh test) and tcpdump";
    }

    private static bool HasLibtorrent()
    {
        const string dist = "/usr/lib/python3/dist-packages";
        return File.Exists("/usr/bin/python3") && File.Exists("/usr/bin/tcpdump") || File.Exists("/usr/sbin/tcpdump")
            ? Directory.Exists(dist) && Directory.GetFiles(dist, "libtorrent*").Length > 0
            : false;
    }
}

/// <summary>A root fact that runs the repository's shared swarm (scripts/swarm/run-swarm.sh: libtorrent + webtorrent).</summary>
public sealed class RepoSwarmFactAttribute : RootFactAttribute
{
    public RepoSwarmFactAttribute()
    {
        if (Skip != null) return;
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "PcapDht.sln"))) dir = dir.Parent;
        if (dir == null || !Directory.Exists(Path.Combine(dir.FullName, "scripts", "swarm", "node_modules", "bittorrent-dht")))
            Skip = "needs the swarm's npm packages and python3-libtorrent: run scripts/install-deps.sh test";
        else if (!File.Exists("/usr/bin/python3") || !(File.Exists("/usr/bin/tcpdump") || File.Exists("/usr/sbin/tcpdump")))
            Skip = "needs /usr/bin/python3 (python3-libtorrent) and tcpdump: run scripts/install-deps.sh test";
    }
}
