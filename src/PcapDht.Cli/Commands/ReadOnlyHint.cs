namespace PcapDht.Cli.Commands;

/// <summary>
/// The `--write` hint for a statement that changes data on a read-only open. DuckDB refuses DROP or INSERT
/// there with "read-only mode", but binds DELETE and UPDATE first, so on a view (messages, node_sightings, ...)
/// the user saw a Binder error instead of being told the database was opened read-only.
/// </summary>
internal static class ReadOnlyHint
{
    public const string Text = "the database is opened read-only; add --write to change it";

    private static readonly HashSet<string> Changing = new(StringComparer.OrdinalIgnoreCase)
    {
        "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "COPY", "IMPORT",
        "CHECKPOINT", "VACUUM", "COMMENT",
    };

    /// <summary>The error line with the hint appended, when the open was read-only and the SQL tries to change data.</summary>
    public static string Add(string errorLine, string sql, bool write)
    {
        if (write || errorLine.Contains(Text, StringComparison.Ordinal)) return errorLine;
        bool readOnlyError = errorLine.Contains("read-only", StringComparison.OrdinalIgnoreCase);
        return readOnlyError || ChangesData(sql) ? $"{errorLine} ({Text})" : errorLine;
    }

    /// <summary>True when a statement of <paramref name="sql"/> starts with a keyword that changes data or schema.</summary>
    public static bool ChangesData(string sql)
    {
        foreach (var statement in Statements(sql))
        {
            var words = TopLevelWords(statement);
            if (words.Count == 0) continue;
            if (Changing.Contains(words[0])) return true;
            // WITH ... AS (...) DELETE/INSERT/UPDATE: the statement's verb follows the common table expressions.
            if (words[0].Equals("WITH", StringComparison.OrdinalIgnoreCase) && words.Skip(1).Any(w => w is not null && Changing.Contains(w)))
                return true;
        }
        return false;
    }

    /// <summary>The words of a statement outside parentheses (quotes were kept whole by <see cref="Statements"/>).</summary>
    private static List<string> TopLevelWords(string statement)
    {
        var words = new List<string>();
        int depth = 0, i = 0;
        while (i < statement.Length)
        {
            char c = statement[i];
            if (c == '(') { depth++; i++; }
            else if (c == ')') { depth = Math.Max(0, depth - 1); i++; }
            else if (c is '\'' or '"')
            {
                int close = statement.IndexOf(c, i + 1);
                i = close < 0 ? statement.Length : close + 1;
            }
            else if (char.IsAsciiLetter(c))
            {
                int start = i;
                while (i < statement.Length && (char.IsAsciiLetterOrDigit(statement[i]) || statement[i] == '_')) i++;
                // A leading parenthesis (a bracketed query) still counts: only words inside a nested one do not.
                if (depth == 0 || words.Count == 0) words.Add(statement[start..i]);
            }
            else i++;
        }
        return words;
    }

    /// <summary>The statements of a script: split at ';' outside quotes, with -- and /* */ comments removed.</summary>
    private static IEnumerable<string> Statements(string sql)
    {
        var current = new System.Text.StringBuilder();
        for (int i = 0; i < sql.Length; i++)
        {
            char c = sql[i];
            if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                while (i < sql.Length && sql[i] != '\n') i++;
                current.Append(' ');
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                int close = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = close < 0 ? sql.Length : close + 1;
                current.Append(' ');
            }
            else if (c is '\'' or '"')
            {
                int close = sql.IndexOf(c, i + 1);
                int stop = close < 0 ? sql.Length - 1 : close;
                current.Append(sql, i, stop - i + 1);
                i = stop;
            }
            else if (c == ';')
            {
                yield return current.ToString();
                current.Clear();
            }
            else current.Append(c);
        }
        yield return current.ToString();
    }
}
