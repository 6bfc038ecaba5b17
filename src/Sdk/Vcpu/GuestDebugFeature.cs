using Kvm.Interop;

namespace Kvm;

/// <summary><c>KVM_GUESTDBG_*</c> control bits of <c>KVM_SET_GUEST_DEBUG</c>.</summary>
[Flags]
public enum GuestDebugFlags : uint
{
    /// <summary>Debugging off (<c>control</c> 0).</summary>
    None = 0,
    /// <summary><c>KVM_GUESTDBG_ENABLE</c>: required for every other bit to take effect.</summary>
    Enable = KvmConstants.KVM_GUESTDBG_ENABLE,
    /// <summary><c>KVM_GUESTDBG_SINGLESTEP</c>: exit with <see cref="VcpuExitReason.Debug"/> after each instruction.</summary>
    SingleStep = KvmConstants.KVM_GUESTDBG_SINGLESTEP,
    /// <summary><c>KVM_GUESTDBG_USE_SW_BP</c>: software breakpoints (x86 <c>int3</c>, arm64 <c>brk</c>) exit to the VMM
    /// instead of reaching the guest.</summary>
    UseSoftwareBreakpoints = KvmConstants.KVM_GUESTDBG_USE_SW_BP,
    /// <summary><c>KVM_GUESTDBG_USE_HW_BP</c> (x86; arm64 <c>KVM_GUESTDBG_USE_HW</c>, the same bit): the debug registers
    /// passed with the call are the VMM's hardware breakpoints.</summary>
    UseHardwareBreakpoints = Interop.X86_64.ArchConstants.KVM_GUESTDBG_USE_HW_BP,
    /// <summary><c>KVM_GUESTDBG_INJECT_DB</c> (x86): inject #DB into the guest.</summary>
    InjectDebugException = Interop.X86_64.ArchConstants.KVM_GUESTDBG_INJECT_DB,
    /// <summary><c>KVM_GUESTDBG_INJECT_BP</c> (x86): inject #BP into the guest.</summary>
    InjectBreakpoint = Interop.X86_64.ArchConstants.KVM_GUESTDBG_INJECT_BP,
    /// <summary><c>KVM_GUESTDBG_BLOCKIRQ</c> (x86): no interrupts are injected while single-stepping.</summary>
    BlockIrq = Interop.X86_64.ArchConstants.KVM_GUESTDBG_BLOCKIRQ,
}

/// <summary>
/// Guest debugging of one vCPU (<see cref="VcpuFd.GuestDebug"/>): <c>KVM_SET_GUEST_DEBUG</c>, which exists only when
/// <c>KVM_CHECK_EXTENSION(KVM_CAP_SET_GUEST_DEBUG)</c> is non-zero. Debug events leave <see cref="VcpuFd.Run"/> as
/// <see cref="VcpuExitReason.Debug"/> (<see cref="VcpuExit.Debug"/>).
/// </summary>
public sealed class GuestDebugFeature
{
    private readonly VcpuFd _vcpu;

    internal GuestDebugFeature(VcpuFd vcpu, GuestDebugFlags? supported)
    {
        _vcpu = vcpu;
        SupportedFlags = supported;
    }

    /// <summary>The control bits this kernel accepts: <c>KVM_CHECK_EXTENSION(KVM_CAP_SET_GUEST_DEBUG2)</c> (x86, arm64
    /// 5.16+); null where the kernel does not report that capability (then any bits are passed on and the kernel
    /// answers EINVAL for unknown ones).</summary>
    public GuestDebugFlags? SupportedFlags { get; }

    /// <summary><c>KVM_SET_GUEST_DEBUG</c> with <paramref name="flags"/> and, on x86, the eight debug registers
    /// <c>arch.debugreg[0..7]</c> (DR0–DR3 addresses, DR6, DR7, for <see cref="GuestDebugFlags.UseHardwareBreakpoints"/>).
    /// <see cref="GuestDebugFlags.None"/> turns debugging off.</summary>
    /// <exception cref="ArgumentException">Bits outside <see cref="SupportedFlags"/>; any bit without
    /// <see cref="GuestDebugFlags.Enable"/> (the kernel ignores them); more than 8 debug registers; debug registers on
    /// arm64 (its <c>kvm_guest_debug_arch</c> holds breakpoint/watchpoint control pairs, not typed here).</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL: unsupported bits; EBUSY: x86 INJECT_DB/BP while an
    /// exception is pending).</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public unsafe void Set(GuestDebugFlags flags, ReadOnlySpan<ulong> debugRegisters = default)
    {
        if (SupportedFlags is { } s && (flags & ~s) != 0)
            Fail.Argument(nameof(flags), $"{flags & ~s} is outside KVM_CAP_SET_GUEST_DEBUG2 = {s} on this kernel (EINVAL)");
        if (flags != GuestDebugFlags.None && (flags & GuestDebugFlags.Enable) == 0)
            Fail.Argument(nameof(flags), $"{flags} without KVM_GUESTDBG_ENABLE does nothing: the kernel turns debugging off");
        if (debugRegisters.Length > 8)
            Fail.Argument(nameof(debugRegisters), $"x86 kvm_guest_debug_arch has 8 debug registers, not {debugRegisters.Length}");
        if (VmArchitectureInfo.Current == VmArchitecture.Arm64)
        {
            if (!debugRegisters.IsEmpty)
                Fail.Argument(nameof(debugRegisters), "arm64 debug registers (dbg_bcr/bvr/wcr/wvr) are not typed; pass none");
            var a = new Interop.Arm64.kvm_guest_debug { control = (uint)flags };
            // SAFETY: `a` is a stack local of the layout KVM_SET_GUEST_DEBUG encodes on arm64; the kernel only reads it.
            _vcpu.VcpuIoctl(Interop.Arm64.ArchIoctls.KVM_SET_GUEST_DEBUG.Value, Interop.Arm64.ArchIoctls.KVM_SET_GUEST_DEBUG.Name, &a);
            return;
        }
        var d = new Interop.X86_64.kvm_guest_debug { control = (uint)flags };
        debugRegisters.CopyTo(d.arch.debugreg);
        // SAFETY: `d` is a stack local of the 72-byte layout KVM_SET_GUEST_DEBUG encodes on x86_64; the kernel only reads it.
        _vcpu.VcpuIoctl(Interop.X86_64.ArchIoctls.KVM_SET_GUEST_DEBUG.Value, Interop.X86_64.ArchIoctls.KVM_SET_GUEST_DEBUG.Name, &d);
    }
}
