using System;
using System.Collections.Generic;
using Kvm.Generators.Parsing;

namespace Kvm.Generators.Layout;

/// <summary>
/// GCC's LP64 layout rules for the uAPI's structs and unions: natural alignment, <c>packed</c> and
/// <c>aligned(N)</c>, flexible and zero-length arrays, empty structs (size 0, a GNU extension the kernel's
/// <c>__DECLARE_FLEX_ARRAY</c> relies on) and SysV bitfields.
/// </summary>
public static class LayoutEngine
{
    /// <summary>The largest object the engine lays out, in bytes: C allows PTRDIFF_MAX, the engine counts bit
    /// offsets in 64 bits, so it stops at 2^60 bytes and says so instead of wrapping.</summary>
    public const long MaxObjectSize = long.MaxValue / 8;

    public static bool TrySizeAlign(CType type, out long size, out long align, out string? error)
    {
        error = null;
        // Arrays are walked down to their element, then sized from the innermost dimension out: no recursion,
        // and every product is checked (gcc refuses an array larger than PTRDIFF_MAX).
        var t = type.Resolve();
        List<ArrayType>? dims = null;
        while (t is ArrayType a)
        {
            (dims ??= new List<ArrayType>()).Add(a);
            t = a.Element.Resolve();
        }
        if (!TryScalarSizeAlign(t, out size, out align, out error)) { size = 0; return false; }
        if (dims is null) return true;
        for (int i = dims.Count - 1; i >= 0; i--)
        {
            long length = dims[i].IsFlexible ? 0 : dims[i].Length!.Value;
            if (length != 0 && size > MaxObjectSize / length)
            {
                error = $"array {dims[i].CName} is too large ({length} elements of {size} bytes exceed {MaxObjectSize} bytes)";
                size = 0;
                return false;
            }
            size *= length;
        }
        return true;
    }

    private static bool TryScalarSizeAlign(CType resolved, out long size, out long align, out string? error)
    {
        error = null;
        switch (resolved)
        {
            case PrimType p:
                (size, align) = Prim(p.Kind);
                if (p.Kind == PrimKind.Void) { error = "sizeof(void)"; return false; }
                return true;
            case PointerType:
                size = 8; align = 8;
                return true;
            case FunctionType:
                size = align = 0; error = "size of a function type";
                return false;
            case EnumType e:
                if (!e.IsComplete) { size = align = 0; error = $"{e.CName} is incomplete"; return false; }
                (size, align) = Prim(e.Underlying);
                return true;
            case RecordType r:
                if (!r.IsComplete) { size = align = 0; error = $"{r.CName} is incomplete (never defined for this architecture)"; return false; }
                if (r.Layout is null) { size = align = 0; error = $"{r.CName} has no layout: {r.LayoutError}"; return false; }
                size = r.Size; align = r.Align;
                return true;
        }
        size = align = 0;
        error = $"unknown type {resolved.CName}";
        return false;
    }

    public static (long Size, long Align) Prim(PrimKind k) => k switch
    {
        PrimKind.Void => (1, 1),
        PrimKind.Bool or PrimKind.Char or PrimKind.SChar or PrimKind.UChar => (1, 1),
        PrimKind.Short or PrimKind.UShort => (2, 2),
        PrimKind.Int or PrimKind.UInt or PrimKind.Float => (4, 4),
        PrimKind.LongDouble or PrimKind.Int128 or PrimKind.UInt128 => (16, 16),
        _ => (8, 8),
    };

    /// <summary>Lays out a completed record. On failure sets <see cref="RecordType.LayoutError"/> and returns false.</summary>
    public static bool Compute(RecordType r)
    {
        try
        {
            return ComputeCore(r);
        }
        catch (OverflowException)
        {
            r.LayoutError = $"{r.CName} is too large (its size exceeds {MaxObjectSize} bytes)";
            r.Layout = null;
            return false;
        }
    }

    private static bool ComputeCore(RecordType r)
    {
        var fields = new List<FieldLayout>();
        long bit = 0, maxAlign = 1, sizeBits = 0;
        for (int i = 0; i < r.Fields.Count; i++)
        {
            var f = r.Fields[i];
            if (!TrySizeAlign(f.Type, out var fsize, out var falign, out var err))
            {
                r.LayoutError = $"field '{f.Name ?? "<anonymous>"}': {err}";
                return false;
            }
            if (f.Type.Resolve() is ArrayType { Length: null } && i != r.Fields.Count - 1 && !r.IsUnion)
            {
                r.LayoutError = $"flexible array '{f.Name}' is not the last member";
                return false;
            }
            if (r.Packed) falign = 1;
            if (f.AlignAttr > 0) falign = r.Packed ? f.AlignAttr : Math.Max(falign, f.AlignAttr);

            if (f.BitWidth is int width)
            {
                var unit = f.Type.Resolve();
                if (unit is not PrimType { IsInteger: true } && unit is not EnumType)
                {
                    r.LayoutError = $"bitfield '{f.Name}' has non-integer type {f.Type.CName}";
                    return false;
                }
                long unitBits = fsize * 8;
                if (width < 0 || width > unitBits)
                {
                    r.LayoutError = $"bitfield '{f.Name}' is wider than its type";
                    return false;
                }
                long start = r.IsUnion ? 0 : bit;
                if (start > MaxObjectSize) throw new OverflowException();
                if (width == 0)
                {
                    if (!r.IsUnion) bit = AlignUp(bit, falign * 8);
                    continue;
                }
                if (!r.Packed && start / unitBits != (start + width - 1) / unitBits) start = AlignUp(start, falign * 8);
                fields.Add(new FieldLayout(f, start, fsize, falign));
                if (f.Name is not null) maxAlign = Math.Max(maxAlign, falign);
                if (r.IsUnion) sizeBits = Math.Max(sizeBits, width);
                else bit = start + width;
                continue;
            }

            long offset = r.IsUnion ? 0 : AlignUp(AlignUp(bit, 8) / 8, falign);
            fields.Add(new FieldLayout(f, checked(offset * 8), fsize, falign));
            maxAlign = Math.Max(maxAlign, falign);
            if (r.IsUnion) sizeBits = Math.Max(sizeBits, checked(fsize * 8));
            else bit = checked((offset + fsize) * 8);
        }
        if (!r.IsUnion) sizeBits = bit;
        long align = Math.Max(maxAlign, r.AlignAttr);
        long size = AlignUp(AlignUp(sizeBits, 8) / 8, align);
        if (size > MaxObjectSize) throw new OverflowException();
        r.Align = align;
        r.Size = size;
        r.Layout = fields;
        return true;
    }

    /// <summary>Rounds up; throws <see cref="OverflowException"/> rather than wrap (callers turn it into an error).</summary>
    public static long AlignUp(long value, long align) => align <= 1 ? value : checked(value + align - 1) / align * align;
}
