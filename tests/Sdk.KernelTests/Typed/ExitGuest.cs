using static Kvm.KernelTests.Typed.KernelFacts;

namespace Kvm.KernelTests.Typed;

/// <summary>A real-mode x86 guest for the exit tests: code at 0x1000, an optional #GP handler at 0x2000 (the IVT at 0
/// points vector 13 there), the stack below 0x8000, 16 pages of memory at GPA 0 (guest_memfd where offered); everything
/// at or above 0x10000 is MMIO.</summary>
internal sealed class ExitGuest : IDisposable
{
    public const ulong Entry = 0x1000, GpHandler = 0x2000;

    /// <summary>The #GP handler: <c>mov al, 0x0D ; out 0x10, al ; hlt</c>.</summary>
    public static readonly byte[] ReportGp = [0xB0, 0x0D, 0xE6, 0x10, 0xF4];

    private readonly IDisposable _memory;
    private readonly SlotHandle _slot;

    public KvmSystem Kvm { get; }
    public VmFd Vm { get; }
    public VcpuFd Vcpu { get; }

    private ExitGuest(KvmSystem kvm, byte[] code, Action<VmFd>? beforeVcpu)
    {
        Kvm = kvm;
        (Vm, _memory, _slot) = TypedGuest.With(kvm, []);
        var mem = _slot.HostMemory!;
        mem.Write(Entry, code);
        mem.Write(GpHandler, ReportGp);
        mem.Write(13 * 4, [(byte)(GpHandler & 0xFF), (byte)(GpHandler >> 8), 0, 0]); // IVT[13] = 0000:2000
        beforeVcpu?.Invoke(Vm);
        Vcpu = Vm.CreateVcpu(0);
        Vcpu.EnterRealMode((ushort)Entry);
        var regs = Vcpu.GetRegs();
        regs.rsp = 0x8000;
        Vcpu.SetRegs(regs);
    }

    public static ExitGuest Create(byte[] code, Action<VmFd>? beforeVcpu = null)
    {
        SkipUnlessX86();
        var kvm = KvmSystem.Open();
        try
        {
            return new ExitGuest(kvm, code, beforeVcpu);
        }
        catch
        {
            kvm.Dispose(); // its VMs go with their last reference
            throw;
        }
    }

    /// <summary>Runs the vCPU with a watchdog: a guest that does not exit within 5 s is kicked, and its run returns
    /// <see cref="VcpuExitReason.Interrupted"/> instead of hanging the test.</summary>
    public VcpuExit Run()
    {
        using var watchdog = new Timer(_ => Vcpu.RequestImmediateExit(), null, 5000, Timeout.Infinite);
        return Vcpu.Run();
    }

    public void Dispose()
    {
        Vcpu.Dispose();
        _slot.Dispose();
        _memory.Dispose();
        Vm.Dispose();
        Kvm.Dispose();
    }
}
