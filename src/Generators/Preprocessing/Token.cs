namespace Kvm.Generators.Preprocessing;

public enum TokenKind { Identifier, Number, CharLiteral, String, Punct }

/// <summary>A C token with where it came from. <see cref="NoExpand"/> marks a macro name met while that macro was
/// being expanded (C's "painted blue" rule), so it is never expanded again.</summary>
public readonly struct Token
{
    public Token(TokenKind kind, string text, string file, int line, int column, bool spaceBefore, bool noExpand = false)
    {
        Kind = kind;
        Text = text;
        File = file;
        Line = line;
        Column = column;
        SpaceBefore = spaceBefore;
        NoExpand = noExpand;
    }

    public TokenKind Kind { get; }
    public string Text { get; }
    public string File { get; }
    public int Line { get; }
    public int Column { get; }
    public bool SpaceBefore { get; }
    public bool NoExpand { get; }

    public bool Is(string punctOrWord) => Text == punctOrWord && Kind != TokenKind.String && Kind != TokenKind.CharLiteral;

    public bool IsIdentifier => Kind == TokenKind.Identifier;

    public Token Painted() => new(Kind, Text, File, Line, Column, SpaceBefore, noExpand: true);

    public Token WithSpace(bool space) => new(Kind, Text, File, Line, Column, space, NoExpand);

    public override string ToString() => Text;
}
