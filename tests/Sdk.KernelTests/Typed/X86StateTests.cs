using Kvm.Interop;
using Kvm.Interop.X86_64;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>Each x86 vCPU-state family round-trips on a real vCPU (set, then get returns what was set); expectations
/// that depend on the host come from its capabilities.</summary>
public class X86StateTests
{
    private static (KvmSystem Kvm, VmFd Vm, VcpuFd Vcpu) NewVcpu(bool cpuid = true)
    {
        SkipUnlessX86();
        var kvm = KvmSystem.Open();
        var vm = kvm.CreateVm();
        var vcpu = vm.CreateVcpu(0);
        if (cpuid)
            vcpu.SetCpuid2(kvm.GetSupportedCpuid());
        return (kvm, vm, vcpu);
    }

    private static void Skip(VmFd vm, KvmCap cap) =>
        Assert.SkipUnless(vm.Capabilities.Has(cap), $"{cap} is 0 on this kernel ({Kernel.Release})");

    [Fact]
    public void FpuRoundTrips()
    {
        var (kvm, vm, vcpu) = NewVcpu();
        using (kvm) using (vm) using (vcpu)
        {
            var fpu = vcpu.GetFpu();
            fpu.fcw = 0x027F;
            fpu.mxcsr = 0x7F80; // round toward zero, all exceptions masked
            for (var i = 0; i < 256; i++)
                fpu.xmm[i] = (byte)(i * 7 + 1);
            vcpu.SetFpu(fpu);
            var back = vcpu.GetFpu();
            Assert.Equal(0x027F, back.fcw);
            // KVM_GET_FPU never reports MXCSR (0 on 6.18); it round-trips through XSAVE instead (next test).
            for (var i = 0; i < 256; i++)
                Assert.Equal((byte)(i * 7 + 1), back.xmm[i]);
        }
    }

    [Fact]
    public void XsaveRoundTripsAtTheSizeTheKernelReports()
    {
        var (kvm, vm, vcpu) = NewVcpu();
        using (kvm) using (vm) using (vcpu)
        {
            Skip(vm, KvmCap.KVM_CAP_XSAVE);
            var xsave2 = vm.Capabilities.Check(KvmCap.KVM_CAP_XSAVE2);
            Assert.Equal(Math.Max(xsave2, 4096), vcpu.XsaveSize);
            byte[] image;
            if (xsave2 > 0)
                image = vcpu.GetXsave2();
            else
            {
                var legacy = vcpu.GetXsave();
                image = System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<kvm_xsave>(in legacy)).ToArray();
            }
            // XMM0 lives at byte 160 of the legacy area; XSTATE_BV (byte 512) must mark x87|SSE as present.
            for (var i = 0; i < 16; i++)
                image[160 + i] = (byte)(0xA0 + i);
            image[512] |= 3;
            BitConverter.TryWriteBytes(image.AsSpan(24, 4), 0x7F80u); // MXCSR
            vcpu.SetXsave(image);
            var back = xsave2 > 0 ? vcpu.GetXsave2() : Bytes(vcpu.GetXsave());
            Assert.Equal(image.AsSpan(160, 16).ToArray(), back.AsSpan(160, 16).ToArray());
            Assert.Equal(0x7F80u, BitConverter.ToUInt32(back.AsSpan(24, 4)));
            var fpu = vcpu.GetFpu(); // the same XMM0, seen through KVM_GET_FPU
            for (var i = 0; i < 16; i++)
                Assert.Equal((byte)(0xA0 + i), fpu.xmm[i]);
        }

