using Kvm.Interop;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>The in-kernel irqchip on x86: its order rule, PIT2, IRQ lines, GSI routing and MSIs, against the kernel.</summary>
[Collection(nameof(InterruptsSerial))]
public class IrqchipTests
{
    private static IrqchipFeature Irqchip(VmFd vm)
    {
        Assert.SkipWhen(vm.Irqchip is null, "KVM_CAP_IRQCHIP is 0 on this VM");
        return vm.Irqchip!;
    }

    [Fact]
    public void IrqchipBeforeVcpusThenTheRuleAfter()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var chip = Irqchip(vm);
        chip.CreateIrqchip();
        Assert.True(chip.IsCreated);
        var again = Assert.Throws<KvmException>(chip.CreateIrqchip);
        Assert.Equal(Errno.EEXIST, again.Errno);

        using var vm2 = kvm.CreateVm();
        vm2.CreateVcpu(0).Dispose();  // even a disposed vCPU counts: the kernel never lowers created_vcpus
        var ex = Assert.Throws<InvalidOperationException>(vm2.Irqchip!.CreateIrqchip);
        Assert.Contains("before the VM's first KVM_CREATE_VCPU", ex.Message);
        Assert.False(vm2.Irqchip.IsCreated);
    }

    [Fact]
    public void Pit2NeedsTheIrqchipOnNewKernels()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var chip = Irqchip(vm);
        Assert.SkipUnless(chip.SupportsPit2, "KVM_CAP_PIT2 is 0");
        // 6.18 and 7.3 refuse a PIT without the irqchip (ENOENT); 6.1 creates it.
        var early = chip.TryCreatePit2();
        if (early is { } e)
        {
            Assert.Equal(Errno.ENOENT, e.Errno);
            Assert.Contains("CreateIrqchip first", e.Message);
            chip.CreateIrqchip();
            chip.CreatePit2(PitConfigFlags.SpeakerDummy);
        }
        else
        {
            Assert.False(Support.Kernel.AtLeast(6, 18), $"kernel {Support.Kernel.Release} created a PIT without the irqchip");
            chip.CreateIrqchip();
        }
        Assert.Equal(Errno.EEXIST, Assert.Throws<KvmException>(() => chip.CreatePit2()).Errno);
    }

    [Fact]
    public void IrqLineReportsStatusAndNeedsTheIrqchip()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var chip = Irqchip(vm);
        var none = Assert.Throws<KvmException>(() => chip.SetIrqLine(5, true));
        Assert.Equal(Errno.ENXIO, none.Errno);
        chip.CreateIrqchip();
        using var vcpu = vm.CreateVcpu(0);
        var status = chip.SetIrqLine(5, true);
        chip.SetIrqLine(5, false);
        if (chip.SupportsLineStatus)
        {
            Assert.NotNull(status);
            Assert.Equal(-1, chip.SetIrqLine(4000, true)); // a GSI with no route: not delivered
        }
        else
            Assert.Null(status);
    }

    [Fact]
    public void IrqLineDeliversPicInterruptToARealModeGuest()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var (vm, memory, slot) = TypedGuest.With(kvm, InterruptGuest.Image());
        using (vm) using (memory) using (slot)
        {
            Irqchip(vm).CreateIrqchip();
            using var vcpu = TypedGuest.Vcpu(vm);
            var (port, value) = InterruptGuest.RunUntilInterrupt(vcpu, () =>
            {
                vm.Irqchip!.SetIrqLine(InterruptGuest.Gsi, true);
                vm.Irqchip.SetIrqLine(InterruptGuest.Gsi, false);
            });
            Assert.Equal(InterruptGuest.HandlerPort, port);
            Assert.Equal(InterruptGuest.HandlerValue, value);
        }
    }

    [Fact]
    public void GsiRoutingIsAcceptedWithTheIrqchipOnly()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var chip = Irqchip(vm);
        Assert.SkipWhen(chip.MaxRoutes == 0, "KVM_CAP_IRQ_ROUTING is 0");
        var table = GsiRoutingTable.X86Default().AddMsi(24, 0xFEE00000, 0x30);
        Assert.Equal(Errno.EINVAL, Assert.Throws<KvmException>(() => chip.SetGsiRouting(table)).Errno);
        chip.CreateIrqchip();
        chip.SetGsiRouting(table);
        chip.SetGsiRouting(new GsiRoutingTable()); // an empty table is a valid table
        Assert.Throws<ArgumentException>(() => chip.SetGsiRouting(new GsiRoutingTable().AddMsi((uint)chip.MaxRoutes, 0xFEE00000, 0x30)));
    }

    [Fact]
    public void MsiNeedsTheIrqchipAndADestination()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var chip = Irqchip(vm);
        Assert.SkipUnless(chip.SupportsSignalMsi, "KVM_CAP_SIGNAL_MSI is 0");
        Assert.Equal(Errno.EINVAL, Assert.Throws<KvmException>(() => chip.SignalMsi(0xFEE00000, 0x30)).Errno);
        chip.CreateIrqchip();
        Assert.Equal(-1, chip.SignalMsi(0xFEE00000, 0x30)); // no vCPU yet: the kernel's -1 (EPERM on the wire)
        using var vcpu = vm.CreateVcpu(0);
        Assert.True(chip.SignalMsi(0xFEE00000, 0x30) >= 0); // LAPIC 0 exists (software-disabled after reset)
        Assert.False(chip.SupportsMsiDevid); // an ITS notion: never on x86
        Assert.Throws<ArgumentException>(() => chip.SignalMsi(0xFEE00000, 0x30, deviceId: 7));
    }

    [Fact]
    public void TssAndIdentityMapAddresses()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.SkipUnless(vm.Capabilities.Has(KvmCap.KVM_CAP_SET_TSS_ADDR), "KVM_CAP_SET_TSS_ADDR is 0");
        vm.SetIdentityMapAddress(0xFFFBC000);
        vm.SetTssAddress(0xFFFBD000);
        Assert.Throws<ArgumentOutOfRangeException>(() => vm.SetTssAddress(0xFFFFE000));
        using var vcpu = vm.CreateVcpu(0);
        var ex = Assert.Throws<InvalidOperationException>(() => vm.SetIdentityMapAddress(0xFFFBC000));
        Assert.Contains("KVM_SET_IDENTITY_MAP_ADDR must come before", ex.Message);
    }
}

internal static class IrqchipTestExtensions
{
    /// <summary>CreatePit2, with the kernel's refusal as a value (null: created).</summary>
    public static KvmException? TryCreatePit2(this IrqchipFeature chip)
    {
        try
        {
            chip.CreatePit2();
            return null;
        }
        catch (KvmException e)
        {
            return e;
        }
    }
}
