using Xunit;
using Kvm.Interop;
using Kvm.KernelTests.Support;
using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>Each exit a stock x86 kernel can produce without special hardware, provoked by a tiny real-mode guest,
/// decodes to its typed view with the fields the guest caused; a snapshot taken from each says the same after the vCPU
/// ran again.</summary>
public class X86ExitTests
{
    [Fact]
    public void HltDecodesAndSnapshots()
    {
        using var g = ExitGuest.Create([0x90, 0xF4]); // nop ; hlt
        var exit = g.Run();
        Assert.Equal(VcpuExitReason.Hlt, exit.Reason);
        Assert.Equal((uint)KvmExit.KVM_EXIT_HLT, exit.RawExitReason);
        var snap = exit.ToSnapshot();
        Assert.Equal(VcpuExitReason.Hlt, snap.Reason);
        Assert.Equal("vCPU 0 Hlt", snap.ToString());
        Assert.Throws<InvalidOperationException>(() => snap.Io);
        string? refusal = null;
        try { _ = exit.Msr; } catch (InvalidOperationException e) { refusal = e.Message; }
        Assert.Contains("Hlt", refusal);
    }

    [Fact]
    public void TripleFaultIsShutdown()
    {
        // An IDT limit of 0 makes the #UD undeliverable: #GP, then #DF, then a triple fault.
        SkipOnPvm("a triple fault (its emulated ud2 never exits)");
        using var g = ExitGuest.Create([0x0F, 0x0B]); // ud2
        var sregs = g.Vcpu.GetSregs();
        sregs.idt.limit = 0;
        g.Vcpu.SetSregs(sregs);
        var exit = g.Run();
        Assert.True(exit.Reason == VcpuExitReason.Shutdown, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        Assert.Equal("vCPU 0 Shutdown", exit.ToSnapshot().ToString());
    }

    // DEBUG is provoked by single-stepping: breakpoints do not exit in every lane. An int3 with USE_SW_BP never exits
    // in real mode (7.3.4 and 6.1 under QEMU TCG's nested SVM, and PVM): the guest takes its own IVT vector 3; an execute
    // breakpoint in DR0 with USE_HW_BP exits on PVM but is never hit under QEMU TCG's nested SVM (both kernels).
    [Fact]
    public void SingleStepIsADebugExitAfterEachInstruction()
    {
        using var g = ExitGuest.Create([0x90, 0x90, 0xF4]); // nop ; nop ; hlt
        var debug = RequireGuestDebug(g.Vcpu);
        Assert.Throws<ArgumentException>(() => debug.Set(GuestDebugFlags.SingleStep)); // without ENABLE it does nothing
        debug.Set(GuestDebugFlags.Enable | GuestDebugFlags.SingleStep);
        var exit = g.Run();
        Assert.True(exit.Reason == VcpuExitReason.Debug, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        var d = exit.Debug;
        Assert.Equal(DebugExit.DebugVector, d.Exception);
        Assert.Equal(ExitGuest.Entry + 1, d.Pc);
        Assert.True(d.IsSingleStep, $"DR6 0x{d.Dr6:X} lacks BS");
        var snap = exit.ToSnapshot();
        Assert.Equal(d, snap.Debug);
        Assert.Contains($"pc 0x{ExitGuest.Entry + 1:X}", snap.ToString());

        Assert.Equal(ExitGuest.Entry + 2, g.Run().Debug.Pc);
        debug.Set(GuestDebugFlags.None);
        Assert.Equal(VcpuExitReason.Hlt, g.Run().Reason);
        Assert.Equal(d, snap.Debug); // the snapshot outlives the exit
    }

    [Fact]
    public void InterruptWindowOpensAfterSti()
    {
        SkipOnPvm("KVM_EXIT_IRQ_WINDOW_OPEN (the guest runs on to its hlt)");
        using var g = ExitGuest.Create([0xFB, 0x90, 0x90, 0xF4]); // sti ; nop ; nop ; hlt
        Assert.False(g.Vcpu.RequestInterruptWindow);
        g.Vcpu.RequestInterruptWindow = true;
        Assert.True(g.Vcpu.RequestInterruptWindow);
        var exit = g.Run();
        Assert.True(exit.Reason == VcpuExitReason.IrqWindowOpen, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        Assert.True(exit.ReadyForInterruptInjection);
        Assert.True(exit.InterruptFlag);
        var snap = exit.ToSnapshot();
        Assert.True(snap.ReadyForInterruptInjection && snap.InterruptFlag);
        Assert.True(g.Vcpu.GetRegs().rip > ExitGuest.Entry, "the window opens only after sti and its shadow");
        g.Vcpu.RequestInterruptWindow = false;
        Assert.Equal(VcpuExitReason.Hlt, g.Run().Reason);
    }

    [Fact]
    public void FilteredMsrsExitToUserspaceAndAnErrorInjectsGp()
    {
        byte[] code =
        [
            0x66, 0xB9, 0x74, 0x01, 0x00, 0x00, // mov ecx, 0x174 (IA32_SYSENTER_CS)
            0x0F, 0x32,                         // rdmsr
            0x66, 0x40,                         // inc eax
            0x0F, 0x30,                         // wrmsr
            0x0F, 0x32,                         // rdmsr (answered with #GP)
            0xF4,                               // hlt (not reached)
        ];
        using var g = ExitGuest.Create(code);
        Assert.SkipWhen(g.Vm.UserSpaceMsr is null || g.Vm.MsrFilter is null,
            $"KVM_CAP_X86_USER_SPACE_MSR or KVM_CAP_X86_MSR_FILTER is 0 on this kernel ({Kernel.Release})");
        Assert.Throws<ArgumentException>(() => g.Vm.UserSpaceMsr!.Enable((MsrExitReasons)8));
        Assert.Throws<ArgumentException>(() => g.Vm.MsrFilter!.Set(false, new MsrFilterRange(MsrFilterAccess.Read, 0x174, 9, new byte[] { 0 })));
        g.Vm.UserSpaceMsr!.Enable(MsrExitReasons.Filter);
        g.Vm.MsrFilter!.Set(defaultDeny: false, MsrFilterRange.Deny(MsrFilterAccess.ReadWrite, 0x174));

        var exit = g.Run();
        Assert.True(exit.Reason == VcpuExitReason.X86Rdmsr, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        var rd = exit.Msr;
        Assert.False(rd.IsWrite);
        Assert.Equal(0x174u, rd.Index);
        Assert.Equal(MsrExitReasons.Filter, rd.Reason);
        rd.Data = 0x11223344_55667788;
        var rdSnap = exit.ToSnapshot();
        Assert.Equal(new MsrSnapshot(false, MsrExitReasons.Filter, 0x174, 0x11223344_55667788), rdSnap.Msr);

        exit = g.Run();
        Assert.True(exit.Reason == VcpuExitReason.X86Wrmsr, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        Assert.Equal(0x174u, exit.Msr.Index);
        Assert.Equal(0x11223344_55667789UL, exit.Msr.WrittenValue); // EDX:EAX, EAX incremented by the guest
        Assert.Equal("vCPU 0 X86Wrmsr: wrmsr 0x174 = 0x1122334455667789 (Filter)", exit.ToSnapshot().ToString());

        exit = g.Run();
        Assert.Equal(VcpuExitReason.X86Rdmsr, exit.Reason);
        var refused = exit.Msr;
        refused.Error = true;
        Assert.True(refused.Error);
        exit = g.Run(); // the guest takes #GP: its handler reports vector 13 on port 0x10
        Assert.True(exit.Reason == VcpuExitReason.Io, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        Assert.Equal(0x10, exit.Io.Port);
        Assert.Equal(0x0D, exit.Io.Data[0]);
        var msr = rdSnap.Msr; // still readable after three more runs
        Assert.Equal(0x174u, msr.Index);
        g.Vm.MsrFilter.Set(defaultDeny: false); // no ranges: the filter is removed
    }

    [Fact]
    public void MapGpaRangeHypercallExitsWithItsArgumentsAndReturns()
    {
        byte[] code =
        [
            0x66, 0xB8, 0x0C, 0x00, 0x00, 0x00, // mov eax, 12 (KVM_HC_MAP_GPA_RANGE)
            0x66, 0xBB, 0x00, 0x30, 0x00, 0x00, // mov ebx, 0x3000 (gpa)
            0x66, 0xB9, 0x02, 0x00, 0x00, 0x00, // mov ecx, 2 (pages)
            0x66, 0xBA, 0x10, 0x00, 0x00, 0x00, // mov edx, KVM_MAP_GPA_RANGE_ENCRYPTED
            0x0F, 0x01, 0xC1,                   // vmcall (KVM also takes it on AMD, where it emulates the #UD)
            0xF4,                               // hlt
        ];
        SkipOnPvm("KVM_EXIT_HYPERCALL from a real-mode vmcall (it never exits)");
        using var g = ExitGuest.Create(code);
        Assert.SkipWhen((g.Vm.SupportedExitHypercalls & ExitHypercalls.MapGpaRange) == 0,
            $"KVM_CAP_EXIT_HYPERCALL does not offer KVM_HC_MAP_GPA_RANGE on this kernel ({Kernel.Release})");
        g.Vm.EnableExitHypercall(ExitHypercalls.MapGpaRange);
        var exit = g.Run();
        Assert.True(exit.Reason == VcpuExitReason.Hypercall, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        var hc = exit.Hypercall;
        Assert.True(hc.IsMapGpaRange);
        Assert.Equal(0x3000UL, hc.MapGpa);
        Assert.Equal(2UL, hc.MapPages);
        Assert.True(hc.MapToPrivate);
        Assert.False(hc.IsLongMode); // real mode
        hc.Return = 0x55;
        var snap = exit.ToSnapshot();
        Assert.Equal(new HypercallSnapshot(12, hc.Flags, 0x3000, 2, 0x10, 0, 0, 0).Nr, snap.Hypercall.Nr);
        Assert.Equal(0x3000UL, snap.Hypercall.Arg0);
        Assert.Equal(VcpuExitReason.Hlt, g.Run().Reason);
        Assert.Equal(0x55UL, g.Vcpu.GetRegs().rax & 0xFFFFFFFF); // the return value lands in RAX
        var stale = false;
        try { hc.Return = 1; } catch (InvalidOperationException) { stale = true; } // the view is stale now
        Assert.True(stale);
    }

    [Fact]
    public void AnInstructionTheEmulatorLacksOnMmioIsAnInternalError()
    {
        byte[] code =
        [
            0xB8, 0x00, 0x20,       // mov ax, 0x2000
            0x8E, 0xD8,             // mov ds, ax      (linear 0x20000: no memslot, MMIO)
            0xD9, 0x06, 0x00, 0x00, // fld dword [0]   (x87 loads are not in KVM's emulator)
            0xF4,                   // hlt
        ];
        using var g = ExitGuest.Create(code);
        var exit = g.Run();
        Assert.True(exit.Reason == VcpuExitReason.InternalError, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        var ie = exit.InternalError;
        Assert.Equal(InternalErrorKind.Emulation, ie.Kind);
        if (ie.HasInstructionBytes)
        {
            Span<byte> insn = stackalloc byte[15];
            var n = ie.CopyInstructionBytes(insn);
            Assert.True(n >= 4, $"{n} instruction bytes");
            Assert.Equal(new byte[] { 0xD9, 0x06, 0x00, 0x00 }, insn[..4].ToArray());
            Assert.Contains("insn D9060000", ie.ToString());
        }
        var snap = exit.ToSnapshot();
        Assert.Equal(ie, snap.InternalError);
        Assert.StartsWith("vCPU 0 InternalError: Emulation (suberror 1)", snap.ToString());
    }

    [Fact]
    public void BusLockExitsWhereTheHostOffersIt()
    {
        byte[] code =
        [
            0x66, 0xF0, 0x83, 0x06, 0xFE, 0x0F, 0x01, // lock add dword [0x0FFE], 1 (split across a cache line)
            0xF4,                                     // hlt
        ];
        using var g = ExitGuest.Create(code, vm =>
        {
            Assert.SkipWhen((vm.SupportedBusLockDetection & BusLockDetection.Exit) == 0,
                $"KVM_CAP_X86_BUS_LOCK_EXIT does not offer KVM_BUS_LOCK_DETECTION_EXIT on this host ({Kernel.Release})");
            Assert.Throws<ArgumentException>(() => vm.EnableBusLockDetection(BusLockDetection.Off | BusLockDetection.Exit));
            vm.EnableBusLockDetection(BusLockDetection.Exit);
        });
        var exit = g.Run();
        Assert.True(exit.Reason == VcpuExitReason.X86BusLock, $"exit {exit.Reason} (raw {exit.RawExitReason})");
        Assert.NotEqual(0, exit.RunFlags & Interop.X86_64.ArchConstants.KVM_RUN_X86_BUS_LOCK);
        Assert.Equal(VcpuExitReason.X86BusLock, exit.ToSnapshot().Reason);
        Assert.Equal(VcpuExitReason.Hlt, g.Run().Reason);
    }

    [Fact]
    public void PortIoSnapshotKeepsItsBytesAfterTheVcpuRunsAgainWithoutAllocating()
    {
        using var g = ExitGuest.Create(TypedGuest.IoLoop);
        var exit = g.Run();
        Assert.Equal(VcpuExitReason.Io, exit.Reason);
        exit.ToSnapshot(); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        var snap = exit.ToSnapshot();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        var queue = new Queue<VcpuExitSnapshot>();
        queue.Enqueue(snap);
        var next = g.Run();
        var stale = false;
        try { _ = exit.Io; } catch (InvalidOperationException) { stale = true; } // the exit is stale, the snapshot is not
        Assert.True(stale);
        var io = queue.Dequeue().Io;
        Assert.Equal(IoDirection.Out, io.Direction);
        Assert.Equal(0x10, io.Port);
        Assert.Equal(1, io.Data.Length);
        Assert.Equal(snap, next.ToSnapshot()); // the same OUT again: equal snapshots
        Assert.StartsWith("vCPU 0 Io: Out port 0x10 size 1 count 1 data [", snap.ToString());
        g.Vcpu.Dispose();
        var disposed = false;
        try { next.ToSnapshot(); } catch (ObjectDisposedException) { disposed = true; }
        Assert.True(disposed);
        Assert.Equal(0x10, snap.Io.Port);
    }

    private static GuestDebugFeature RequireGuestDebug(VcpuFd vcpu)
    {
        Assert.SkipWhen(vcpu.GuestDebug is null, $"KVM_CAP_SET_GUEST_DEBUG is 0 on this kernel ({Kernel.Release})");
        return vcpu.GuestDebug!;
    }
}
