using Kvm.Interop;

namespace Kvm.Tests.Typed;

/// <summary>Exit decoding and <see cref="VcpuExitSnapshot"/> against a fake kernel that writes kvm_run by hand: every
/// exit reason of the headers has a name, each typed view reads the fields it names, and a snapshot keeps them (and
/// says them in ToString) after the vCPU ran again.</summary>
public unsafe class ExitSnapshotTests
{
    // The other architectures' exits; everything else the headers define has a VcpuExitReason of its own.
    private static readonly KvmExit[] OtherArchitectures =
    [
        KvmExit.KVM_EXIT_SET_TPR, KvmExit.KVM_EXIT_S390_SIEIC, KvmExit.KVM_EXIT_S390_RESET, KvmExit.KVM_EXIT_DCR,
        KvmExit.KVM_EXIT_OSI, KvmExit.KVM_EXIT_PAPR_HCALL, KvmExit.KVM_EXIT_S390_UCONTROL, KvmExit.KVM_EXIT_WATCHDOG,
        KvmExit.KVM_EXIT_S390_TSCH, KvmExit.KVM_EXIT_EPR, KvmExit.KVM_EXIT_S390_STSI, KvmExit.KVM_EXIT_RISCV_SBI,
        KvmExit.KVM_EXIT_RISCV_CSR, KvmExit.KVM_EXIT_LOONGARCH_IOCSR,
    ];

    [Fact]
    public void EveryX86AndArm64ExitReasonHasAName()
    {
        foreach (var e in Enum.GetValues<KvmExit>())
        {
            var r = VcpuFd.Decode((uint)e);
            if (OtherArchitectures.Contains(e))
                Assert.Equal(VcpuExitReason.Other, r);
            else
                Assert.True(r != VcpuExitReason.Other, $"{e} decodes to Other");
        }
        Assert.Equal(VcpuExitReason.Other, VcpuFd.Decode(9999));
        // The members that existed before keep their numbers.
        Assert.Equal(0, (int)VcpuExitReason.Unknown);
        Assert.Equal(11, (int)VcpuExitReason.Other);
    }

    [Fact]
    public void TheExitUnionStartsAtTheSameOffsetOnBothArchitectures()
    {
        Assert.Equal(VcpuExit.UnionOffset, (int)System.Runtime.InteropServices.Marshal.OffsetOf<Interop.X86_64.kvm_run>(nameof(Interop.X86_64.kvm_run.io)));
        Assert.Equal(VcpuExit.UnionOffset, (int)System.Runtime.InteropServices.Marshal.OffsetOf<Interop.Arm64.kvm_run>(nameof(Interop.Arm64.kvm_run.io)));
    }

    private static (KvmSystem Kvm, VmFd Vm, VcpuFd Vcpu, IntPtr Run) Fake()
    {
        var sys = new FakeSyscalls();
        var kvm = KvmSystem.OpenWith(sys);
        var vm = kvm.CreateVm();
        var vcpu = vm.CreateVcpu(3);
        return (kvm, vm, vcpu, sys.Mappings[sys.Mappings.Keys.Max()]);
    }

    [Fact]
    public void StringIoKeepsSixteenBytesAndSaysItWasTruncated()
    {
        var (kvm, vm, vcpu, p) = Fake();
        using (kvm) using (vm) using (vcpu)
        {
            var run = (Interop.X86_64.kvm_run*)p;
            run->exit_reason = (uint)KvmExit.KVM_EXIT_IO;
            run->io = new kvm_run_io { direction = 1, size = 2, port = 0x3F8, count = 16, data_offset = 4096 };
            for (var i = 0; i < 32; i++)
                ((byte*)p)[4096 + i] = (byte)i;
            var snap = vcpu.Run().ToSnapshot();
            run->exit_reason = (uint)KvmExit.KVM_EXIT_HLT;
            Assert.Equal(VcpuExitReason.Hlt, vcpu.Run().Reason);
            var io = snap.Io;
            Assert.Equal((IoDirection.Out, (byte)2, (ushort)0x3F8, 16u), (io.Direction, io.Size, io.Port, io.Count));
            Assert.Equal(16, io.Data.Length);
            Assert.Equal(32, io.Data.TotalLength);
            Assert.True(io.Data.IsTruncated);
            Assert.Equal(15, io.Data[15]);
            Assert.Throws<ArgumentOutOfRangeException>(() => io.Data[16]);
            Assert.Equal(3, snap.VcpuId);
            Assert.Equal("vCPU 3 Io: Out port 0x3F8 size 2 count 16 data [00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F …(+16)]", snap.ToString());
        }
    }

