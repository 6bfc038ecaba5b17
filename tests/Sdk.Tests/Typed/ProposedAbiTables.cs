using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>
/// ABI tables for the proposed conversion ABIs, as a user's generated <c>KvmUapi.For("x86_64")</c> would return them
/// when built against uapi-headers/proposed/inplace-conversion-v8 or gmem-convert-rfc-v2 (numbers as in those overlay
/// headers; verify.sh checks the headers against gcc). Only the entries the SDK looks up are listed, on top of the
/// released table.
/// </summary>
internal static class ProposedAbiTables
{
    public static UapiTable Build(string profile, (string, ulong)[] constants, (string, uint)[] ioctls)
    {
        var released = KvmUapi.For("x86_64")!;
        var c = released.ConstantNames.Select(n => { released.TryGetConstant(n, out var v); return (n, v); })
            .Where(x => constants.All(k => k.Item1 != x.n)).Concat(constants).ToArray();
        var i = released.IoctlNames.Select(n => { released.TryGetIoctl(n, out var v); return (n, v); })
            .Where(x => ioctls.All(k => k.Item1 != x.n)).Concat(ioctls).ToArray();
        return new UapiTable(profile, "x86_64", c, i);
    }

    /// <summary>v7 (uapi-headers/proposed/inplace-conversion-v7): the same ioctl, cap 249, posting marker 7.</summary>
    public static readonly UapiTable V7 = Build("7.3.4+inplace-conversion-v7",
        [("KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES", 249), ("KVM_SDK_INPLACE_POSTING", 7)],
        [("KVM_SET_MEMORY_ATTRIBUTES2", 0xC080AED2)]);

    /// <summary>v8 as the overlay defines it now, with its posting marker 8.</summary>
    public static readonly UapiTable V8Marked = Build("7.3.4+inplace-conversion-v8",
        [("KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES", 250), ("KVM_SDK_INPLACE_POSTING", 8)],
        [("KVM_SET_MEMORY_ATTRIBUTES2", 0xC080AED2)]);

    /// <summary>v8: KVM_SET_MEMORY_ATTRIBUTES2 = _IOWR(KVMIO, 0xd2, 128 bytes), cap 250 (a table generated before the
    /// overlay carried its posting marker).</summary>
    public static readonly UapiTable V8 = Build("7.3.4+inplace-conversion-v8",
        [("KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES", 250)],
        [("KVM_SET_MEMORY_ATTRIBUTES2", 0xC080AED2)]);

    /// <summary>RFC v2: KVM_GMEM_CONVERT_SHARED/PRIVATE = _IOWR(0xAF, 0x41/0x42, 64 bytes), cap 241.</summary>
    public static readonly UapiTable RfcV2 = Build("7.3.4+gmem-convert-rfc-v2",
        [("KVM_CAP_GMEM_CONVERSION", 241)],
        [("KVM_GMEM_CONVERT_SHARED", 0xC040AF41), ("KVM_GMEM_CONVERT_PRIVATE", 0xC040AF42)]);

    /// <summary>A different (hypothetical) revision: same name, 64-byte struct — the SDK must refuse it.</summary>
    public static readonly UapiTable V8WrongSize = Build("7.3.4+rfc-v1-like",
        [("KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES", 250)],
        [("KVM_SET_MEMORY_ATTRIBUTES2", 0xC040AED6)]);
}
