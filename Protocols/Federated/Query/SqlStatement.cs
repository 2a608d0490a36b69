namespace Smpc.Protocols.Federated.Query;

/// <summary>
/// Checks that query text is one SELECT (or WITH … SELECT) statement, skipping strings, quoted identifiers and comments
/// as the dialect's own tokenizer does; a second statement hidden after a ';' is refused, not run.
/// </summary>
public static class SqlStatement
{
    /// <summary>The statement without its trailing ';' and whitespace.</summary>
    /// <exception cref="QueryRefusedException">The text is not exactly one SELECT or WITH statement.</exception>
    public static string Single(string sql, SqlDialect dialect)
    {
        var end = -1;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            var next = i + 1 < sql.Length ? sql[i + 1] : '\0';
            if (end >= 0 && !char.IsWhiteSpace(c) && !(c == '-' && next == '-') && !(c == '/' && next == '*') && c != ';')
            {
                throw new QueryRefusedException("the query must be a single SQL statement (text follows the ';')");
            }

            switch (c)
            {
                case '\'':
                    var backslashEscapes = dialect == SqlDialect.Postgres && i > 0 && sql[i - 1] is 'e' or 'E' && (i < 2 || !IsIdentifierChar(sql[i - 2]));
                    i = SkipQuoted(sql, i, '\'', backslashEscapes);
                    break;
                case '"':
                    i = SkipQuoted(sql, i, '"', false);
                    break;
                case '`' when dialect == SqlDialect.Sqlite:
                    i = SkipQuoted(sql, i, '`', false);
                    break;
                case '[' when dialect == SqlDialect.Sqlite:
                    i = SkipTo(sql, i + 1, "]");
                    break;
                case '-' when next == '-':
                    var lineEnd = sql.IndexOf('\n', i);
                    i = lineEnd < 0 ? sql.Length : lineEnd + 1;
                    break;
                case '/' when next == '*':
                    i = SkipBlockComment(sql, i, nested: dialect == SqlDialect.Postgres);
                    break;
                case '$' when dialect == SqlDialect.Postgres && (i == 0 || !IsIdentifierChar(sql[i - 1])) && DollarTag(sql, i) is { } tag:
                    i = SkipTo(sql, i + tag.Length, tag);
                    break;
                case ';':
                    if (end < 0) end = i;
                    i++;
                    break;
                default:
                    i++;
                    break;
            }
        }

        var statement = (end >= 0 ? sql[..end] : sql).Trim();
        var first = FirstWord(statement);
        if (!string.Equals(first, "SELECT", StringComparison.OrdinalIgnoreCase) && !string.Equals(first, "WITH", StringComparison.OrdinalIgnoreCase))
        {
            throw new QueryRefusedException($"the query must be a SELECT statement, not {(first.Length == 0 ? "empty" : first.ToUpperInvariant())}");
        }

        return statement;
    }

    private static string FirstWord(string sql)
    {
        var i = 0;
        while (i < sql.Length)
        {
            if (char.IsWhiteSpace(sql[i]))
            {
                i++;
            }
            else if (sql[i] == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var lineEnd = sql.IndexOf('\n', i);
                i = lineEnd < 0 ? sql.Length : lineEnd + 1;
            }
            else if (sql[i] == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                i = SkipBlockComment(sql, i, nested: true);
            }
            else
            {
                break;
            }
        }

        var start = i;
        while (i < sql.Length && IsIdentifierChar(sql[i])) i++;
        return i > start ? sql[start..i] : (start < sql.Length ? sql[start].ToString() : string.Empty);
    }

    private static bool IsIdentifierChar(char c) => char.IsLetterOrDigit(c) || c is '_' or '$';

    /// <summary>Index after the closing quote; a doubled quote (or, with backslash escapes, \x) stays inside.</summary>
    private static int SkipQuoted(string sql, int start, char quote, bool backslashEscapes)
    {
        var i = start + 1;
        while (i < sql.Length)
        {
            if (backslashEscapes && sql[i] == '\\')
            {
                i += 2;
            }
            else if (sql[i] == quote)
            {
                if (i + 1 < sql.Length && sql[i + 1] == quote) i += 2;
                else return i + 1;
            }
            else
            {
                i++;
            }
        }

        throw Unterminated();
    }

    private static int SkipTo(string sql, int from, string terminator)
    {
        var end = sql.IndexOf(terminator, from, StringComparison.Ordinal);
        return end < 0 ? throw Unterminated() : end + terminator.Length;
    }

    private static int SkipBlockComment(string sql, int start, bool nested)
    {
        var depth = 0;
        var i = start;
        while (i + 1 < sql.Length)
        {
            if (sql[i] == '/' && sql[i + 1] == '*' && (nested || depth == 0))
            {
                depth++;
                i += 2;
            }
            else if (sql[i] == '*' && sql[i + 1] == '/')
            {
                depth--;
                i += 2;
                if (depth == 0) return i;
            }
            else
            {
                i++;
            }
        }

        throw Unterminated();
    }

    /// <summary>"$tag$" or "$$" starting at <paramref name="start"/>, or null when the '$' does not open a dollar-quoted string.</summary>
    private static string? DollarTag(string sql, int start)
    {
        var i = start + 1;
        if (i < sql.Length && (char.IsLetter(sql[i]) || sql[i] == '_'))
        {
            while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] == '_')) i++;
        }

        return i < sql.Length && sql[i] == '$' ? sql[start..(i + 1)] : null;
    }

    private static QueryRefusedException Unterminated() =>
        new("the query text is incomplete: a string, quoted name or comment is not closed");
}
