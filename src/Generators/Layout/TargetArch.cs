using System;
using System.Collections.Generic;
using System.Linq;

namespace Kvm.Generators.Layout;

/// <summary>How an architecture packs an ioctl number (<c>_IOC</c>): field widths and the direction codes. The
/// asm-generic layout (x86_64, arm64, riscv64, s390x, loongarch64) has a 14-bit size and a 2-bit direction with
/// write = 1, read = 2; powerpc has a 13-bit size and a 3-bit direction with none = 1, read = 2, write = 4.</summary>
public sealed class IocLayout
{
    public IocLayout(int sizeBits, int dirBits, uint none, uint read, uint write)
    {
        SizeBits = sizeBits; DirBits = dirBits; None = none; Read = read; Write = write;
    }

    public static readonly IocLayout Generic = new(14, 2, 0, 2, 1);
    public static readonly IocLayout PowerPc = new(13, 3, 1, 2, 4);

    public int SizeBits { get; }
    public int DirBits { get; }
    public uint None { get; }
    public uint Read { get; }
    public uint Write { get; }

    /// <summary>Bit 16 and up: size, then direction (nr is bits 0-7, type bits 8-15 everywhere).</summary>
    public long Size(ulong value) => (long)((value >> 16) & ((1UL << SizeBits) - 1));

    /// <summary>The direction in the model's encoding (the generic one: 0 none, 1 write, 2 read, 3 both).</summary>
    public int Direction(ulong value)
    {
        uint dir = (uint)((value >> (16 + SizeBits)) & ((1UL << DirBits) - 1));
        int result = 0;
        if ((dir & Write) != 0) result |= 1;
        if ((dir & Read) != 0) result |= 2;
        return result;
    }
}

/// <summary>
/// A Linux target KVM runs on. All six are LP64 (int 4, long and pointers 8, __int128 16 bytes, natural
/// alignment); they differ in byte order (s390x is big-endian, which numbers bitfields from the most significant
/// bit), plain char's signedness, the <c>_IOC</c> layout (powerpc), long double's alignment (s390x: 8), the
/// predefined macros that select asm/ headers, and Debian's multiarch triplet.
/// </summary>
public sealed class TargetArch : IEquatable<TargetArch>
{
    private TargetArch(string name, string multiarch, string suffix, bool charIsSigned, bool bigEndian, IocLayout ioc, long longDoubleAlign, string[] predefined, string[] aliases)
    {
        Name = name; Multiarch = multiarch; NamespaceSuffix = suffix; CharIsSigned = charIsSigned; BigEndian = bigEndian; Ioc = ioc;
        LongDoubleAlign = longDoubleAlign; PredefinedMacros = predefined; _aliases = aliases;
    }

    private readonly string[] _aliases;

    public static readonly TargetArch X86_64 = new("x86_64", "x86_64-linux-gnu", "X86_64", true, false, IocLayout.Generic, 16,
        new[] { "__x86_64__", "__x86_64", "__amd64__", "__amd64" }, new[] { "x64", "amd64" });
    public static readonly TargetArch Arm64 = new("arm64", "aarch64-linux-gnu", "Arm64", false, false, IocLayout.Generic, 16,
        new[] { "__aarch64__", "__ARM_64BIT_STATE" }, new[] { "aarch64" });
    public static readonly TargetArch Riscv64 = new("riscv64", "riscv64-linux-gnu", "Riscv64", false, false, IocLayout.Generic, 16,
        new[] { "__riscv", "__riscv_xlen=64" }, Array.Empty<string>());
    public static readonly TargetArch S390x = new("s390x", "s390x-linux-gnu", "S390x", false, true, IocLayout.Generic, 8,
        new[] { "__s390__", "__s390x__", "__zarch__" }, new[] { "s390" });
    public static readonly TargetArch Ppc64le = new("ppc64le", "powerpc64le-linux-gnu", "Ppc64le", false, false, IocLayout.PowerPc, 16,
        new[] { "__powerpc__", "__powerpc64__", "__PPC__", "__PPC64__", "_ARCH_PPC", "_ARCH_PPC64", "__ppc64__" }, new[] { "powerpc64le", "ppc64el" });
    public static readonly TargetArch Loongarch64 = new("loongarch64", "loongarch64-linux-gnu", "Loongarch64", true, false, IocLayout.Generic, 16,
        new[] { "__loongarch__", "__loongarch64", "__loongarch_grlen=64" }, new[] { "loong64" });

    /// <summary>Every architecture KVM runs on: the bindings and <c>kvmsdk abi</c> serve all of them.</summary>
    public static readonly TargetArch[] All = { X86_64, Arm64, Riscv64, S390x, Ppc64le, Loongarch64 };

    /// <summary>The architectures of the typed SDK and of the vendored headers (the source generator's default).</summary>
    public static readonly TargetArch[] Vendored = { X86_64, Arm64 };

    /// <summary>"x86_64", "arm64", "riscv64", "s390x", "ppc64le" or "loongarch64", as the kernel and the CLI spell them.</summary>
    public string Name { get; }

    /// <summary>Debian's multiarch directory for this target's asm/ headers.</summary>
    public string Multiarch { get; }

    public bool CharIsSigned { get; }

    public bool BigEndian { get; }

    public IocLayout Ioc { get; }

    public long LongDoubleAlign { get; }

    /// <summary>Macros gcc predefines for the target: NAME (defined as 1) or NAME=VALUE.</summary>
    public string[] PredefinedMacros { get; }

    /// <summary>The C# namespace part for types that differ on this architecture.</summary>
    public string NamespaceSuffix { get; }

    public static TargetArch? Parse(string name)
    {
        var n = name.Trim().ToLowerInvariant();
        return All.FirstOrDefault(a => a.Name == n || a._aliases.Contains(n));
    }

    /// <summary>The predefined macros as name/value pairs.</summary>
    public IEnumerable<KeyValuePair<string, string>> Predefined() =>
        PredefinedMacros.Select(m => m.IndexOf('=') is int eq && eq > 0 ? new KeyValuePair<string, string>(m.Substring(0, eq), m.Substring(eq + 1)) : new KeyValuePair<string, string>(m, "1"));

    public bool Equals(TargetArch? other) => other is not null && other.Name == Name;

    public override bool Equals(object? obj) => Equals(obj as TargetArch);

    public override int GetHashCode() => Name.GetHashCode();

    public override string ToString() => Name;
}
