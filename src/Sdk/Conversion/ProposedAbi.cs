using System.Runtime.InteropServices;
using Kvm.Interop;

namespace Kvm;

// Marshalling structs for PROPOSED, unmerged ABI. They are SDK-internal on purpose: the public contract is
// IGuestMemoryConversion, and the ioctl and capability numbers are never baked in here — they are looked up by name
// in the UapiTable the caller passed to KvmSystem.Open(abi: ...), and each struct's size is checked against the size
// field of the request number found there (a different revision of the proposal changes the size and is refused).

/// <summary>PROPOSED (in-place conversion v8): <c>struct kvm_memory_attributes2</c>, 128 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct KvmMemoryAttributes2
{
    [FieldOffset(0)] public ulong Offset;
    [FieldOffset(8)] public ulong Size;
    [FieldOffset(16)] public ulong Attributes;
    [FieldOffset(24)] public ulong Flags;
    [FieldOffset(32)] public ulong ErrorOffset;
    // reserved[11] at 40..127: zero.
}

/// <summary>PROPOSED, ABANDONED (1G-page RFC v2): <c>struct kvm_gmem_convert</c>, 64 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 64)]
internal struct KvmGmemConvert
{
    [FieldOffset(0)] public ulong Offset;
    [FieldOffset(8)] public ulong Size;
    [FieldOffset(16)] public ulong ErrorOffset;
    // reserved[5] at 24..63: zero.
}

/// <summary>Looks up proposed ABI in the caller's table.</summary>
internal static class ProposedAbi
{
    public const string Attributes2Ioctl = "KVM_SET_MEMORY_ATTRIBUTES2";
    public const string Attributes2Cap = "KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES";
    public const string PostingMarker = "KVM_SDK_INPLACE_POSTING";
    public const string ConvertSharedIoctl = "KVM_GMEM_CONVERT_SHARED";
    public const string ConvertPrivateIoctl = "KVM_GMEM_CONVERT_PRIVATE";
    public const string ConvertCap = "KVM_CAP_GMEM_CONVERSION";

    /// <summary>The request number of <paramref name="name"/> in <paramref name="abi"/>, checked to encode a
    /// <paramref name="structSize"/>-byte argument; null when the table lacks it.</summary>
    public static nuint? Ioctl(UapiTable abi, string name, int structSize)
    {
        if (!abi.TryGetIoctl(name, out var request))
            return null;
        if (IoctlFormat.Size(request) != (uint)structSize)
            throw new NotSupportedException(
                $"{name} in ABI table '{abi.Profile}' encodes a {IoctlFormat.Size(request)}-byte argument, but the SDK implements the {structSize}-byte revision; this revision of the proposal is not supported");
        return request;
    }

    public static int? Cap(UapiTable abi, string name) =>
        abi.TryGetConstant(name, out var v) && v <= int.MaxValue ? (int)v : null;
}
