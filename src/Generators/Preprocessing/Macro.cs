using System.Collections.Generic;

namespace Kvm.Generators.Preprocessing;

/// <summary>A <c>#define</c>. <see cref="IncludeName"/> is how it was included (e.g. <c>linux/kvm.h</c>), which
/// decides whether its constants belong to the KVM ABI.</summary>
public sealed class Macro
{
    public Macro(string name, bool isFunction, List<string> parameters, bool variadic, List<Token> body, string file, string includeName, int line)
    {
        Name = name; IsFunction = isFunction; Parameters = parameters; IsVariadic = variadic; Body = body;
        File = file; IncludeName = includeName; Line = line;
    }

    public string Name { get; }
    public bool IsFunction { get; }
    public List<string> Parameters { get; }
    public bool IsVariadic { get; }
    public List<Token> Body { get; }
    public string File { get; }
    public string IncludeName { get; }
    public int Line { get; }

    public bool SameDefinition(Macro other)
    {
        if (IsFunction != other.IsFunction || Body.Count != other.Body.Count || Parameters.Count != other.Parameters.Count) return false;
        for (int i = 0; i < Parameters.Count; i++) if (Parameters[i] != other.Parameters[i]) return false;
        for (int i = 0; i < Body.Count; i++) if (Body[i].Text != other.Body[i].Text) return false;
        return true;
    }
}
