using Kvm.Interop;

namespace Kvm;

/// <summary>A <c>KVM_EXIT_MEMORY_FAULT</c>: the guest accessed [<see cref="Gpa"/>, +<see cref="Size"/>) as
/// <see cref="IsPrivate"/> private or shared, which disagrees with the page's current attribute.</summary>
/// <param name="Gpa">Guest-physical address of the fault range.</param>
/// <param name="Size">Bytes (0 = unknown).</param>
/// <param name="Flags"><c>KVM_MEMORY_EXIT_FLAG_*</c>.</param>
public readonly record struct MemoryFaultExit(ulong Gpa, ulong Size, KvmMemoryExitFlags Flags)
{
    /// <summary><c>KVM_MEMORY_EXIT_FLAG_PRIVATE</c>: the access was private (convert the range to private to proceed).</summary>
    public bool IsPrivate => Flags.HasFlag(KvmMemoryExitFlags.KVM_MEMORY_EXIT_FLAG_PRIVATE);
}

/// <summary>A <c>KVM_EXIT_FAIL_ENTRY</c>.</summary>
/// <param name="HardwareEntryFailureReason">Vendor reason code.</param>
/// <param name="Cpu">The host CPU.</param>
public readonly record struct FailEntryExit(ulong HardwareEntryFailureReason, uint Cpu);

/// <summary>A <c>KVM_EXIT_EXCEPTION</c> (x86, <c>kvm_run.ex</c>).</summary>
/// <param name="Vector">The exception vector.</param>
/// <param name="ErrorCode">Its error code (0 for vectors without one).</param>
public readonly record struct ExceptionExit(uint Vector, uint ErrorCode)
{
    internal static ExceptionExit From(in kvm_run_ex ex) => new(ex.exception, ex.error_code);
}

/// <summary>A <c>KVM_EXIT_DEBUG</c> (<c>kvm_run.debug.arch</c>), requested with <c>KVM_SET_GUEST_DEBUG</c>
/// (<see cref="VcpuFd.GuestDebug"/>). The layout is per architecture: x86 fills <see cref="Exception"/>,
/// <see cref="Pc"/>, <see cref="Dr6"/> and <see cref="Dr7"/>; arm64 fills <see cref="Syndrome"/> and
/// <see cref="FaultAddress"/>. The other architecture's members are 0.</summary>
/// <param name="Exception">x86: the vector, 1 (#DB: single step, hardware breakpoint) or 3 (#BP: software breakpoint).</param>
/// <param name="Pc">x86: the guest's linear RIP (CS base + RIP) of the event.</param>
/// <param name="Dr6">x86: DR6 of a #DB (which condition hit: BS for single step, B0..B3 for breakpoints).</param>
/// <param name="Dr7">x86: DR7 at the event.</param>
/// <param name="Syndrome">arm64: ESR_EL2 of the debug exception (<c>hsr</c>, with <c>hsr_high</c> when the kernel set
/// <c>KVM_DEBUG_ARCH_HSR_HIGH_VALID</c> in <c>kvm_run.flags</c>).</param>
/// <param name="FaultAddress">arm64: FAR of a watchpoint hit (<c>far</c>).</param>
public readonly record struct DebugExit(uint Exception, ulong Pc, ulong Dr6, ulong Dr7, ulong Syndrome, ulong FaultAddress)
{
    /// <summary>x86 #DB (vector 1): single step or a hardware breakpoint.</summary>
    public const uint DebugVector = 1;

    /// <summary>x86 #BP (vector 3): an <c>int3</c> with <c>KVM_GUESTDBG_USE_SW_BP</c>.</summary>
    public const uint BreakpointVector = 3;

    /// <summary>x86 DR6.BS (bit 14): the #DB was a single step.</summary>
    public bool IsSingleStep => (Dr6 & (1UL << 14)) != 0;

    internal static DebugExit From(in Interop.X86_64.kvm_debug_exit_arch a) => new(a.exception, a.pc, a.dr6, a.dr7, 0, 0);

    internal static DebugExit From(in Interop.Arm64.kvm_debug_exit_arch a, ushort runFlags) =>
        new(0, 0, 0, 0, a.hsr | ((runFlags & Interop.Arm64.ArchConstants.KVM_DEBUG_ARCH_HSR_HIGH_VALID) != 0 ? (ulong)a.hsr_high << 32 : 0), a.far);
}