        static byte[] Bytes(kvm_xsave x) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(new ReadOnlySpan<kvm_xsave>(in x)).ToArray();
    }

    [Fact]
    public void XcrsRoundTrip()
    {
        var (kvm, vm, vcpu) = NewVcpu();
        using (kvm) using (vm) using (vcpu)
        {
            Skip(vm, KvmCap.KVM_CAP_XCRS);
            var xcrs = vcpu.GetXcrs();
            Assert.True(xcrs.nr_xcrs >= 1);
            Assert.Equal(0u, xcrs.xcrs[0].xcr);
            xcrs.nr_xcrs = 1;
            xcrs.xcrs[0].value = 3; // x87 | SSE: every x86_64 guest CPUID offers both
            vcpu.SetXcrs(xcrs);
            Assert.Equal(3UL, vcpu.GetXcrs().xcrs[0].value);
        }
    }

    private const uint SysenterCs = 0x174, SysenterEsp = 0x175, Star = 0xC0000081, Lstar = 0xC0000082, Bogus = 0xDEADBEEF;

    [Fact]
    public void MsrsRoundTripInBatchesAndTheIndexListHasThem()
    {
        var (kvm, vm, vcpu) = NewVcpu();
        using (kvm) using (vm) using (vcpu)
        {
            var list = kvm.GetMsrIndexList();
            Assert.Contains(SysenterCs, list);
            Assert.Contains(Lstar, list);
            // 130 entries: three batches of at most 64.
            var set = new kvm_msr_entry[130];
            for (var i = 0; i < set.Length; i++)
                set[i] = (i % 3) switch
                {
                    0 => new kvm_msr_entry { index = SysenterCs, data = 0x10 },
                    1 => new kvm_msr_entry { index = SysenterEsp, data = 0x8000 + (ulong)i },
                    _ => new kvm_msr_entry { index = Lstar, data = 0xFFFF_FFFF_8100_0000 },
                };
            Assert.Equal(130, vcpu.TrySetMsrs(set));
            Span<kvm_msr_entry> get = [new() { index = SysenterCs }, new() { index = SysenterEsp }, new() { index = Lstar }];
            vcpu.GetMsrs(get);
            Assert.Equal(0x10UL, get[0].data);
            Assert.Equal(0x8000UL + 127, get[1].data); // the last write to SYSENTER_ESP was entry 127
            Assert.Equal(0xFFFF_FFFF_8100_0000, get[2].data);
            Assert.Equal(0x10UL, vcpu.GetMsr(SysenterCs));
        }
    }

    [Fact]
    public void MsrBatchStopsAtABogusIndexAndNamesIt()
    {
        var ignore = "/sys/module/kvm/parameters/ignore_msrs";
        Assert.SkipWhen(File.Exists(ignore) && File.ReadAllText(ignore).Trim() == "Y",
            "kvm.ignore_msrs=Y: the kernel accepts unknown MSRs, so nothing fails");
        var (kvm, vm, vcpu) = NewVcpu();
        using (kvm) using (vm) using (vcpu)
        {
            kvm_msr_entry[] batch = [new() { index = Star, data = 0x0023_0010_0000_0000 }, new() { index = Bogus, data = 1 }, new() { index = Lstar, data = 0 }];
            Assert.Equal(1, vcpu.TrySetMsrs(batch));
            var ex = Assert.Throws<MsrAccessException>(() => vcpu.SetMsrs(batch));
            Assert.Equal(Bogus, ex.MsrIndex);
            Assert.Equal(1, ex.Processed);
            Assert.Equal(3, ex.Requested);
            Assert.Contains("MSR 0xDEADBEEF", ex.Message);
            Assert.Equal(0x0023_0010_0000_0000UL, vcpu.GetMsr(Star)); // the entry before the bogus one took effect

            Span<kvm_msr_entry> read = [new() { index = Star }, new() { index = Bogus }];
            Assert.Equal(1, vcpu.TryGetMsrs(read));
            Assert.Equal(Bogus, Assert.Throws<MsrAccessException>(() => vcpu.GetMsr(Bogus)).MsrIndex);
        }
    }

    [Fact]
    public void FeatureMsrsReadWhereTheKernelHasThem()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        Assert.SkipUnless(kvm.Capabilities.Has(KvmCap.KVM_CAP_GET_MSR_FEATURES), "KVM_CAP_GET_MSR_FEATURES is 0 on this kernel");
        var list = kvm.GetMsrFeatureIndexList();
        var entries = list.Select(i => new kvm_msr_entry { index = i }).ToArray();
        Assert.Equal(entries.Length, kvm.GetFeatureMsrs(entries));
    }

    [Fact]
    public void SupportedCpuidHasLeafZeroAndSetsBeforeTheFirstRun()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        var supported = kvm.GetSupportedCpuid();
        Assert.True(supported.Contains(0));
        Assert.True(supported.Find(0).eax >= 1, "leaf 0 reports the highest basic leaf");
        Assert.InRange(supported.Count, 1, CpuidTable.MaxEntries);

        var (vm, memory, slot) = TypedGuest.With(kvm, [0xF4]); // hlt
        using (vm) using (memory) using (slot)
        using (var vcpu = vm.CreateVcpu(0))
        {
            vcpu.SetCpuid2(supported);
            var inForce = vcpu.GetCpuid2();
            Assert.Equal(supported.Count, inForce.Count);
            Assert.Equal(supported.Find(0).ebx, inForce.Find(0).ebx); // vendor string part 1

            vcpu.EnterRealMode();
            Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);

            var inForceAfterRun = vcpu.GetCpuid2();
            var changed = inForceAfterRun.Clone();
            changed.Find(0).eax--;
            var ex = Assert.Throws<InvalidOperationException>(() => vcpu.SetCpuid2(changed));
            Assert.Contains("first KVM_RUN", ex.Message);
            // The kernel's own copy (with its run-time adjustments) is accepted again.
            vcpu.SetCpuid2(inForceAfterRun);
        }
    }

    [Fact]
    public void LapicWithoutAnIrqchipIsTheMappedError()
    {
        var (kvm, vm, vcpu) = NewVcpu(cpuid: false);
        using (kvm) using (vm) using (vcpu)
        {
            var ex = Assert.Throws<KvmException>(() => vcpu.GetLapic());
            Assert.True(ex.Errno is Errno.EINVAL or Errno.ENXIO, $"errno {ex.ErrnoName}");
            Assert.Contains("no in-kernel local APIC", ex.Message);
            Assert.Equal(ArchIoctls.KVM_GET_LAPIC.Name, ex.Operation);
            Assert.Throws<KvmException>(() => vcpu.SetLapic(default));
            // Without a local APIC only RUNNABLE exists.
            Assert.Equal(MpState.Runnable, vcpu.GetMpState());
            vcpu.SetMpState(MpState.Runnable);
            Assert.Contains("no in-kernel local APIC", Assert.Throws<KvmException>(() => vcpu.SetMpState(MpState.Halted)).Message);
        }
    }

    [Fact]
    public void LapicAndMpStateRoundTripWithASplitIrqchip()
    {
        SkipUnlessX86();
        using var kvm = KvmSystem.Open();
        using var vm = kvm.CreateVm();
        Skip(vm, KvmCap.KVM_CAP_SPLIT_IRQCHIP);
        vm.EnableSplitIrqchip(24);
        using var vcpu = vm.CreateVcpu(0);
        var lapic = vcpu.GetLapic();
        const int tpr = 0x80;
        lapic.regs[tpr] = 0x20;
        vcpu.SetLapic(lapic);
        Assert.Equal(0x20, vcpu.GetLapic().regs[tpr]);
        vcpu.SetMpState(MpState.Halted);
        Assert.Equal(MpState.Halted, vcpu.GetMpState());
    }

    [Fact]
    public void VcpuEventsRoundTrip()
    {
        var (kvm, vm, vcpu) = NewVcpu();
        using (kvm) using (vm) using (vcpu)
        {
            Skip(vm, KvmCap.KVM_CAP_VCPU_EVENTS);
            var events = vcpu.GetVcpuEvents();
            events.flags &= ArchConstants.KVM_VCPUEVENT_VALID_NMI_PENDING | ArchConstants.KVM_VCPUEVENT_VALID_SHADOW;
            events.nmi.masked = 1;
            events.interrupt.shadow = ArchConstants.KVM_X86_SHADOW_INT_MOV_SS;
            events.flags |= ArchConstants.KVM_VCPUEVENT_VALID_SHADOW;
            vcpu.SetVcpuEvents(events);
            var back = vcpu.GetVcpuEvents();
            Assert.Equal(1, back.nmi.masked);
            // AMD keeps one interrupt-shadow bit and reports it as MOV_SS | STI; Intel (and PVM) keep the kind.
            Assert.NotEqual(0, back.interrupt.shadow & ArchConstants.KVM_X86_SHADOW_INT_MOV_SS);
        }
    }

    [Fact]
    public void DebugRegsRoundTrip()
    {
        var (kvm, vm, vcpu) = NewVcpu();
        using (kvm) using (vm) using (vcpu)
        {
            Skip(vm, KvmCap.KVM_CAP_DEBUGREGS);
            var regs = vcpu.GetDebugRegs();
            regs.db[0] = 0x1000;
            regs.db[3] = 0x4000;
            regs.dr7 = 0x0403; // L0 | G0 and the reserved-one bit 10
            vcpu.SetDebugRegs(regs);
            var back = vcpu.GetDebugRegs();
            Assert.Equal(0x1000UL, back.db[0]);
            Assert.Equal(0x4000UL, back.db[3]);
            Assert.Equal(0x0403UL, back.dr7);
        }
    }

    [Fact]
    public void TscKhzRoundTrips()
    {
        var (kvm, vm, vcpu) = NewVcpu(cpuid: false);
        using (kvm) using (vm) using (vcpu)
        {
            Skip(vm, KvmCap.KVM_CAP_GET_TSC_KHZ);
            var khz = vcpu.GetTscKhz();
            Assert.True(khz > 0);
            vcpu.SetTscKhz(khz); // the host's own rate needs no TSC scaling
            Assert.Equal(khz, vcpu.GetTscKhz());
        }
    }

    [Fact]
    public void Sregs2RoundTripsAndRefusesPdptrsOutsidePae()
    {
        var (kvm, vm, vcpu) = NewVcpu(cpuid: false);
        using (kvm) using (vm) using (vcpu)
        {
            Skip(vm, KvmCap.KVM_CAP_SREGS2);
            var s = vcpu.GetSregs2();
            s.idt = new kvm_dtable { @base = 0x1000, limit = 0xFF };
            s.cs.selector = 0x20;
            vcpu.SetSregs2(s);
            var back = vcpu.GetSregs2();
            Assert.Equal(0x1000UL, back.idt.@base);
            Assert.Equal(0xFF, back.idt.limit);
            Assert.Equal(0x20, back.cs.selector);
            Assert.Equal(vcpu.GetSregs().idt.@base, back.idt.@base);
            back.flags = ArchConstants.KVM_SREGS2_FLAGS_PDPTRS_VALID;
            Assert.Contains("PAE paging", Assert.Throws<ArgumentException>(() => vcpu.SetSregs2(back)).Message);
        }
    }
}