    [Fact]
    public void IoDataOutsideKvmRunIsRefused()
    {
        var (kvm, vm, vcpu, p) = Fake();
        using (kvm) using (vm) using (vcpu)
        {
            var run = (Interop.X86_64.kvm_run*)p;
            run->exit_reason = (uint)KvmExit.KVM_EXIT_IO;
            run->io = new kvm_run_io { direction = 0, size = 4, port = 1, count = 1, data_offset = 3 * 4096 - 2 };
            var threw = false;
            try { vcpu.Run().ToSnapshot(); } catch (InvalidOperationException) { threw = true; }
            Assert.True(threw);
        }
    }

    [Fact]
    public void MmioSystemEventInternalErrorAndMsrSnapshotsDecodeTheirFields()
    {
        var (kvm, vm, vcpu, p) = Fake();
        using (kvm) using (vm) using (vcpu)
        {
            var run = (Interop.X86_64.kvm_run*)p;
            run->exit_reason = (uint)KvmExit.KVM_EXIT_MMIO;
            run->mmio.phys_addr = 0xFEE0_0000;
            run->mmio.len = 4;
            run->mmio.is_write = 1;
            run->mmio.data[0] = 0x78; run->mmio.data[1] = 0x56; run->mmio.data[2] = 0x34; run->mmio.data[3] = 0x12;
            var mmio = vcpu.Run().ToSnapshot();

            run->exit_reason = (uint)KvmExit.KVM_EXIT_SYSTEM_EVENT;
            run->system_event.type = (uint)KvmSystemEvent.KVM_SYSTEM_EVENT_RESET;
            run->system_event.ndata = 3;
            run->system_event.data[0] = 1; run->system_event.data[1] = 2; run->system_event.data[2] = 0xAB;
            var exit = vcpu.Run();
            var se = exit.SystemEvent;
            var sys = exit.ToSnapshot();

            run->exit_reason = (uint)KvmExit.KVM_EXIT_INTERNAL_ERROR;
            run->emulation_failure.suberror = (uint)KvmConstants.KVM_INTERNAL_ERROR_EMULATION;
            run->emulation_failure.ndata = 4;
            run->emulation_failure.flags = KvmConstants.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
            run->emulation_failure.insn_size = 3;
            run->emulation_failure.insn_bytes[0] = 0x0F; run->emulation_failure.insn_bytes[1] = 0x01; run->emulation_failure.insn_bytes[2] = 0xC1;
            var ie = vcpu.Run().ToSnapshot();

            run->exit_reason = (uint)KvmExit.KVM_EXIT_X86_WRMSR;
            run->msr.reason = KvmConstants.KVM_MSR_EXIT_REASON_UNKNOWN;
            run->msr.index = 0x4B564D00;
            run->msr.data = 7;
            exit = vcpu.Run();
            var msrView = exit.Msr;
            msrView.Error = true;
            Assert.Equal(1, run->msr.error); // the VMM's #GP request lands in kvm_run
            var msr = exit.ToSnapshot();

            Assert.Equal(new MmioSnapshot(0xFEE0_0000, true, mmio.Mmio.Data), mmio.Mmio);
            Assert.Equal(0x12345678UL, mmio.Mmio.Data.ToUInt64());
            Assert.Equal("vCPU 3 Mmio: write 0xFEE00000 len 4 data [78 56 34 12]", mmio.ToString());

            Assert.Equal(se, sys.SystemEvent);
            Assert.Equal(0xABUL, sys.SystemEvent.Data(2));
            Assert.Throws<ArgumentOutOfRangeException>(() => sys.SystemEvent.Data(3));
            Assert.Equal("vCPU 3 SystemEvent: KVM_SYSTEM_EVENT_RESET ndata 3 data [0x1, 0x2, 0xAB]", sys.ToString());

            Assert.Equal(InternalErrorKind.Emulation, ie.InternalError.Kind);
            Assert.Equal(3, ie.InternalError.InstructionLength);
            Assert.EndsWith("insn 0F01C1", ie.ToString());

            Assert.Equal(new MsrSnapshot(true, MsrExitReasons.Unknown, 0x4B564D00, 7), msr.Msr);
            Assert.Equal("vCPU 3 X86Wrmsr: wrmsr 0x4B564D00 = 0x7 (Unknown)", msr.ToString());

            Assert.NotEqual(mmio, msr);
            Assert.Throws<InvalidOperationException>(() => msr.SystemEvent);
            Assert.Equal("vCPU 0 Unknown: hardware exit reason 0x0", default(VcpuExitSnapshot).ToString());
        }
    }

