// The probes issue raw ioctls without a capability check on purpose: whether the ioctl exists is the question.
#pragma warning disable KVM2001
using Kvm.Interop;
using static Kvm.KernelTests.Support.Checks;
using static Kvm.KernelTests.Support.KvmSys;

namespace Kvm.KernelTests.Support;

/// <summary>
/// Answers that depend on how the kernel was configured, not on its version. Every QEMU lane boots a Debian kernel,
/// whose config is known (CONFIG_KVM_SMM, and CONFIG_KVM_AMD_SEV, which brings the generic memory-attribute code), so
/// there the expectation is pinned. The host lane's kernel may be built any way (this project's build machine runs
/// one without SMM or SEV), so there the expectation comes from what the kernel does, and the capability must agree.
/// </summary>
public static class KernelConfig
{
    /// <summary>x86 KVM_CAP_MULTI_ADDRESS_SPACE of a default VM and of /dev/kvm: 2 with SMM (its own address space);
    /// without CONFIG_KVM_SMM the capability is compiled out (0). Host: a memslot in address space 1 is accepted
    /// exactly when SMM exists.</summary>
    public static int X86AddressSpaces => !Kernel.IsHostLane ? 2 : s_hostAddressSpaces.Value;

    private static readonly Lazy<int> s_hostAddressSpaces = new(() =>
    {
        using var vm = CreateVm();
        using var memory = Mapping.Anonymous(Page);
        return SetRegion(vm, slot: 1u << 16, gpa: 0, size: Page, uaddr: memory.Address).Rc == 0 ? 2 : 0;
    });

    /// <summary>System-scope KVM_CAP_MEMORY_ATTRIBUTES on x86 6.8+: PRIVATE where the kernel has the generic
    /// memory-attribute code (some VM type could use it), else 0. Host: KVM_SET_MEMORY_ATTRIBUTES exists (EINVAL for
    /// a size-0 range) exactly when the code is built.</summary>
    public static int X86SystemMemoryAttributes => !Kernel.IsHostLane || s_hostHasAttributeIoctl.Value
        ? (int)KvmConstants.KVM_MEMORY_ATTRIBUTE_PRIVATE : 0;

    private static readonly Lazy<bool> s_hostHasAttributeIoctl = new(() =>
    {
        using var vm = CreateVm();
        return SetAttributes(vm, gpa: 0, size: 0, attributes: 0).Errno != (int)Errno.ENOTTY;
    });
}
