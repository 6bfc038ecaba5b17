namespace Kvm.Fdt;

/// <summary>
/// The naming rules of the Devicetree Specification that a flattened tree must keep: a node name is 1..31 characters
/// of <c>[0-9a-zA-Z,._+-]</c> starting with a letter, optionally followed by <c>@unit-address</c>; a property name is
/// 1..31 characters of <c>[0-9a-zA-Z,._+?#-]</c>. Pure checks; no kernel involved.
/// </summary>
internal static class FdtNames
{
    public const int MaxLength = 31;

    public static void RequireNodeName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        var at = name.IndexOf('@');
        var baseName = at < 0 ? name : name[..at];
        if (baseName.Length is 0 or > MaxLength)
            Fail.Argument(paramName, $"a device-tree node name is 1..{MaxLength} characters before any '@' (got '{name}'); only the root node is unnamed");
        if (!char.IsAsciiLetter(baseName[0]))
            Fail.Argument(paramName, $"a device-tree node name starts with a letter (got '{name}')");
        foreach (var c in baseName)
            if (!IsNodeChar(c))
                Fail.Argument(paramName, $"a device-tree node name uses only [0-9a-zA-Z,._+-] (got '{c}' in '{name}')");
        if (at < 0)
            return;
        var unit = name[(at + 1)..];
        if (unit.Length == 0)
            Fail.Argument(paramName, $"a device-tree unit address after '@' is not empty (got '{name}')");
        foreach (var c in unit)
            if (!IsNodeChar(c))
                Fail.Argument(paramName, $"a device-tree unit address uses only [0-9a-zA-Z,._+-] (got '{c}' in '{name}')");
    }

    public static void RequirePropertyName(string name, string paramName)
    {
        ArgumentNullException.ThrowIfNull(name, paramName);
        if (name.Length is 0 or > MaxLength)
            Fail.Argument(paramName, $"a device-tree property name is 1..{MaxLength} characters (got '{name}')");
        foreach (var c in name)
            if (!IsNodeChar(c) && c is not '?' and not '#')
                Fail.Argument(paramName, $"a device-tree property name uses only [0-9a-zA-Z,._+?#-] (got '{c}' in '{name}')");
    }

    public static void RequireStringValue(string value, string paramName)
    {
        ArgumentNullException.ThrowIfNull(value, paramName);
        foreach (var c in value)
            if (c is '\0' or > '\x7f')
                Fail.Argument(paramName, "a device-tree string value is printable ASCII without NUL (the blob terminates each string with NUL)");
    }

    private static bool IsNodeChar(char c) => char.IsAsciiLetterOrDigit(c) || c is ',' or '.' or '_' or '+' or '-';
}
