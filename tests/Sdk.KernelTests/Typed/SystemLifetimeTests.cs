using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>Issue #11 items 5–8 against the real kernel: VMs outlive their KvmSystem, a disposed system refuses use,
/// errors name the path that was opened, and page state follows the kernel on VMs without private memory.</summary>
public class SystemLifetimeTests
{
    [Fact]
    public void AVmCreatesVcpusAfterItsSystemWasDisposed()
    {
        var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        kvm.Dispose();
        using var vcpu = vm.CreateVcpu(0);          // the mmap size was read at Open
        Assert.False(vcpu.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => kvm.AllocateHostMemory(Page));
        Assert.Throws<ObjectDisposedException>(() => kvm.CreateVm());
    }

    [Fact]
    public void OpeningSomethingThatIsNotKvmNamesThePath()
    {
        var e = Assert.Throws<KvmException>(() => KvmSystem.Open("/dev/null"));
        Assert.Contains("/dev/null is not a KVM device", e.Message);
        Assert.Equal(Interop.Errno.ENOTTY, e.Errno);
    }

    [Fact]
    public void WithoutPrivateMemoryAGuestMemfdReadsSharedAndItsSlotNeedsSharedMemory()
    {
        SkipUnlessX86();   // arm64 binds only mappable guest_memfd, so this slot has no arm64 form
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipWhen(vm.GuestMemfd is null || !vm.Memslots.UsesRegion2, "no guest_memfd slots on a default VM here");
        Assert.SkipWhen(vm.SupportsPrivateMemory, "this default VM has private memory");
        using var gmem = vm.GuestMemfd.Create(4 * Page);
        Assert.Equal(PageState.Shared, gmem.GetState(0));   // the guest reaches the slot's shared side, as the kernel does
        var e = Assert.Throws<ArgumentException>(() => vm.Memslots.Add(0, gmem, 0, 4 * Page));
        Assert.Contains("shared side", e.Message);
        using var host = kvm.AllocateHostMemory(4 * Page);
        using var slot = vm.Memslots.Add(0, gmem, 0, 4 * Page, shared: host);
    }
}
