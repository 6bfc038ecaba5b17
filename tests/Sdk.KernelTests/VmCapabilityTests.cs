using Kvm.Interop;
using Kvm.Interop.X86_64;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Support.KvmSys;

namespace Kvm.KernelTests;

/// <summary>KVM_CHECK_EXTENSION on the VM fd, where the answer depends on the VM type.</summary>
public class VmCapabilityTests
{
    [Fact]
    public void DefaultVm_Capabilities()
    {
        using var vm = CreateVm(ArchConstants.KVM_X86_DEFAULT_VM);
        Assert.Equal(Kernel.IsArm64 ? 0 : KernelConfig.X86AddressSpaces, Check(KvmCap.KVM_CAP_MULTI_ADDRESS_SPACE, vm.Value)); // x86: SMM is the 2nd
        // A default VM has no private memory: no attribute it could set, whatever the system scope says.
        Assert.Equal(0, Check(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES, vm.Value));
        if (!Kernel.AtLeast(6, 8))
        {
            Assert.Equal(0, Check(KvmCap.KVM_CAP_GUEST_MEMFD, vm.Value));
            Assert.Equal(0, Check(KvmCap.KVM_CAP_USER_MEMORY2, vm.Value));
            Assert.Equal(0, Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS, vm.Value));
            return;
        }
        Assert.Equal(1, Check(KvmCap.KVM_CAP_USER_MEMORY2, vm.Value));
        if (Kernel.AtLeast(6, 18))
        {
            Assert.Equal(1, Check(KvmCap.KVM_CAP_GUEST_MEMFD, vm.Value));
            Assert.Equal((int)(KvmConstants.GUEST_MEMFD_FLAG_MMAP | KvmConstants.GUEST_MEMFD_FLAG_INIT_SHARED), Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS, vm.Value));
        }
        else
            Assert.Equal(0, Check(KvmCap.KVM_CAP_GUEST_MEMFD, vm.Value)); // 6.8-6.17: gmem only for private-memory VMs
    }

    [Fact]
    public void SwProtectedVm_Capabilities()
    {
        Assert.SkipUnless(HasSwProtectedVm, $"kernel {Kernel.Release} offers no KVM_X86_SW_PROTECTED_VM (VM_TYPES=0x{VmTypes:x}; Debian builds without CONFIG_KVM_SW_PROTECTED_VM)");
        using var vm = CreateVm(ArchConstants.KVM_X86_SW_PROTECTED_VM);
        Assert.Equal((int)KvmConstants.KVM_MEMORY_ATTRIBUTE_PRIVATE, Check(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES, vm.Value));
        Assert.Equal(1, Check(KvmCap.KVM_CAP_GUEST_MEMFD, vm.Value));
        // private memory and SMM do not mix: one address space only (none to speak of without SMM: cap compiled out)
        Assert.Equal(KernelConfig.X86AddressSpaces == 0 ? 0 : 1, Check(KvmCap.KVM_CAP_MULTI_ADDRESS_SPACE, vm.Value));
        if (Kernel.AtLeast(6, 18)) // a VM with private memory may map its gmem, but never starts it shared
            Assert.Equal((int)KvmConstants.GUEST_MEMFD_FLAG_MMAP, Check(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS, vm.Value));
    }
}
