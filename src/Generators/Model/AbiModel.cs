using System;
using Kvm.Generators.Parsing;

namespace Kvm.Generators.Model;

/// <summary>The ABI of one architecture as the headers define it: every struct's exact layout, every integer
/// constant C can evaluate, every ioctl with its direction, size and argument type. Value-equal, so it can flow
/// through an incremental generator pipeline and be compared across header versions.</summary>
public sealed record AbiModel(
    string Arch,
    string Profile,
    EquatableArray<AbiStruct> Structs,
    EquatableArray<AbiConstant> Constants,
    EquatableArray<AbiIoctl> Ioctls,
    EquatableArray<AbiHeader> Headers,
    EquatableArray<HeaderDiagnostic> Diagnostics);

/// <summary>A header that went into the model, with the SHA-256 of its text (the provenance stamp).</summary>
public sealed record AbiHeader(string IncludeName, string Path, string Sha256);

/// <summary>A struct or union. <see cref="Name"/> is the C tag, or parent_field for an anonymous type that a
/// named member uses.</summary>
public sealed record AbiStruct(string Name, string CName, bool IsUnion, long Size, long Align, bool Packed,
    EquatableArray<AbiMember> Members, string File, int Line);

/// <summary>
/// A named member at its byte offset, anonymous members already flattened into their parent.
/// <see cref="CsType"/> is the C# element type (a primitive keyword or a struct name); arrays give a
/// <see cref="Count"/> (elements, all dimensions multiplied) or are flexible; bitfields give a bit offset and width
/// within a storage unit of <see cref="Size"/> bytes at <see cref="Offset"/>.
/// </summary>
public sealed record AbiMember(string Name, long Offset, long Size, string CType, string CsType, bool IsRecord,
    long Count, bool IsFlexible, int BitOffset, int BitWidth)
{
    public bool IsArray => Count > 0 || IsFlexible;
    public bool IsBitfield => BitWidth > 0;
}

/// <summary>An object-like integer macro (or enumerator) with its C type. <see cref="Family"/> names the generated
/// enum it also belongs to (KvmCap, KvmExit, ...), if any.</summary>
public sealed record AbiConstant(string Name, ulong Bits, CIntKind Kind, string IncludeName, int Line, string? Family)
{
    public CValue Value => new(Bits, Kind);
}

/// <summary>An ioctl request: <see cref="Direction"/> is the _IOC_DIR bits (0 none, 1 write, 2 read, 3 both).</summary>
public sealed record AbiIoctl(string Name, ulong Value, int Direction, long Size, string? ArgCType, string? ArgCsType, bool ArgIsRecord,
    string IncludeName, int Line)
{
    public string Macro => Direction switch { 1 => "_IOW", 2 => "_IOR", 3 => "_IOWR", _ => "_IO" };
}
