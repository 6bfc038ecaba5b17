namespace Kvm.Cli;

/// <summary>Checks a <c>--namespace</c> before any C# is written: dot-separated identifiers, none a C# keyword.</summary>
internal static class NamespaceName
{
    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while", "global",
    };

    /// <summary>Null when <paramref name="name"/> is a usable namespace, else why not.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0) return "it is empty";
        foreach (var part in name.Split('.'))
        {
            if (part.Length == 0) return "it has an empty part (two dots, or a dot at an end)";
            if (Keywords.Contains(part)) return $"'{part}' is a C# keyword";
            if (!(char.IsLetter(part[0]) || part[0] == '_')) return $"'{part}' does not start with a letter or '_'";
            var bad = part.FirstOrDefault(c => !(char.IsLetterOrDigit(c) || c == '_'));
            if (bad != default) return $"'{part}' contains '{bad}'";
        }
        return null;
    }
}
