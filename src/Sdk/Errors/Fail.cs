using System.Diagnostics.CodeAnalysis;
using Kvm.Interop;

namespace Kvm;

/// <summary>Throw helpers kept out of line so hot paths stay small and allocation-free on success.</summary>
internal static class Fail
{
    [DoesNotReturn]
    public static void Ioctl(int negErrno, string name, nuint request, KvmFdKind kind, string? detail = null) =>
        throw new KvmException((Errno)(-negErrno), name, request, kind, detail);

    [DoesNotReturn]
    public static void Syscall(int negErrno, string name, KvmFdKind kind, string? detail = null) =>
        throw new KvmException((Errno)(-negErrno), name, null, kind, detail);

    [DoesNotReturn]
    public static void Argument(string paramName, string rule) => throw new ArgumentException(rule, paramName);

    [DoesNotReturn]
    public static void Range(string paramName, object? actual, string rule) =>
        throw new ArgumentOutOfRangeException(paramName, actual, rule);
}

/// <summary>Page-size rules shared by guest_memfd, memslots and attributes.</summary>
internal static class Pages
{
    public static readonly int Size = Environment.SystemPageSize;

    public static bool Aligned(ulong value) => (value & (ulong)(Size - 1)) == 0;

    public static void RequireAligned(ulong value, string paramName, string what)
    {
        if (!Aligned(value))
            Fail.Range(paramName, value, $"{what} must be a multiple of the {Size}-byte page");
    }

    public static void RequireNonZeroAligned(ulong value, string paramName, string what)
    {
        if (value == 0 || !Aligned(value))
            Fail.Range(paramName, value, $"{what} must be a non-zero multiple of the {Size}-byte page");
    }

    public static void RequireNoWrap(ulong start, ulong length, string paramName, string what)
    {
        if (start + length < start)
            Fail.Range(paramName, length, $"{what}: start + length wraps around 2^64");
    }
}
