using System.Collections.Generic;
using System.Text;

namespace Kvm.Generators.Preprocessing;

/// <summary>One logical source line (backslash continuations joined, comments removed) and its tokens.</summary>
public sealed class SourceLine
{
    public SourceLine(int line, List<Token> tokens)
    {
        Line = line;
        Tokens = tokens;
    }

    public int Line { get; }
    public List<Token> Tokens { get; }
    public bool IsDirective => Tokens.Count > 0 && Tokens[0].Is("#");
}

/// <summary>A lexical error gcc reports whatever the conditionals say.</summary>
public sealed record LexProblem(int Line, int Column, string Message);

/// <summary>Splits header text into logical lines of C tokens. Never throws: what it cannot read becomes a
/// one-character punctuator that the later stages report.</summary>
public static class Lexer
{
    private static readonly string[] Puncts3 = { "<<=", ">>=", "...", };
    private static readonly string[] Puncts2 = { "##", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "->", "++", "--", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=" };

    public static List<SourceLine> Lex(string text, string file) => Lex(text, file, null);

    /// <param name="problems">Receives what gcc would refuse before any directive is read (an unterminated
    /// comment), with its line and column.</param>
    public static List<SourceLine> Lex(string text, string file, List<LexProblem>? problems)
    {
        var lines = new List<SourceLine>();
        var tokens = new List<Token>();
        var pool = new TokenTextPool();
        int i = 0, line = 1, col = 1, logicalStart = 1;
        bool space = false, inBlockComment = false;
        int commentLine = 0, commentCol = 0;
        int n = text.Length;

        // One scratch list grows once; each line keeps an exact-size copy (a 100,000-line header otherwise leaves
        // three outgrown arrays per line for the collector).
        void EndLine()
        {
            lines.Add(new SourceLine(logicalStart, new List<Token>(tokens)));
            tokens.Clear();
        }

        while (i < n)
        {
            char c = text[i];
            if (inBlockComment)
            {
                if (c == '*' && i + 1 < n && text[i + 1] == '/') { inBlockComment = false; i += 2; col += 2; space = true; continue; }
                if (c == '\n') { line++; col = 1; } else col++;
                i++;
                continue;
            }
            if (c == '\\' && i + 1 < n && (text[i + 1] == '\n' || (text[i + 1] == '\r' && i + 2 < n && text[i + 2] == '\n')))
            {
                i += text[i + 1] == '\r' ? 3 : 2; line++; col = 1; space = true;
                continue;
            }
            if (c == '\n')
            {
                EndLine();
                i++; line++; col = 1; logicalStart = line; space = false;
                continue;
            }
            // gcc ignores NUL bytes with a warning; other control bytes stay tokens and are refused where they are read.
            if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || c == '\0') { i++; col++; space = true; continue; }
            if (c == '/' && i + 1 < n && text[i + 1] == '*') { inBlockComment = true; commentLine = line; commentCol = col; i += 2; col += 2; continue; }
            if (c == '/' && i + 1 < n && text[i + 1] == '/')
            {
                while (i < n && text[i] != '\n') i++;
                continue;
            }

            int startCol = col, start = i;
            TokenKind kind;
            if (IsIdentStart(c))
            {
                while (i < n && IsIdentPart(text[i])) i++;
                kind = TokenKind.Identifier;
            }
            else if (char.IsDigit(c) || (c == '.' && i + 1 < n && char.IsDigit(text[i + 1])))
            {
                // pp-number: digits, letters, dots, and exponent signs.
                i++;
                while (i < n && (IsIdentPart(text[i]) || text[i] == '.' ||
                       ((text[i] == '+' || text[i] == '-') && (text[i - 1] == 'e' || text[i - 1] == 'E' || text[i - 1] == 'p' || text[i - 1] == 'P'))))
                    i++;
                kind = TokenKind.Number;
            }
            else if (c == '"' || c == '\'')
            {
                i++;
                while (i < n && text[i] != c && text[i] != '\n')
                {
                    if (text[i] == '\\' && i + 1 < n) i++;
                    i++;
                }
                if (i < n && text[i] == c) i++;
                kind = c == '"' ? TokenKind.String : TokenKind.CharLiteral;
            }
            else
            {
                kind = TokenKind.Punct;
                i += PunctLength(text, i);
            }
            string s = pool.Get(text, start, i - start);
            col += i - start;
            tokens.Add(new Token(kind, s, file, line, startCol, space));
            space = false;
        }
        if (tokens.Count > 0) EndLine();
        if (inBlockComment) problems?.Add(new LexProblem(commentLine, commentCol, "unterminated comment: '/*' is never closed before the end of the file"));
        return lines;
    }

    private static int PunctLength(string text, int i)
    {
        foreach (var p in Puncts3)
            if (string.CompareOrdinal(text, i, p, 0, 3) == 0) return 3;
        foreach (var p in Puncts2)
            if (string.CompareOrdinal(text, i, p, 0, 2) == 0) return 2;
        return 1;
    }

    public static bool IsIdentStart(char c) => c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

    public static bool IsIdentPart(char c) => IsIdentStart(c) || (c >= '0' && c <= '9');

    /// <summary>Renders tokens back as C text (for diagnostics, stringizing and the oracle's probes).</summary>
    public static string Render(IEnumerable<Token> tokens)
    {
        var sb = new StringBuilder();
        foreach (var t in tokens)
        {
            if (sb.Length > 0 && t.SpaceBefore) sb.Append(' ');
            sb.Append(t.Text);
        }
        return sb.ToString();
    }
}
