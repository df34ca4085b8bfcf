using DuckDB.NET.Data;
using DuckDB.NET.Native;

namespace PcapDht.Analysis;

/// <summary>One statement of a script: its 1-based position, the line it starts on, and its text.</summary>
public sealed record SqlStatement(int Number, int Line, string Text);

/// <summary>A statement of a script failed; nothing after it ran.</summary>
public sealed class SqlScriptException(SqlStatement statement, int count, string message, Exception? inner = null)
    : Exception(count == 1 ? message : $"statement {statement.Number} of {count} (line {statement.Line}): {message}", inner)
{
    public SqlStatement Statement { get; } = statement;
    public int StatementCount { get; } = count;
}

/// <summary>
/// Splits a SQL script into statements the way DuckDB's lexer reads it — semicolons outside 'strings' (with ''
/// and, in E'...', backslash escapes), "identifiers", $tag$ dollar-quoted strings $tag$, -- line and nested /* */
/// block comments — and checks each piece with DuckDB's own parser before anything runs, so a syntax error
/// anywhere stops the script with that statement's position and nothing executed.
/// </summary>
public static class SqlScript
{
    public static IReadOnlyList<SqlStatement> Split(string sql)
    {
        var pieces = new List<SqlStatement>();
        int start = 0, i = 0, n = sql.Length;
        bool content = false; // a token other than whitespace or a comment since the last ';'
        int contentStart = 0;
        while (i < n)
        {
            char c = sql[i];
            if (c == ';')
            {
                Add(start, i);
                start = ++i;
                continue;
            }
            if (c == '-' && i + 1 < n && sql[i + 1] == '-')
            {
                while (i < n && sql[i] != '\n') i++;
                continue;
            }
            if (c == '/' && i + 1 < n && sql[i + 1] == '*')
            {
                int depth = 0;
                while (i < n)
                {
                    if (sql[i] == '/' && i + 1 < n && sql[i + 1] == '*') { depth++; i += 2; }
                    else if (sql[i] == '*' && i + 1 < n && sql[i + 1] == '/') { i += 2; if (--depth == 0) break; }
                    else i++;
                }
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                i++;
                continue;
            }
            if (!content) { content = true; contentStart = i; }
            if (c == '\'')
            {
                bool escapes = i > 0 && sql[i - 1] is 'E' or 'e' && (i < 2 || !IsIdentifier(sql[i - 2]));
                i = SkipQuoted(sql, i, '\'', escapes);
            }
            else if (c == '"')
                i = SkipQuoted(sql, i, '"', escapes: false);
            else if (c == '$' && (i == 0 || !IsIdentifier(sql[i - 1])) && DollarTag(sql, i) is { } tag)
            {
                int end = sql.IndexOf(tag, i + tag.Length, StringComparison.Ordinal);
                i = end < 0 ? n : end + tag.Length;
            }
            else
                i++;
        }
        Add(start, n);
        return pieces;

        void Add(int from, int to)
        {
            if (content)
            {
                int line = 1;
                for (int k = 0; k < contentStart; k++) if (sql[k] == '\n') line++;
                pieces.Add(new SqlStatement(pieces.Count + 1, line, sql[from..to]));
            }
            content = false;
        }
    }

    private static int SkipQuoted(string sql, int i, char quote, bool escapes)
    {
        i++;
        while (i < sql.Length)
        {
            char c = sql[i];
            if (escapes && c == '\\') { i += 2; continue; }
            if (c == quote)
            {
                if (i + 1 < sql.Length && sql[i + 1] == quote) { i += 2; continue; }
                return i + 1;
            }
            i++;
        }
        return i;
    }

    /// <summary>"$$" or "$tag$" starting at <paramref name="i"/> (a tag is an identifier not starting with a digit).</summary>
    private static string? DollarTag(string sql, int i)
    {
        int j = i + 1;
        while (j < sql.Length && IsIdentifier(sql[j]) && sql[j] != '$') j++;
        if (j >= sql.Length || sql[j] != '$') return null;
        if (j > i + 1 && char.IsAsciiDigit(sql[i + 1])) return null; // $1 is a parameter
        return sql[i..(j + 1)];
    }

    private static bool IsIdentifier(char c) => char.IsLetterOrDigit(c) || c == '_' || c == '$';

    /// <summary>
    /// Statements DuckDB's parser finds in <paramref name="sql"/> (without running anything); null with
    /// <paramref name="error"/> set when it does not parse.
    /// </summary>
    public static int? CountStatements(DuckDBConnection connection, string sql, out string? error)
    {
        error = null;
        int count = NativeMethods.ExtractStatements.DuckDBExtractStatements(connection.NativeConnection, sql, out var extracted);
        using (extracted)
        {
            if (count > 0) return count;
            error = NativeMethods.ExtractStatements.DuckDBExtractStatementsError(extracted);
            return string.IsNullOrEmpty(error) ? 0 : null;
        }
    }
}
