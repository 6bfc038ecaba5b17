namespace Kvm.Generators.Tests.Fuzz;

/// <summary>Seeded mutants of one header: truncations, deleted, duplicated and swapped lines, inserted junk,
/// byte noise, and the <see cref="HostileShapes"/> spliced in at a line boundary. Mutant i depends only on the
/// seed and i, so a failure is reproduced by its number.</summary>
internal sealed class HeaderMutator
{
    private static readonly string[] Junk =
    {
        "(", ")", "{", "}", "[", "]", ";", "\"", "'", "/*", "*/", "\\\n", "#if\n", "#endif\n", "#else\n", "#elif 1\n", "#define X(\n",
        "#include <nope.h>\n", "#include\n", "_IOW(", "__attribute__((", "struct", "union {", "enum {", "typedef", "##", "#",
        "sizeof(", "0x", "99999999999999999999999", "((((((((((((((((((((", ":", "?", "__DECLARE_FLEX_ARRAY(", "__u64", "int", "*",
        ",", "=", "-1", "\u0002", "\0", "__attribute__((aligned(3)))", "__attribute__((packed))", "long long long", ":0", ":65",
    };

    private readonly string _text;
    private readonly string[] _lines;
    private readonly IReadOnlyList<(string Name, string Text)> _shapes;
    private readonly int _seed;

    public HeaderMutator(string text, int seed, IReadOnlyList<(string Name, string Text)> shapes)
    {
        _text = text; _lines = text.Split('\n'); _seed = seed; _shapes = shapes;
    }

    public const int Kinds = 9;

    /// <summary>Mutant number <paramref name="i"/>: its kind (for the counts) and its text.</summary>
    public (string Kind, string Text) Mutant(int i)
    {
        var rng = new Random(unchecked(_seed * 1_000_003 + i));
        switch (i % Kinds)
        {
            case 0: return ("truncate", _text.Substring(0, rng.Next(_text.Length / 10, _text.Length - 1)));
            case 1: { int n = rng.Next(_lines.Length); return ("delete-line", string.Join("\n", _lines.Where((_, k) => k != n))); }
            case 2: return ("insert-junk", Insert(_text, rng, Junk[rng.Next(Junk.Length)]));
            case 3:
            {
                var t = _text;
                for (int k = 0; k < 3; k++) t = Insert(t, rng, Junk[rng.Next(Junk.Length)]);
                return ("insert-junk-x3", t);
            }
            case 4:
            {
                var copy = (string[])_lines.Clone();
                int a = rng.Next(copy.Length), b = rng.Next(copy.Length);
                (copy[a], copy[b]) = (copy[b], copy[a]);
                return ("swap-lines", string.Join("\n", copy));
            }
            case 5: { int n = rng.Next(_lines.Length); return ("duplicate-line", string.Join("\n", _lines.Take(n + 1).Append(_lines[n]).Concat(_lines.Skip(n + 1)))); }
            case 6: return ("byte-noise", new string(_text.Select(c => rng.Next(600) == 0 ? "(){};#[]*,\u0003"[rng.Next(11)] : c).ToArray()));
            case 7:
            {
                // A hostile shape in the middle of the header, at a line boundary (often inside a struct).
                var (name, shape) = _shapes[(i / Kinds) % _shapes.Count];
                int n = rng.Next(_lines.Length);
                return ("shape:" + name + "@inside", string.Join("\n", _lines.Take(n).Append(shape).Concat(_lines.Skip(n))));
            }
            default:
            {
                // The same shape before the include guard's #endif, i.e. at file scope where it is meant to be.
                var (name, shape) = _shapes[(i / Kinds) % _shapes.Count];
                int end = _text.LastIndexOf("#endif", StringComparison.Ordinal);
                return ("shape:" + name, end < 0 ? _text + "\n" + shape : _text.Substring(0, end) + shape + _text.Substring(end));
            }
        }
    }

    private static string Insert(string text, Random rng, string junk)
    {
        int at = rng.Next(text.Length);
        return text.Substring(0, at) + junk + text.Substring(at);
    }
}
