using Xunit;
using Kvm.Interop;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>Private memory on KVM_X86_SW_PROTECTED_VM (the "private" lane); elsewhere the clean "not supported".</summary>
public class PrivateMemoryTests
{
    [Fact]
    public void SwProtectedVmConvertsThroughVmAttributes()
    {
        using var kvm = KvmSystem.Open();
        if (!IsX86 || !kvm.SupportsVmType(VmType.X86SwProtected))
        {
            if (IsX86)
                Assert.Contains("KVM_CAP_VM_TYPES", Assert.Throws<ArgumentException>(() => kvm.CreateVm(VmType.X86SwProtected)).Message);
            return;
        }
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        Assert.NotNull(vm.GuestMemfd);
        Assert.True(vm.MemoryAttributes!.SupportsPrivate);
        // A CoCo VM does not accept INIT_SHARED (mainline 6.18–7.3).
        if (!vm.GuestMemfd!.SupportedFlags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED))
            Assert.Throws<ArgumentException>(() => vm.GuestMemfd.Create(Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED));

        using var gmem = vm.GuestMemfd.Create(16 * Page);
        using var shared = kvm.AllocateHostMemory(16 * Page);
        // mov al, [0x1000] ; out 0x10, al ; hlt
        shared.Write(0, [0xA0, 0x00, 0x10, 0xE6, 0x10, 0xF4]);
        shared.Write(0x1000, [0x53]);
        using var slot = vm.Memslots.Add(0, gmem, 0, 16 * Page, shared);
        using var vcpu = vm.CreateVcpu(0);
        var conv = vm.Conversion!;

        conv.ToPrivate(0x1000, Page);
        Assert.Equal(PageState.Private, conv.GetState(0x1000));
        Assert.Equal(0x00, RunAndReadPort(vcpu)); // private page: the guest_memfd's zeroes, not the host's 0x53
        conv.ToShared(0x1000, Page);
        Assert.Equal(0x53, RunAndReadPort(vcpu));
    }

    [Fact]
    public void PrivateAccessToANonGuestMemfdSlotIsAMemoryFaultExit()
    {
        using var kvm = KvmSystem.Open();
        Assert.SkipUnless(IsX86 && kvm.SupportsVmType(VmType.X86SwProtected), "KVM_X86_SW_PROTECTED_VM is not in KVM_CAP_VM_TYPES here");
        using var vm = kvm.CreateVm(VmType.X86SwProtected);
        using var shared = kvm.AllocateHostMemory(16 * Page);
        shared.Write(0, [0xA0, 0x00, 0x10, 0xE6, 0x10, 0xF4]);
        using var slot = vm.Memslots.Add(0, shared);
        using var vcpu = vm.CreateVcpu(0);
        vm.MemoryAttributes!.Set(0x1000, Page, KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);
        SetRealMode(vcpu);
        var exit = vcpu.Run();
        Assert.Equal(VcpuExitReason.MemoryFault, exit.Reason);
        Assert.True(exit.MemoryFault.IsPrivate);
        Assert.Equal(0x1000UL, exit.MemoryFault.Gpa & ~(Page - 1));
    }

    private static byte RunAndReadPort(VcpuFd vcpu)
    {
        SetRealMode(vcpu);
        var exit = vcpu.Run();
        Assert.Equal(VcpuExitReason.Io, exit.Reason);
        var b = exit.Io.Data[0];
        Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);
        return b;
    }

    private static void SetRealMode(VcpuFd vcpu)
    {
        var sregs = vcpu.GetSregs();
        sregs.cs.@base = 0;
        sregs.cs.selector = 0;
        sregs.ds.@base = 0;
        sregs.ds.selector = 0;
        vcpu.SetSregs(sregs);
        vcpu.SetRegs(new Interop.X86_64.kvm_regs { rip = 0, rflags = 2 });
    }
}
