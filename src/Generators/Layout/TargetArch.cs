using System;

namespace Kvm.Generators.Layout;

/// <summary>
/// An LP64 Linux target. x86_64 and arm64 agree on every size and alignment the uAPI uses; they differ in the
/// predefined macros (which select asm/ headers) and in plain char's signedness.
/// </summary>
public sealed class TargetArch : IEquatable<TargetArch>
{
    private TargetArch(string name, string multiarch, bool charIsSigned, string[] predefined)
    {
        Name = name; Multiarch = multiarch; CharIsSigned = charIsSigned; PredefinedMacros = predefined;
    }

    public static readonly TargetArch X86_64 = new("x86_64", "x86_64-linux-gnu", true, new[] { "__x86_64__", "__x86_64", "__amd64__", "__amd64" });
    public static readonly TargetArch Arm64 = new("arm64", "aarch64-linux-gnu", false, new[] { "__aarch64__", "__ARM_64BIT_STATE" });

    public static readonly TargetArch[] All = { X86_64, Arm64 };

    /// <summary>"x86_64" or "arm64", as the kernel and the CLI spell them.</summary>
    public string Name { get; }

    /// <summary>Debian's multiarch directory for this target's asm/ headers.</summary>
    public string Multiarch { get; }

    public bool CharIsSigned { get; }

    public string[] PredefinedMacros { get; }

    /// <summary>The C# namespace part for types that differ on this architecture.</summary>
    public string NamespaceSuffix => Name == "x86_64" ? "X86_64" : "Arm64";

    public static TargetArch? Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "x86_64" or "x64" or "amd64" => X86_64,
        "arm64" or "aarch64" => Arm64,
        _ => null,
    };

    public bool Equals(TargetArch? other) => other is not null && other.Name == Name;

    public override bool Equals(object? obj) => Equals(obj as TargetArch);

    public override int GetHashCode() => Name.GetHashCode();

    public override string ToString() => Name;
}
