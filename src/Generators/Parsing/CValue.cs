using System;

namespace Kvm.Generators.Parsing;

/// <summary>The C integer types an LP64 constant expression can have (x86_64 and arm64 agree on all of them).</summary>
public enum CIntKind { Int, UInt, Long, ULong, LongLong, ULongLong }

/// <summary>An integer constant with its C type: 64 bits of value, interpreted through <see cref="Kind"/>.</summary>
public readonly struct CValue : IEquatable<CValue>
{
    public CValue(ulong bits, CIntKind kind)
    {
        Kind = kind;
        Bits = Is32(kind) ? (IsSigned(kind) ? (ulong)(long)(int)(uint)bits : (uint)bits) : bits;
    }

    public ulong Bits { get; }
    public CIntKind Kind { get; }

    public bool Signed => IsSigned(Kind);
    public long AsSigned => (long)Bits;
    public bool IsZero => Bits == 0;

    public static CValue Int(long v) => new((ulong)v, CIntKind.Int);

    public static bool IsSigned(CIntKind k) => k == CIntKind.Int || k == CIntKind.Long || k == CIntKind.LongLong;

    public static bool Is32(CIntKind k) => k == CIntKind.Int || k == CIntKind.UInt;

    public static int Rank(CIntKind k) => k switch
    {
        CIntKind.Int or CIntKind.UInt => 1,
        CIntKind.Long or CIntKind.ULong => 2,
        _ => 3,
    };

    public static CIntKind ToUnsigned(CIntKind k) => k switch
    {
        CIntKind.Int => CIntKind.UInt,
        CIntKind.Long => CIntKind.ULong,
        CIntKind.LongLong => CIntKind.ULongLong,
        _ => k,
    };

    /// <summary>C's usual arithmetic conversions for two (already promoted) integer types, LP64.</summary>
    public static CIntKind Common(CIntKind a, CIntKind b)
    {
        if (a == b) return a;
        bool sa = IsSigned(a), sb = IsSigned(b);
        if (sa == sb) return Rank(a) >= Rank(b) ? a : b;
        var (s, u) = sa ? (a, b) : (b, a);
        if (Rank(u) >= Rank(s)) return u;
        // The signed type is wider: it represents every value of the unsigned one only if it has more bits.
        if (!Is32(s) && Is32(u)) return s;
        return ToUnsigned(s);
    }

    /// <summary>The C# type that holds this C type exactly.</summary>
    public static string CSharpType(CIntKind k) => k switch
    {
        CIntKind.Int => "int",
        CIntKind.UInt => "uint",
        CIntKind.Long or CIntKind.LongLong => "long",
        _ => "ulong",
    };

    public static string CName(CIntKind k) => k switch
    {
        CIntKind.Int => "int",
        CIntKind.UInt => "unsigned int",
        CIntKind.Long => "long",
        CIntKind.ULong => "unsigned long",
        CIntKind.LongLong => "long long",
        _ => "unsigned long long",
    };

    public CValue Convert(CIntKind to) => new(Bits, to);

    /// <summary>The value as a C# literal of <see cref="CSharpType(CIntKind)"/>.</summary>
    public string ToCSharpLiteral() => Kind switch
    {
        CIntKind.Int => ((int)AsSigned).ToString(System.Globalization.CultureInfo.InvariantCulture),
        CIntKind.UInt => Bits > 9 ? $"0x{Bits:X}U" : $"{Bits}U",
        CIntKind.Long or CIntKind.LongLong => AsSigned == long.MinValue ? "long.MinValue" : $"{AsSigned}L",
        _ => Bits > 9 ? $"0x{Bits:X}UL" : $"{Bits}UL",
    };

    public override string ToString() => Signed ? AsSigned.ToString(System.Globalization.CultureInfo.InvariantCulture) : Bits.ToString(System.Globalization.CultureInfo.InvariantCulture);

    public bool Equals(CValue other) => Bits == other.Bits && Kind == other.Kind;

    public override bool Equals(object? obj) => obj is CValue v && Equals(v);

    public override int GetHashCode() => Bits.GetHashCode() * 7 + (int)Kind;
}
