using Xunit;
using Kvm.Interop;

namespace Kvm.KernelTests.Arm64;

/// <summary>
/// The arm64 surface a Linux boot needs, against the lane's kernel: typed vCPU features against their capabilities,
/// ONE_REG of 32/64/128 bits and KVM_GET_REG_LIST, the vGICv3 device (addresses, line count, init, order rules),
/// KVM_IRQ_LINE's SPI encoding seen in the distributor's pending bits, an irqfd into the GIC, the timer/PMU
/// attributes and the ITS where offered.
/// </summary>
public sealed class Arm64BootSurfaceTests
{
    private const ulong GicDist = 0x0800_0000, GicRedist = 0x080a_0000, ItsBase = 0x0808_0000;

    [Fact]
    public void Features_are_checked_against_their_capabilities_before_the_ioctl()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        var target = vm.Arm64PreferredTarget();
        Arm64Env.Record($"KVM_ARM_PREFERRED_TARGET: target {target.target}; caps PSCI_0_2={vm.Capabilities.Check(KvmCap.KVM_CAP_ARM_PSCI_0_2)} " +
            $"PMU_V3={vm.Capabilities.Check(KvmCap.KVM_CAP_ARM_PMU_V3)} SVE={vm.Capabilities.Check(KvmCap.KVM_CAP_ARM_SVE)} " +
            $"PTRAUTH={vm.Capabilities.Check(KvmCap.KVM_CAP_ARM_PTRAUTH_ADDRESS)}/{vm.Capabilities.Check(KvmCap.KVM_CAP_ARM_PTRAUTH_GENERIC)} " +
            $"EL2={vm.Capabilities.Check(KvmCap.KVM_CAP_ARM_EL2)}");
        Assert.True(vm.Capabilities.Has(KvmCap.KVM_CAP_ARM_PSCI_0_2));
        foreach (var (feature, cap) in new[] { (Arm64VcpuFeatures.Sve, KvmCap.KVM_CAP_ARM_SVE), (Arm64VcpuFeatures.PmuV3, KvmCap.KVM_CAP_ARM_PMU_V3),
                     (Arm64VcpuFeatures.PtrAuthAddress | Arm64VcpuFeatures.PtrAuthGeneric, KvmCap.KVM_CAP_ARM_PTRAUTH_ADDRESS) })
        {
            using var own = kvm.CreateVm();   // a VM per feature set: the first init fixes the VM's features
            using var vcpu = own.CreateVcpu(0);
            var features = Arm64VcpuFeatures.Psci02 | feature;
            if (!own.Capabilities.Has(cap))
            {
                var refused = Assert.Throws<ArgumentException>(() => vcpu.InitArm64(features));
                Assert.Contains(cap.ToString(), refused.Message);
                Assert.Null(vcpu.Arm64Features);
                continue;
            }
            vcpu.InitArm64(features);
            Assert.Equal(features, vcpu.Arm64Features);
            Assert.Equal(features, own.Arm64VcpuFeatures);
            if (feature == Arm64VcpuFeatures.Sve)
            {
                vcpu.FinalizeSve();
                Assert.Contains("already finalized", Assert.Throws<InvalidOperationException>(vcpu.FinalizeSve).Message);
            }
        }
        using var half = vm.CreateVcpu(0);
        Assert.Contains("or neither", Assert.Throws<ArgumentException>(() => half.InitArm64(Arm64VcpuFeatures.PtrAuthAddress)).Message);
        half.InitArm64(Arm64VcpuFeatures.Psci02);
        Assert.Contains("Arm64VcpuFeatures.Sve", Assert.Throws<InvalidOperationException>(half.FinalizeSve).Message);   // not an SVE vCPU
        // The VM's vCPUs share one feature set, PowerOff aside (secondaries start powered off).
        using var secondary = vm.CreateVcpu(1);
        secondary.InitArm64(Arm64VcpuFeatures.Psci02 | Arm64VcpuFeatures.PowerOff);
        using var other = vm.CreateVcpu(2);
        Assert.Contains("same features", Assert.Throws<ArgumentException>(() => other.InitArm64(Arm64VcpuFeatures.None)).Message);
        // What the SDK refuses, the kernel refuses too: the raw untyped init with other features.
        var raw = Assert.Throws<KvmException>(() => other.InitArm64(ReadOnlySpan<int>.Empty));
        Assert.Equal(Errno.EINVAL, raw.Errno);
        Assert.Equal("KVM_ARM_VCPU_INIT", raw.Operation);
    }

    [Fact]
    public void Register_list_and_one_reg_of_32_64_and_128_bits()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        var early = Assert.Throws<KvmException>(() => vcpu.GetRegisterList());
        Assert.Equal(Errno.ENOEXEC, early.Errno);
        vcpu.InitArm64(Arm64VcpuFeatures.Psci02);
        var list = vcpu.GetRegisterList();
        Arm64Env.Record($"KVM_GET_REG_LIST: {list.Length} registers; sizes {string.Join(",", list.GroupBy(VcpuFd.OneRegSize).OrderBy(g => g.Key).Select(g => $"{g.Key}B x{g.Count()}"))}");
        Assert.Contains(Arm64Registers.Pc, list);
        Assert.Contains(Arm64Registers.X(30), list);
        Assert.Contains(Arm64Registers.V(31), list);
        Assert.Contains(Arm64Registers.Fpsr, list);
        Assert.Equal(list.Length, list.Distinct().Count());

        var v = ((UInt128)0x0123_4567_89ab_cdef << 64) | 0xfedc_ba98_7654_3210;
        vcpu.SetOneReg128(Arm64Registers.V(5), v);
        Assert.Equal(v, vcpu.GetOneReg128(Arm64Registers.V(5)));
        vcpu.SetOneReg32(Arm64Registers.Fpcr, 0x0300_0000);   // RMode = round towards zero
        Assert.Equal(0x0300_0000u, vcpu.GetOneReg32(Arm64Registers.Fpcr));
        var wrong = new byte[8];
        Assert.Contains("16-byte register", Assert.Throws<ArgumentException>(() => vcpu.GetOneReg(Arm64Registers.V(0), wrong)).Message);
        // Every listed register of 8 bytes or less reads back through the width its id names.
        Span<byte> buffer = stackalloc byte[256];
        var read = 0;
        foreach (var reg in list)
        {
            var size = VcpuFd.OneRegSize(reg);
            vcpu.GetOneReg(reg, buffer[..size]);
            read++;
        }
        Assert.Equal(list.Length, read);
    }

    [Fact]
    public void VGicV3_addresses_line_count_and_init_order()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Assert.NotNull(vm.Devices);
        Assert.True(vm.Devices!.IsSupported(KvmDeviceType.ArmVgicV3));
        using var gic = VGicV3.Create(vm);
        Assert.Contains("64 KiB aligned", Assert.Throws<ArgumentException>(() => gic.SetDistributorBase(GicDist + 0x1000)).Message);
        Assert.Contains("before KVM_DEV_ARM_VGIC_CTRL_INIT", Assert.Throws<InvalidOperationException>(gic.Initialize).Message);
        gic.SetDistributorBase(GicDist);
        Assert.Contains("already", Assert.Throws<ArgumentException>(() => gic.SetDistributorBase(GicDist)).Message);
        gic.SetRedistributorBase(GicRedist);
        Assert.Throws<ArgumentOutOfRangeException>(() => gic.SetIrqCount(48));
        Assert.Throws<ArgumentOutOfRangeException>(() => gic.SetIrqCount(100));
        gic.SetIrqCount(128);
        Assert.Equal(128, gic.ReadIrqCount());
        var second = Assert.Throws<KvmException>(() => VGicV3.Create(vm));
        Assert.Equal(Errno.EEXIST, second.Errno);
        using var vcpu0 = vm.CreateVcpu(0);
        vcpu0.InitArm64(Arm64VcpuFeatures.Psci02);
        gic.Initialize();
        Assert.True(gic.IsInitialized);
        var late = Assert.Throws<KvmException>(() => vm.CreateVcpu(1));
        Arm64Env.Record($"vCPU created after KVM_DEV_ARM_VGIC_CTRL_INIT: {late.Errno}");
        Assert.Equal(Errno.EBUSY, late.Errno);
    }

    [Fact]
    public void Spi_line_and_irqfd_show_up_as_pending_in_the_distributor()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var gic = VGicV3.Create(vm);
        gic.SetDistributorBase(GicDist);
        gic.SetRedistributorBase(GicRedist);
        gic.SetIrqCount(128);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.InitArm64(Arm64VcpuFeatures.Psci02);
        gic.Initialize();
        var irqchip = Assert.IsType<IrqchipFeature>(vm.Irqchip);
        const uint IsPendR1 = 0x200 + 4;  // GICD_ISPENDR1: INTIDs 32..63

        const uint IcPendR1 = 0x280 + 4, IcfgR2 = 0xC00 + 8;   // GICD_ICPENDR1; GICD_ICFGR2: INTIDs 32..47, 2 bits each
        Arm64Env.Record($"GICD_ICFGR2 after init: 0x{gic.ReadDistributorRegister(IcfgR2):x8}");
        // SPIs start edge-sensitive here (0xaaaaaaaa on 7.3.4). SPI 40 made level-sensitive (field 8 bit 1 clear): the
        // line KVM_IRQ_LINE drives shows in the line-level info; a userspace GICD_ISPENDR read shows only latches.
        gic.WriteDistributorRegister(IcfgR2, gic.ReadDistributorRegister(IcfgR2) & ~(2u << 16));
        irqchip.SetArm64IrqLine(Arm64IrqLine.Spi(40), level: true);
        Assert.Equal(1u << 8, gic.ReadLineLevels(32) & (1u << 8));
        irqchip.SetArm64IrqLine(Arm64IrqLine.Spi(40), level: false);
        Assert.Equal(0u, gic.ReadLineLevels(32) & (1u << 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => gic.ReadLineLevels(40));
        // SPI 42 edge-sensitive: a rising edge latches, and dropping the line keeps it pending.
        gic.WriteDistributorRegister(IcfgR2, gic.ReadDistributorRegister(IcfgR2) | (2u << 20));
        irqchip.SetArm64IrqLine(Arm64IrqLine.Spi(42), level: true);
        irqchip.SetArm64IrqLine(Arm64IrqLine.Spi(42), level: false);
        Assert.Equal(1u << 10, gic.ReadDistributorRegister(IsPendR1) & (1u << 10));
        gic.WriteDistributorRegister(IcPendR1, 1u << 10);
        Arm64Env.Record($"edge SPI 42 after a userspace GICD_ICPENDR write: pending bit {(gic.ReadDistributorRegister(IsPendR1) >> 10) & 1} (7.3.4: still 1, the write is not a clear from userspace)");

        var beyond = Assert.Throws<KvmException>(() => irqchip.SetArm64IrqLine(Arm64IrqLine.Spi(200), true));
        Arm64Env.Record($"KVM_IRQ_LINE SPI 200 on a 128-line vGIC: {beyond.Errno}");
        Assert.Equal(Errno.EINVAL, beyond.Errno);
        irqchip.SetArm64IrqLine(Arm64IrqLine.Ppi(0, 23), true);       // a PPI of vCPU 0 is accepted

        // irqfd: GSI n is SPI 32 + n. Make SPI 41 edge-triggered (GICD_ICFGR2, field 9, bit 1) so the pulse latches.
        gic.WriteDistributorRegister(IcfgR2, gic.ReadDistributorRegister(IcfgR2) | (2u << 18));
        var irqfds = Assert.IsType<IrqFdFeature>(vm.IrqFds);
        using var irqfd = irqfds.Register(gsi: 9);
        Assert.Equal(0u, gic.ReadDistributorRegister(IsPendR1) & (1u << 9));
        irqfd.Signal();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while ((gic.ReadDistributorRegister(IsPendR1) & (1u << 9)) == 0 && DateTime.UtcNow < deadline)
            Thread.Sleep(10);
        Assert.Equal(1u << 9, gic.ReadDistributorRegister(IsPendR1) & (1u << 9));
    }

    [Fact]
    public void Timer_and_pmu_vcpu_attributes()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var gic = VGicV3.Create(vm);
        gic.SetDistributorBase(GicDist);
        gic.SetRedistributorBase(GicRedist);
        var pmu = vm.Capabilities.Has(KvmCap.KVM_CAP_ARM_PMU_V3);
        using var vcpu = vm.CreateVcpu(0);
        vcpu.InitArm64(Arm64VcpuFeatures.Psci02 | (pmu ? Arm64VcpuFeatures.PmuV3 : 0));
        Assert.Equal(27, vcpu.GetArm64TimerIrq(Arm64Timer.Virtual));
        Assert.Equal(30, vcpu.GetArm64TimerIrq(Arm64Timer.Physical));
        Assert.Throws<ArgumentOutOfRangeException>(() => vcpu.SetArm64TimerIrq(Arm64Timer.Virtual, 32));
        vcpu.SetArm64TimerIrq(Arm64Timer.Virtual, 26);
        Assert.Equal(26, vcpu.GetArm64TimerIrq(Arm64Timer.Virtual));
        vcpu.SetArm64TimerIrq(Arm64Timer.Virtual, 27);
        Assert.True(vcpu.HasAttribute(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_TIMER_CTRL, (ulong)Interop.Arm64.ArchConstants.KVM_ARM_VCPU_TIMER_IRQ_VTIMER));
        Assert.False(vcpu.HasAttribute(0x7777, 0));
        gic.Initialize();
        Assert.Equal(pmu, vcpu.HasAttribute(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PMU_V3_CTRL, (ulong)Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PMU_V3_INIT));
        if (!pmu)
        {
            Assert.Contains("PmuV3", Assert.Throws<InvalidOperationException>(() => vcpu.InitArm64Pmu(23)).Message);
            Arm64Env.Record("PMU: KVM_CAP_ARM_PMU_V3 = 0 here; InitArm64Pmu refused before the ioctl");
            return;
        }
        vcpu.InitArm64Pmu(23);
        Assert.Equal(23, vcpu.GetAttribute<int>(Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PMU_V3_CTRL, (ulong)Interop.Arm64.ArchConstants.KVM_ARM_VCPU_PMU_V3_IRQ));
        Arm64Env.Record("PMU: PMUv3 initialised with overflow PPI 23");
    }

    [Fact]
    public void Its_is_created_where_offered()
    {
        Arm64Env.RequireArm64Kvm();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        using var gic = VGicV3.Create(vm);
        gic.SetDistributorBase(GicDist);
        gic.SetRedistributorBase(GicRedist);
        Assert.Contains("64 KiB aligned", Assert.Throws<ArgumentException>(() => VGicIts.Create(vm, ItsBase + 4)).Message);
        var offered = vm.Devices!.IsSupported(KvmDeviceType.ArmVgicIts);
        Arm64Env.Record($"ITS offered: {offered}; KVM_CAP_MSI_DEVID = {vm.Capabilities.Check(KvmCap.KVM_CAP_MSI_DEVID)}");
        if (!offered)
        {
            Assert.Equal(Errno.ENODEV, Assert.Throws<KvmException>(() => VGicIts.Create(vm, ItsBase)).Errno);
            return;
        }
        using var its = VGicIts.Create(vm, ItsBase);
        Assert.Equal(ItsBase, its.Base);
        Assert.True(vm.Capabilities.Has(KvmCap.KVM_CAP_MSI_DEVID));
    }
}