/// <summary>A <c>KVM_EXIT_TPR_ACCESS</c> (x86, <c>kvm_run.tpr_access</c>).</summary>
/// <param name="Rip">The guest RIP of the access.</param>
/// <param name="IsWrite">True for a write of the TPR.</param>
public readonly record struct TprAccessExit(ulong Rip, bool IsWrite)
{
    internal static TprAccessExit From(in kvm_run_tpr_access t) => new(t.rip, t.is_write != 0);
}

/// <summary>A <c>KVM_EXIT_IOAPIC_EOI</c> (x86 split irqchip, <c>kvm_run.eoi</c>).</summary>
/// <param name="Vector">The vector the guest's local APIC ended.</param>
public readonly record struct IoapicEoiExit(byte Vector);

/// <summary><c>KVM_NOTIFY_CONTEXT_*</c> flags of a <c>KVM_EXIT_NOTIFY</c>.</summary>
[Flags]
public enum NotifyExitFlags : uint
{
    /// <summary>None: the VM context is valid; the VMM may resume the guest.</summary>
    None = 0,
    /// <summary><c>KVM_NOTIFY_CONTEXT_INVALID</c>: the VM context is corrupted; the VMM should not resume it.</summary>
    ContextInvalid = KvmConstants.KVM_NOTIFY_CONTEXT_INVALID,
}

/// <summary>A <c>KVM_EXIT_NOTIFY</c> (x86, <c>KVM_CAP_X86_NOTIFY_VMEXIT</c> with <c>KVM_X86_NOTIFY_VMEXIT_USER</c>).</summary>
/// <param name="Flags">The notify flags.</param>
public readonly record struct NotifyExit(NotifyExitFlags Flags)
{
    /// <summary><c>KVM_NOTIFY_CONTEXT_INVALID</c> is set.</summary>
    public bool ContextInvalid => (Flags & NotifyExitFlags.ContextInvalid) != 0;
}

/// <summary>A <c>KVM_EXIT_ARM_NISV</c> or <c>KVM_EXIT_ARM_LDST64B</c> (arm64, <c>kvm_run.arm_nisv</c>).</summary>
/// <param name="EsrIss">The ISS bits of ESR_EL2 the kernel passes on.</param>
/// <param name="FaultIpa">The faulting guest-physical address.</param>
public readonly record struct ArmNisvExit(ulong EsrIss, ulong FaultIpa)
{
    internal static ArmNisvExit From(in kvm_run_arm_nisv n) => new(n.esr_iss, n.fault_ipa);
}

/// <summary>A <c>KVM_EXIT_ARM_SEA</c> (arm64, <c>kvm_run.arm_sea</c>): a synchronous external abort the kernel passes
/// to userspace.</summary>
/// <param name="Flags"><c>KVM_EXIT_ARM_SEA_FLAG_*</c>.</param>
/// <param name="Esr">ESR_EL2 of the abort.</param>
/// <param name="Gva">The faulting guest-virtual address.</param>
/// <param name="Gpa">The faulting guest-physical address (valid with <see cref="GpaValid"/>).</param>
public readonly record struct ArmSeaExit(ulong Flags, ulong Esr, ulong Gva, ulong Gpa)
{
    /// <summary><c>KVM_EXIT_ARM_SEA_FLAG_GPA_VALID</c>.</summary>
    public bool GpaValid => (Flags & KvmConstants.KVM_EXIT_ARM_SEA_FLAG_GPA_VALID) != 0;

    internal static ArmSeaExit From(in kvm_run_arm_sea s) => new(s.flags, s.esr, s.gva, s.gpa);
}
