namespace PcapDht.Tests.Krpc;

/// <summary>Locates ../shared/captures next to the repository (see the brief); absent on some machines.</summary>
public static class ThirdPartyCaptures
{
    public static readonly string? Directory = Locate();

    public const string SkipReason = "third-party captures not found: expected ../shared/captures beside the repository root";

    public static string PathOf(string name) =>
        System.IO.Path.Combine(Directory ?? throw new InvalidOperationException(SkipReason), name);

    /// <summary>Overrides where the captures are looked for (a directory that does not exist means "absent").</summary>
    public const string DirectoryVariable = "PCAPDHT_THIRD_PARTY_CAPTURES";

    private static string? Locate()
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } given)
            return System.IO.Directory.Exists(given) ? given : null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "PcapDht.sln")))
            {
                // ../shared/captures beside the repository; a git worktree sits one level deeper.
                for (var up = dir.Parent; up != null; up = up.Parent)
                {
                    string captures = System.IO.Path.Combine(up.FullName, "shared", "captures");
                    if (System.IO.Directory.Exists(captures))
                        return captures;
                }
                return null;
            }
        }
        return null;
    }
}

/// <summary>A fact that skips, saying why, when the third-party captures are absent.</summary>
public sealed class CapturesFactAttribute : FactAttribute
{
    public CapturesFactAttribute()
    {
        if (ThirdPartyCaptures.Directory == null)
            Skip = ThirdPartyCaptures.SkipReason;
    }
}

/// <summary>A theory that skips, saying why, when the third-party captures are absent.</summary>
public sealed class CapturesTheoryAttribute : TheoryAttribute
{
    public CapturesTheoryAttribute()
    {
        if (ThirdPartyCaptures.Directory == null)
            Skip = ThirdPartyCaptures.SkipReason;
    }
}