    [Fact]
    public void MsrFilterAndGuestDebugArgumentsAreRefusedBeforeTheIoctl()
    {
        var sys = new FakeSyscalls();
        sys.Caps[(int)KvmCap.KVM_CAP_X86_MSR_FILTER] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_X86_USER_SPACE_MSR] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_ENABLE_CAP_VM] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_SET_GUEST_DEBUG] = 1;
        sys.Caps[(int)KvmCap.KVM_CAP_SET_GUEST_DEBUG2] = (int)(GuestDebugFlags.Enable | GuestDebugFlags.SingleStep);
        using var kvm = KvmSystem.OpenWith(sys);
        using var vm = kvm.CreateVm();
        using var vcpu = vm.CreateVcpu(0);
        var filter = vm.MsrFilter!;
        var setFilter = $"ioctl 0x{(ulong)Interop.X86_64.ArchIoctls.KVM_X86_SET_MSR_FILTER.Value:X}";
        var tooMany = Enumerable.Range(0, 17).Select(i => MsrFilterRange.Deny(MsrFilterAccess.Read, (uint)i)).ToArray();
        Assert.Contains("KVM_MSR_FILTER_MAX_RANGES", Assert.Throws<ArgumentException>(() => filter.Set(false, tooMany)).Message);
        Assert.Contains("bitmap bytes", Assert.Throws<ArgumentException>(() => filter.Set(false, new MsrFilterRange(MsrFilterAccess.Write, 0, 9, new byte[1]))).Message);
        Assert.Contains("KVM_MSR_FILTER_READ", Assert.Throws<ArgumentException>(() => filter.Set(false, new MsrFilterRange(0, 0, 1, new byte[1]))).Message);
        Assert.Contains("KVM_MSR_FILTER_MAX_BITMAP_SIZE", Assert.Throws<ArgumentException>(() => filter.Set(false, new MsrFilterRange(MsrFilterAccess.Read, 0, 0x600 * 8 + 1, new byte[0x601]))).Message);
        Assert.Equal(0, sys.Count(setFilter));
        Assert.Throws<ArgumentException>(() => vm.UserSpaceMsr!.Enable((MsrExitReasons)0x10));
        Assert.Contains("KVM_CAP_SET_GUEST_DEBUG2", Assert.Throws<ArgumentException>(() => vcpu.GuestDebug!.Set(GuestDebugFlags.Enable | GuestDebugFlags.UseSoftwareBreakpoints)).Message);

        // The kernel reads whole longs of bitmap: a 9-MSR range hands it 8 bytes, the caller's 2 then zeros.
        byte[]? seen = null;
        sys.Handlers[Interop.X86_64.ArchIoctls.KVM_X86_SET_MSR_FILTER.Value] = (_, _, arg) =>
        {
            var f = (Interop.X86_64.kvm_msr_filter*)arg;
            seen = new ReadOnlySpan<byte>((void*)f->ranges[0].bitmap, 8).ToArray();
            return f->ranges[0].nmsrs == 9 && f->ranges[1].nmsrs == 0 ? 0 : -22;
        };
        filter.Set(false, new MsrFilterRange(MsrFilterAccess.ReadWrite, 0x10, 9, new byte[] { 0xFF, 0x01, 0xEE }));
        Assert.Equal(new byte[] { 0xFF, 0x01, 0, 0, 0, 0, 0, 0 }, seen);
    }
}
