using Kvm.Interop;
using Kvm.Interop.X86_64;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>KVM_ENABLE_CAP through the typed helpers, and raw ioctls on borrowed fds, on the real kernel.</summary>
public class EnableCapAndFdTests
{
    [Fact]
    public void ACapTheVmDoesNotReportIsRefusedBeforeTheIoctl()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        const KvmCap absent = KvmCap.KVM_CAP_S390_HPAGE_1M; // s390 only: 0 on x86 and arm64
        Assert.Equal(0, vm.Capabilities.Check(absent));
        Assert.Contains("KVM_CAP_S390_HPAGE_1M", Assert.Throws<ArgumentException>(() => vm.EnableCap(absent)).Message);
    }

    [Fact]
    public void DisableExitsTakesTheCapsMaskBeforeTheFirstVcpu()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var supported = vm.SupportedDisableExits;
        var wanted = supported & (X86DisableExits.Pause | X86DisableExits.Hlt);
        Assert.SkipWhen(wanted == 0, $"KVM_CAP_X86_DISABLE_EXITS offers neither PAUSE nor HLT here ({supported})");
        vm.DisableExits(wanted);
        using var vcpu = vm.CreateVcpu(0);
        Assert.Contains("before the VM's first KVM_CREATE_VCPU", Assert.Throws<ArgumentException>(() => vm.DisableExits(wanted)).Message);
    }

    [Fact]
    public void SplitIrqchipOnceAndOnlyBeforeVcpus()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipUnless(vm.Capabilities.Has(KvmCap.KVM_CAP_SPLIT_IRQCHIP), "KVM_CAP_SPLIT_IRQCHIP is 0 here");
        vm.EnableSplitIrqchip();
        var again = Assert.Throws<KvmException>(() => vm.EnableSplitIrqchip());
        Assert.Equal(Errno.EEXIST, again.Errno); // irqchip_in_kernel() already
        Assert.Contains("without an irqchip", again.Message);
        using var late = kvm.CreateVm();
        late.CreateVcpu(0).Dispose(); // disposing does not undo the creation for the kernel
        Assert.Throws<ArgumentException>(() => late.EnableSplitIrqchip());
    }

    [Fact]
    public void ManualDirtyLogProtectAndExitHypercallFollowTheirMasks()
    {
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var dirty = vm.SupportedManualDirtyLogProtect;
        if ((dirty & ManualDirtyLogProtect.Enable) != 0)
            vm.EnableManualDirtyLogProtect(dirty);
        else
            Assert.Throws<ArgumentException>(() => vm.EnableManualDirtyLogProtect());
        Assert.Throws<ArgumentException>(() => vm.EnableManualDirtyLogProtect(ManualDirtyLogProtect.InitiallySet));

        if (!IsX86)
            return;
        var hc = vm.SupportedExitHypercalls;
        if ((hc & ExitHypercalls.MapGpaRange) != 0)
            vm.EnableExitHypercall(ExitHypercalls.MapGpaRange);
        else
            Assert.Throws<ArgumentException>(() => vm.EnableExitHypercall(ExitHypercalls.MapGpaRange));
    }

    [Fact]
    public unsafe void BorrowedFdsCarryRawIoctlsAndEndCleanly()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var vm = kvm.CreateVm();
        var vcpu = vm.CreateVcpu(0);
        vcpu.SetRegs(new kvm_regs { rip = 0x1234, rflags = 2 });
        using (var fd = vcpu.BorrowFd())
        {
            Assert.Equal(KvmFdKind.Vcpu, fd.Kind);
            Assert.Equal(0, Sys.Ioctl(fd.Value, ArchIoctls.KVM_GET_REGS, out var regs));
            Assert.Equal(0x1234UL, regs.rip);
        }
        using (var fd = kvm.BorrowFd())
            Assert.Equal(KvmConstants.KVM_API_VERSION, Sys.Ioctl(fd.Value, KvmIoctls.KVM_GET_API_VERSION));

        var borrow = vm.BorrowFd();
        var number = borrow.Value;
        vm.Dispose(); // the borrow still holds the fd: it stays open and answers
        Assert.True(vm.IsDisposed);
        Assert.Equal(1, Sys.Ioctl(number, KvmIoctls.KVM_CHECK_EXTENSION, (nint)KvmCap.KVM_CAP_USER_MEMORY));
        borrow.Dispose();
        Assert.False(borrow.IsLive);
        var threw = false;
        try { _ = borrow.Value; } catch (ObjectDisposedException) { threw = true; }
        Assert.True(threw, "Value of an ended borrow throws");
        Assert.Throws<ObjectDisposedException>(() => vm.BorrowFd());
        Assert.Throws<ObjectDisposedException>(() => vcpu.BorrowFd());
    }
}
