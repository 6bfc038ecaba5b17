using System.Collections.Concurrent;
using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Which kernel the fake plays.</summary>
public enum FakeKernelKind
{
    /// <summary>A released kernel (7.3): no in-place conversion; VM-level attributes as mainline.</summary>
    Released,
    /// <summary>A kernel with posting v7: cap 249, kvm.vm_memory_attributes (N = in-place on).</summary>
    V7,
    /// <summary>A kernel with posting v8: cap 250, kvm.gmem_in_place_conversion (Y = on).</summary>
    V8,
}

/// <summary>
/// One fake kernel per profile, following each posting's documented behaviour (gmem-uapi.md §6): the module parameter,
/// the capability by that posting's number (an attribute mask, PRIVATE only, when on; 0 when off), the VM-level
/// <c>KVM_CAP_MEMORY_ATTRIBUTES</c> losing PRIVATE when in-place conversion is on, and <c>KVM_SET_MEMORY_ATTRIBUTES2</c>
/// on guest_memfd fds only (ENOTTY elsewhere and when off; EINVAL for a zero/unaligned/out-of-file range, non-zero
/// flags or reserved, unknown attributes; EAGAIN with error_offset at the first pinned page when going private).
/// </summary>
internal sealed unsafe class InPlaceFakeKernel
{
    public const uint Attributes2 = 0xC080AED2;
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    public readonly FakeSyscalls Sys = new();
    public readonly ConcurrentDictionary<int, ulong> GmemSizes = new();
    /// <summary>Pinned pages by (gmem fd, file offset): conversion to private fails with EAGAIN there.</summary>
    public readonly ConcurrentDictionary<(int Fd, ulong Offset), bool> Pinned = new();
    /// <summary>Every KVM_SET_MEMORY_ATTRIBUTES2 the kernel accepted or refused: (fd, offset, size, attributes, errno).</summary>
    public readonly ConcurrentQueue<(int Fd, ulong Offset, ulong Size, ulong Attributes, int Result)> Issued = new();
    /// <summary>When set, the conversion at this gmem offset fails with this errno (a scripted refusal).</summary>
    public (ulong Offset, Errno Errno)? FailAt;

    public InPlaceFakeKernel(FakeKernelKind kind, bool enabled = true, bool vmAttributesIoctl = true)
    {
        Kind = kind;
        Enabled = kind != FakeKernelKind.Released && enabled;
        const int Private = (int)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE;
        if (kind == FakeKernelKind.V7)
            Sys.ModuleParameters["kvm/vm_memory_attributes"] = Enabled ? "N" : "Y";
        if (kind == FakeKernelKind.V8)
            Sys.ModuleParameters["kvm/gmem_in_place_conversion"] = Enabled ? "Y" : "N";
        if (kind != FakeKernelKind.Released)
            Sys.Caps[kind == FakeKernelKind.V7 ? 249 : 250] = Enabled ? Private : 0;
        Sys.Caps[(int)KvmCap.KVM_CAP_MEMORY_ATTRIBUTES] = Enabled ? 0 : Private;
        Sys.Caps[(int)KvmCap.KVM_CAP_PRE_FAULT_MEMORY] = 1;

        Sys.Handlers[KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value] = (_, _, arg) =>
        {
            var fd = Sys.NewFd();
            GmemSizes[fd] = ((kvm_create_guest_memfd*)arg)->size;
            return fd;
        };
        Sys.Handlers[KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Value] = (fd, _, arg) =>
        {
            if (!vmAttributesIoctl)
                return -(int)Errno.ENOTTY;
            var a = (kvm_memory_attributes*)arg;
            if (a->size == 0 || (a->attributes & ~(ulong)(uint)Sys.Caps[(int)KvmCap.KVM_CAP_MEMORY_ATTRIBUTES]) != 0)
                return -(int)Errno.EINVAL;
            return 0;
        };
        Sys.Handlers[Attributes2] = (fd, _, arg) => SetAttributes2(fd, (byte*)arg); // a released kernel: ENOTTY
    }

    public FakeKernelKind Kind { get; }

    public bool Enabled { get; }

    private int SetAttributes2(int fd, byte* arg)
    {
        if (!Enabled || !GmemSizes.TryGetValue(fd, out var fileSize))
            return Record(fd, arg, -(int)Errno.ENOTTY);
        var offset = *(ulong*)arg;
        var size = *(ulong*)(arg + 8);
        var attributes = *(ulong*)(arg + 16);
        for (var i = 24; i < 128; i += 8)
            if (i != 32 && *(ulong*)(arg + i) != 0)
                return Record(fd, arg, -(int)Errno.EINVAL); // flags and reserved must be 0
        if (size == 0 || offset % Page != 0 || size % Page != 0 || offset + size > fileSize ||
            (attributes & ~(ulong)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE) != 0)
            return Record(fd, arg, -(int)Errno.EINVAL);
        if (FailAt is { } f && f.Offset >= offset && f.Offset < offset + size)
        {
            *(ulong*)(arg + 32) = f.Offset;
            return Record(fd, arg, -(int)f.Errno);
        }
        if (attributes != 0)
            for (var o = offset; o < offset + size; o += Page)
                if (Pinned.ContainsKey((fd, o)))
                {
                    *(ulong*)(arg + 32) = o; // error_offset: the first page still referenced
                    return Record(fd, arg, -(int)Errno.EAGAIN);
                }
        return Record(fd, arg, 0);
    }

    private int Record(int fd, byte* arg, int rc)
    {
        Issued.Enqueue((fd, *(ulong*)arg, *(ulong*)(arg + 8), *(ulong*)(arg + 16), rc));
        return rc;
    }

    /// <summary>A system and SW_PROTECTED VM over this kernel, built against <paramref name="abi"/>.</summary>
    public (KvmSystem, VmFd) Open(UapiTable abi)
    {
        var kvm = KvmSystem.OpenWith(Sys, abi: abi);
        return (kvm, kvm.CreateVm(VmType.X86SwProtected));
    }
}
