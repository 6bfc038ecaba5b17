using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Issue #11: page state that follows the kernel where the VM has no private memory, a slot the kernel would
/// accept but could never run refused up front, and guest_memfd sizes up to the kernel's limit in O(1).</summary>
public class PageStateRulesTests
{
    private static readonly ulong Page = (ulong)Environment.SystemPageSize;

    private static (FakeSyscalls Sys, KvmSystem Kvm, VmFd Vm) NewVm(bool privateMemory)
    {
        var sys = new FakeSyscalls();
        if (privateMemory)
            sys.Caps[(int)KvmCap.KVM_CAP_MEMORY_ATTRIBUTES] = (int)KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE;
        var kvm = KvmSystem.OpenWith(sys);
        return (sys, kvm, kvm.CreateVm(privateMemory ? VmType.X86SwProtected : VmType.X86Default));
    }

    [Fact]
    public void WithoutPrivateMemoryAnUnmappableGuestMemfdReadsSharedAndNeedsSharedMemoryBehindItsSlot()
    {
        var (sys, kvm, vm) = NewVm(privateMemory: false);
        using (kvm) using (vm)
        {
            Assert.False(vm.SupportsPrivateMemory);
            using var gmem = vm.GuestMemfd!.Create(4 * Page);
            Assert.Equal(PageState.Shared, gmem.GetState(0));
            var set2 = $"ioctl 0x{(ulong)KvmIoctls.KVM_SET_USER_MEMORY_REGION2.Value:X}";
            var e = Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0, gmem, 0, 4 * Page));
            Assert.Contains("shared side", e.Message);
            Assert.Equal(0, sys.Count(set2));
            using var host = kvm.AllocateHostMemory(4 * Page);
            using var slot = vm.Memslots.Add(0, gmem, 0, 4 * Page, shared: host);
            Assert.Equal(1, sys.Count(set2));

            using var mappable = vm.GuestMemfd.Create(4 * Page, GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);
            Assert.Equal(PageState.Private, mappable.GetState(0));   // the host's mmap of it would SIGBUS
        }
    }

    [Fact]
    public void WithPrivateMemoryAGuestMemfdStartsPrivateAndMayStandAlone()
    {
        var (_, kvm, vm) = NewVm(privateMemory: true);
        using (kvm) using (vm)
        {
            Assert.True(vm.SupportsPrivateMemory);
            using var gmem = vm.GuestMemfd!.Create(4 * Page);
            Assert.Equal(PageState.Private, gmem.GetState(0));
            using var slot = vm.Memslots.Add(0, gmem, 0, 4 * Page);
        }
    }

    [Theory]
    [InlineData(1UL << 40)]
    [InlineData(1UL << 50)]
    [InlineData(1UL << 62)]
    [InlineData(0x7FFFFFFFFFFFF000UL)]
    public void HugeGuestMemfdsCostOneRange(ulong size)
    {
        var (sys, kvm, vm) = NewVm(privateMemory: true);
        using (kvm) using (vm)
        {
            var before = sys.Open.Count;
            using (var gmem = vm.GuestMemfd!.Create(size))
            {
                Assert.Equal(size, gmem.Size);
                Assert.Equal(1, gmem.PageStates.PrivateRangeCount);
                Assert.Equal(PageState.Private, gmem.GetState(size - Page));
            }
            Assert.Equal(before, sys.Open.Count);
        }
    }

    [Fact]
    public void AFailureAfterTheKernelMadeTheFileClosesItAtOnce()
    {
        var (sys, kvm, vm) = NewVm(privateMemory: false);
        using (kvm) using (vm)
        {
            sys.CloexecResult = -(int)Errno.EBADF;
            var before = sys.Open.Count;
            var e = Assert.Throws<KvmException>(() => vm.GuestMemfd!.Create(4 * Page));
            Assert.Contains("FD_CLOEXEC", e.Message);
            Assert.Equal(before, sys.Open.Count);
        }
    }
}
