using Kvm.Interop;
using Kvm.Interop.X86_64;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Support.KvmSys;

namespace Kvm.KernelTests;

/// <summary>KVM_SET_MEMORY_ATTRIBUTES per VM type (§5.3).</summary>
public class MemoryAttributesTests
{
    private const ulong Private = KvmConstants.KVM_MEMORY_ATTRIBUTE_PRIVATE;

    private static void NeedIoctl() =>
        Assert.SkipWhen(Check(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES) == 0, $"kernel {Kernel.Release} has no KVM_SET_MEMORY_ATTRIBUTES (KVM_CAP_MEMORY_ATTRIBUTES=0)");

    [Fact]
    public void DefaultVm_OnlyAttributesZeroIsAccepted()
    {
        NeedIoctl();
        using var vm = CreateVm(ArchConstants.KVM_X86_DEFAULT_VM);
        SetAttributes(vm, 0x10000, Page, Private).Fails(Errno.EINVAL, "PRIVATE on a default VM (VM cap 0)");
        SetAttributes(vm, 0x10000, Page, 0).Ok("attributes 0 (shared) on a default VM");
        SetAttributes(vm, 0x10000, Page, 0, flags: 1).Fails(Errno.EINVAL, "flags != 0");
        SetAttributes(vm, 0x10000 + 1, Page, 0).Fails(Errno.EINVAL, "unaligned address");
        SetAttributes(vm, 0x10000, Page + 1, 0).Fails(Errno.EINVAL, "unaligned size");
        SetAttributes(vm, 0x10000, 0, 0).Fails(Errno.EINVAL, "size 0");
        SetAttributes(vm, ~0ul & ~(Page - 1), 2 * Page, 0).Fails(Errno.EINVAL, "range that wraps");
    }

    [Fact]
    public void SwProtectedVm_PrivateIsAccepted()
    {
        NeedIoctl();
        Assert.SkipUnless(HasSwProtectedVm, $"kernel {Kernel.Release} offers no KVM_X86_SW_PROTECTED_VM (VM_TYPES=0x{VmTypes:x})");
        using var vm = CreateVm(ArchConstants.KVM_X86_SW_PROTECTED_VM);
        SetAttributes(vm, 0x10000, 4 * Page, Private).Ok("PRIVATE on a SW_PROTECTED VM");
        SetAttributes(vm, 0x10000, 4 * Page, Private).Ok("PRIVATE again (no change)");
        SetAttributes(vm, 0x11000, Page, 0).Ok("one page back to shared");
        SetAttributes(vm, 0x10000, Page, 1).Fails(Errno.EINVAL, "attribute bit 0, not supported");
        SetAttributes(vm, 0x10000, Page, Private, flags: 1).Fails(Errno.EINVAL, "flags != 0");
        SetAttributes(vm, 0x10000 + 8, Page, Private).Fails(Errno.EINVAL, "unaligned address");
    }
}
