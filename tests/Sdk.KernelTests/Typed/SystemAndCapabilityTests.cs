using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Typed;

public class SystemAndCapabilityTests
{
    [Fact]
    public void OpenChecksApiVersionAndAnswersBothScopes()
    {
        using var kvm = KvmSystem.Open();
        Assert.Equal(KvmConstants.KVM_API_VERSION, kvm.ApiVersion);
        Assert.Equal(CapabilityScope.System, kvm.Capabilities.Scope);
        Assert.True(kvm.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY));
        using var vm = kvm.CreateVm();
        Assert.Equal(kvm.Capabilities.Has(KvmCap.KVM_CAP_CHECK_EXTENSION_VM) ? CapabilityScope.Vm : CapabilityScope.SystemFallback,
            vm.Capabilities.Scope);
        Assert.True(vm.Memslots.MaxSlots > 0);
        Assert.True(vm.VcpuMmapSizeIsSane());
    }

    [Fact]
    public void FeatureObjectsFollowTheVmsCapabilities()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        // Each feature object exists exactly when KVM_CHECK_EXTENSION on this VM says so (6.1: none of them).
        Assert.Equal(vm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD), vm.GuestMemfd is not null);
        Assert.Equal(vm.Capabilities.Check(KvmCap.KVM_CAP_MEMORY_ATTRIBUTES) != 0, vm.MemoryAttributes is not null);
        Assert.Equal(vm.Capabilities.Has(KvmCap.KVM_CAP_USER_MEMORY2), vm.Memslots.UsesRegion2);
        if (vm.GuestMemfd is { } g)
            Assert.Equal((GuestMemfdFlags)vm.Capabilities.CheckMask(KvmCap.KVM_CAP_GUEST_MEMFD_FLAGS), g.SupportedFlags);
#pragma warning disable KVM1011 // the system-scope answer is what this test compares the VM's feature with
        if (!kvm.Capabilities.Has(KvmCap.KVM_CAP_GUEST_MEMFD))
#pragma warning restore KVM1011
        {
            Assert.Null(vm.GuestMemfd);   // e.g. the 6.1 legacy lane
            Assert.Null(vm.Conversion);
        }
#pragma warning disable KVMEXP001, KVMEXP002
        // The SDK's own (released) bindings carry no proposed ABI: no in-place conversion, whatever cap 250 says.
        Assert.Null(vm.InPlaceConversionV8);
        Assert.Null(vm.InPlaceConversionRfcV2);
#pragma warning restore KVMEXP001, KVMEXP002
    }

    [Fact]
    public void UnsupportedVmTypeIsRefusedBeforeTheIoctl()
    {
        using var kvm = KvmSystem.Open();
        if (KernelFacts.IsX86)
        {
            Assert.True(kvm.SupportsVmType(VmType.X86Default));
            if (!kvm.SupportsVmType(VmType.X86Tdx))
                Assert.Contains("KVM_CAP_VM_TYPES", Assert.Throws<ArgumentException>(() => kvm.CreateVm(VmType.X86Tdx)).Message);
        }
        Assert.Throws<ArgumentException>(() => kvm.CreateVm(KernelFacts.IsX86 ? VmType.Arm64Default : VmType.X86Default));
    }

    [Fact]
    public void KernelRefusalIsAKvmException()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        var ex = Assert.Throws<KvmException>(() => vm.CreateVcpu(0));
        Assert.Equal(Errno.EEXIST, ex.Errno);
        Assert.Equal("KVM_CREATE_VCPU", ex.Operation);
        Assert.Equal(KvmFdKind.Vm, ex.FdKind);
    }
}

internal static class VmTestExtensions
{
    public static bool VcpuMmapSizeIsSane(this VmFd vm) => vm.System.VcpuMmapSize >= 4096;
}
