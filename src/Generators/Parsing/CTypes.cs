using System.Collections.Generic;

namespace Kvm.Generators.Parsing;

public enum PrimKind { Void, Bool, Char, SChar, UChar, Short, UShort, Int, UInt, Long, ULong, LongLong, ULongLong, Int128, UInt128, Float, Double, LongDouble }

/// <summary>A C type as the declarations parser understands it.</summary>
public abstract class CType
{
    /// <summary>The C spelling, e.g. <c>__u64</c>, <c>struct kvm_regs</c>, <c>__u8[16]</c>.</summary>
    public abstract string CName { get; }

    /// <summary>How many pointer, array and function derivations sit on top of a named type. Bounded by
    /// <see cref="MaxDerivations"/> when the type is built, so every walk over a type is shallow.</summary>
    public virtual int Depth => 0;

    /// <summary>The most derivations one declarator may stack (<c>char x[1][1]...</c>, <c>int ****p</c>); real
    /// uAPI headers use three. Deeper declarators are a KVM0011 error, never a deep recursion.</summary>
    public const int MaxDerivations = 64;

    /// <summary>Strips typedefs.</summary>
    public virtual CType Resolve() => this;

    public override string ToString() => CName;
}

public sealed class PrimType : CType
{
    private PrimType(PrimKind kind, string name) { Kind = kind; Name = name; }

    public PrimKind Kind { get; }
    public string Name { get; }
    public override string CName => Name;

    public bool IsInteger => Kind >= PrimKind.Bool && Kind <= PrimKind.UInt128;

    public static PrimType Get(PrimKind kind) => All[(int)kind];

    private static readonly PrimType[] All =
    {
        new(PrimKind.Void, "void"), new(PrimKind.Bool, "_Bool"), new(PrimKind.Char, "char"), new(PrimKind.SChar, "signed char"),
        new(PrimKind.UChar, "unsigned char"), new(PrimKind.Short, "short"), new(PrimKind.UShort, "unsigned short"),
        new(PrimKind.Int, "int"), new(PrimKind.UInt, "unsigned int"), new(PrimKind.Long, "long"),
        new(PrimKind.ULong, "unsigned long"), new(PrimKind.LongLong, "long long"), new(PrimKind.ULongLong, "unsigned long long"),
        new(PrimKind.Int128, "__int128"), new(PrimKind.UInt128, "unsigned __int128"),
        new(PrimKind.Float, "float"), new(PrimKind.Double, "double"), new(PrimKind.LongDouble, "long double"),
    };
}

public sealed class PointerType : CType
{
    public PointerType(CType target) { Target = target; Depth = target.Depth + 1; }
    public CType Target { get; }
    public override int Depth { get; }
    public override string CName => Target.CName + " *";
}

public sealed class ArrayType : CType
{
    public ArrayType(CType element, long? length) { Element = element; Length = length; Depth = element.Depth + 1; }
    public CType Element { get; }
    public override int Depth { get; }

    /// <summary>Null for a flexible array member (<c>name[]</c>); 0 for the GNU zero-length form.</summary>
    public long? Length { get; }
    public bool IsFlexible => Length is null || Length == 0;
    public override string CName => $"{Element.CName}[{Length}]";
}

public sealed class FunctionType : CType
{
    public FunctionType(CType returns) { Returns = returns; Depth = returns.Depth + 1; }
    public CType Returns { get; }
    public override int Depth { get; }
    public override string CName => Returns.CName + " (*)()";
}

public sealed class TypedefType : CType
{
    public TypedefType(string name, CType target)
    {
        Name = name; Target = target;
        // Resolved once, here: a chain of 100,000 typedefs costs one step per use, not a walk down the chain.
        _resolved = target.Resolve();
    }

    private readonly CType _resolved;
    public string Name { get; }
    public CType Target { get; }
    public override string CName => Name;
    public override int Depth => _resolved.Depth;
    public override CType Resolve() => _resolved;
}

public sealed class EnumType : CType
{
    public EnumType(string? tag) => Tag = tag;
    public string? Tag { get; }
    public bool IsComplete { get; set; }
    public List<KeyValuePair<string, CValue>> Values { get; } = new();
    public override string CName => Tag is null ? "enum <anonymous>" : "enum " + Tag;

    /// <summary>GCC's choice of underlying type: int unless the values need more.</summary>
    public PrimKind Underlying
    {
        get
        {
            bool negative = false; long min = 0; ulong max = 0;
            foreach (var v in Values)
            {
                if (v.Value.Signed && v.Value.AsSigned < 0) { negative = true; if (v.Value.AsSigned < min) min = v.Value.AsSigned; }
                else if (v.Value.Bits > max) max = v.Value.Bits;
            }
            if (negative) return min >= int.MinValue && max <= int.MaxValue ? PrimKind.Int : PrimKind.Long;
            return max <= uint.MaxValue ? PrimKind.UInt : PrimKind.ULong;
        }
    }
}

public sealed class FieldDecl
{
    public FieldDecl(string? name, CType type, int? bitWidth, int alignAttr, string file, int line)
    {
        Name = name; Type = type; BitWidth = bitWidth; AlignAttr = alignAttr; File = file; Line = line;
    }

    /// <summary>Null for an anonymous struct/union member (or an unnamed bitfield).</summary>
    public string? Name { get; }
    public CType Type { get; }
    public int? BitWidth { get; }
    public int AlignAttr { get; }
    public string File { get; }
    public int Line { get; }
}

public sealed class FieldLayout
{
    public FieldLayout(FieldDecl decl, long bitOffset, long size, long align)
    {
        Decl = decl; BitOffset = bitOffset; Size = size; Align = align;
    }

    public FieldDecl Decl { get; }
    public long BitOffset { get; }
    public long Offset => BitOffset / 8;
    public long Size { get; }
    public long Align { get; }
}

public sealed class RecordType : CType
{
    public RecordType(string? tag, bool isUnion, string file, int line)
    {
        Tag = tag; IsUnion = isUnion; File = file; Line = line;
    }

    public string? Tag { get; }
    public bool IsUnion { get; }
    public string File { get; }
    public int Line { get; set; }
    public bool IsComplete { get; set; }
    public bool Packed { get; set; }
    public int AlignAttr { get; set; }
    public List<FieldDecl> Fields { get; } = new();

    /// <summary>Set once the body is parsed and laid out; null while incomplete or when layout failed.</summary>
    public long Size { get; set; }
    public long Align { get; set; }
    public List<FieldLayout>? Layout { get; set; }

    /// <summary>Why the layout could not be computed (then the record is reported, never emitted half-right).</summary>
    public string? LayoutError { get; set; }

    /// <summary>For anonymous records used as a named field's type: the C# name we give them (parent_field).</summary>
    public string? SyntheticName { get; set; }

    public string Keyword => IsUnion ? "union" : "struct";
    public override string CName => Tag is not null ? $"{Keyword} {Tag}" : SyntheticName is not null ? $"{Keyword} <{SyntheticName}>" : $"{Keyword} <anonymous>";
}
