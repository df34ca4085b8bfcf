using System.Reflection;
using Spectre.Console.Cli;

namespace PcapDht.Cli.Commands;

/// <summary>The command line asked for something the verb does not have; exits with <see cref="ExitCodes.Usage"/>.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Refuses options a verb does not declare. Spectre.Console.Cli 0.57 parses leniently by default: an unknown
/// option (and the value after it) goes to <see cref="CommandContext.Remaining"/> and the command runs without
/// it, so `--day 7` silently gave a 30-day window and `--bd w.duckdb` wrote ./pcapdht.duckdb. Its strict mode
/// (<c>UseStrictParsing</c>) rejects them but cannot say what was meant, because the parser's command model is
/// internal. This interceptor runs for every verb, knows the verb's settings type, and suggests the closest
/// declared option, so every verb gets the same check without declaring anything.
/// </summary>
public sealed class UnknownOptions(string[] args) : ICommandInterceptor
{
    /// <summary>Accepted by every verb: the CLI reads it itself to print stack traces (PcapDhtApp).</summary>
    public const string Verbose = "--verbose";

    public void Intercept(CommandContext context, CommandSettings settings)
    {
        string verb = VerbOf(context.Name);
        var declared = DeclaredOptions(settings.GetType());
        foreach (var group in context.Remaining.Parsed)
        {
            if (group.Key == Verbose) continue;
            throw new UsageException(Message(verb, group.Key, declared));
        }
        if (context.Remaining.Raw.Count > 0)
            throw new UsageException($"{verb}: unexpected argument '{context.Remaining.Raw[0]}' (see pcapdht {verb} --help)");
    }

    private static string Message(string verb, string given, IReadOnlyList<string> declared)
    {
        string? suggestion = Suggest(given, declared);
        string help = verb.Length > 0 ? $"pcapdht {verb} --help" : "pcapdht --help";
        return $"{verb}: unknown option '{given}'" + (suggestion is null ? "" : $"; did you mean '{suggestion}'?") + $" (see {help})";
    }

    /// <summary>
    /// For a command line Spectre refused before the interceptor ran (a missing argument, a failed validation):
    /// the first option the verb does not have, which usually caused it (`ingest --bd x.pcap` gives x.pcap to
    /// --bd, so PATH looks missing). The verb is found by the commands' class names (ReportAsnCommand is
    /// "report asn"); the whole error line, or null when every option is known.
    /// </summary>
    public static string? Explain(string[] args)
    {
        var verbs = VerbSettings();
        string verb = "";
        Type? settings = null;
        for (int n = 1; n <= args.Length && !args[n - 1].StartsWith('-'); n++)
        {
            string path = string.Join(' ', args[..n]);
            if (verbs.TryGetValue(path, out var s)) (verb, settings) = (path, s);
        }
        var declared = settings is null ? verbs.Values.SelectMany(DeclaredOptions).Distinct().ToList() : DeclaredOptions(settings);
        foreach (var arg in args)
        {
            if (arg.Length < 2 || arg[0] != '-' || char.IsAsciiDigit(arg[1]) || arg == "--") continue;
            string name = arg.Split('=', 2)[0];
            if (!declared.Contains(name)) return verb.Length > 0 ? "pcapdht " + Message(verb, name, declared) : "pcapdht: " + Message("", name, declared).TrimStart(':', ' ');
        }
        return null;
    }

    /// <summary>Verb path → settings type, from the Command&lt;TSettings&gt; classes of this assembly.</summary>
    private static Dictionary<string, Type> VerbSettings()
    {
        var map = new Dictionary<string, Type>(StringComparer.Ordinal);
        foreach (var type in typeof(UnknownOptions).Assembly.GetTypes())
        {
            if (type.IsAbstract || !type.Name.EndsWith("Command", StringComparison.Ordinal)) continue;
            for (var b = type.BaseType; b is not null; b = b.BaseType)
            {
                if (!b.IsGenericType || (b.GetGenericTypeDefinition() != typeof(Command<>) && b.GetGenericTypeDefinition() != typeof(AsyncCommand<>))) continue;
                string words = System.Text.RegularExpressions.Regex.Replace(type.Name[..^"Command".Length], "(?<=[a-z0-9])(?=[A-Z])", " ");
                map[words.ToLowerInvariant()] = b.GetGenericArguments()[0];
                break;
            }
        }
        return map;
    }

    /// <summary>The verb as typed ("report asn"): the leading arguments up to and including the command's own name.</summary>
    private string VerbOf(string name)
    {
        int i = Array.IndexOf(args, name);
        return i < 0 ? name : string.Join(' ', args[..(i + 1)]);
    }

    /// <summary>Every option name (--long and -s) the settings type and its bases declare.</summary>
    public static List<string> DeclaredOptions(Type settings)
    {
        var names = new List<string>();
        foreach (var p in settings.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.GetCustomAttribute<CommandOptionAttribute>() is not { } o) continue;
            names.AddRange(o.LongNames.Select(n => "--" + n));
            names.AddRange(o.ShortNames.Select(n => "-" + n));
        }
        names.Add(Verbose);
        return names.Distinct().ToList();
    }

    /// <summary>
    /// The declared option closest to what was typed: at most one edit (insertion, deletion, substitution or
    /// swap of neighbours) per four characters, at least one; or the only option it is a prefix of.
    /// </summary>
    public static string? Suggest(string given, IReadOnlyList<string> declared)
    {
        string g = given.TrimStart('-');
        if (g.Length == 0) return null;
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var option in declared)
        {
            string o = option.TrimStart('-');
            int d = Distance(g, o);
            if (d < bestDistance) { best = option; bestDistance = d; }
        }
        if (best is not null && bestDistance <= Math.Max(1, g.Length / 4)) return best;
        var prefixed = declared.Where(o => o.StartsWith("--", StringComparison.Ordinal) && o[2..].StartsWith(g, StringComparison.Ordinal)).ToList();
        return g.Length >= 2 && prefixed.Count == 1 ? prefixed[0] : null;
    }

    /// <summary>Optimal string alignment distance (Damerau-Levenshtein without repeated edits of one substring).</summary>
    internal static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (int i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (int j = 0; j <= b.Length; j++) d[0, j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        }
        return d[a.Length, b.Length];
    }
}
