namespace Kvm;

/// <summary>Why <see cref="VcpuFd.Run"/> returned, decoded from <c>kvm_run.exit_reason</c> and the ioctl's errno.</summary>
public enum VcpuExitReason
{
    /// <summary><c>KVM_EXIT_UNKNOWN</c>.</summary>
    Unknown,
    /// <summary><c>KVM_EXIT_IO</c>: port I/O (<see cref="VcpuExit.Io"/>).</summary>
    Io,
    /// <summary><c>KVM_EXIT_MMIO</c>: an access to guest-physical memory no memslot covers (<see cref="VcpuExit.Mmio"/>).</summary>
    Mmio,
    /// <summary><c>KVM_EXIT_HLT</c>: the guest halted (no in-kernel local APIC).</summary>
    Hlt,
    /// <summary><c>KVM_EXIT_SHUTDOWN</c>: x86 triple fault or similar.</summary>
    Shutdown,
    /// <summary><c>KVM_EXIT_FAIL_ENTRY</c>: the CPU refused VM entry (<see cref="VcpuExit.FailEntry"/>).</summary>
    FailEntry,
    /// <summary><c>KVM_EXIT_INTERNAL_ERROR</c> (<see cref="VcpuExit.InternalError"/>).</summary>
    InternalError,
    /// <summary><c>KVM_EXIT_SYSTEM_EVENT</c>: shutdown/reset/crash request (<see cref="VcpuExit.SystemEvent"/>).</summary>
    SystemEvent,
    /// <summary><c>KVM_EXIT_HYPERCALL</c>, e.g. <c>KVM_HC_MAP_GPA_RANGE</c> (<see cref="VcpuExit.Hypercall"/>).</summary>
    Hypercall,
    /// <summary><c>KVM_EXIT_MEMORY_FAULT</c>: <c>KVM_RUN</c> returned -1 with EFAULT or EHWPOISON and the exit reason
    /// set; the private/shared kind of the access disagrees with the page's attribute (<see cref="VcpuExit.MemoryFault"/>).</summary>
    MemoryFault,
    /// <summary><c>KVM_RUN</c> returned EINTR: a signal, or <see cref="VcpuFd.RequestImmediateExit"/>.</summary>
    Interrupted,
    /// <summary>Any other <c>KVM_EXIT_*</c> (s390, PowerPC, RISC-V, LoongArch, or newer than the SDK's headers): see
    /// <see cref="VcpuExit.RawExitReason"/>; <see cref="VcpuExit.ToSnapshot"/> still copies its payload.</summary>
    Other,

    // The members below were added after Other; the members above keep their numbers.

    /// <summary><c>KVM_EXIT_EXCEPTION</c>: x86, an exception KVM chose to report (<see cref="VcpuExit.Exception"/>).</summary>
    Exception,
    /// <summary><c>KVM_EXIT_DEBUG</c>: a debug event requested with <see cref="VcpuFd.GuestDebug"/>
    /// (<c>KVM_SET_GUEST_DEBUG</c>) — single step, breakpoint, watchpoint (<see cref="VcpuExit.Debug"/>).</summary>
    Debug,
    /// <summary><c>KVM_EXIT_IRQ_WINDOW_OPEN</c>: x86 without an in-kernel irqchip, the guest can take an interrupt now
    /// (after <see cref="VcpuFd.RequestInterruptWindow"/>).</summary>
    IrqWindowOpen,
    /// <summary><c>KVM_EXIT_TPR_ACCESS</c>: x86, a TPR access reported through <c>KVM_TPR_ACCESS_REPORTING</c>
    /// (<see cref="VcpuExit.TprAccess"/>).</summary>
    TprAccess,
    /// <summary><c>KVM_EXIT_NMI</c>: x86, an NMI exit the kernel passed on.</summary>
    Nmi,
    /// <summary><c>KVM_EXIT_IOAPIC_EOI</c>: x86 split irqchip, the guest ended a level-triggered interrupt
    /// (<see cref="VcpuExit.IoapicEoi"/>).</summary>
    IoapicEoi,
    /// <summary><c>KVM_EXIT_HYPERV</c>: x86 Hyper-V SynIC/hypercall/syndbg (<see cref="VcpuExit.Hyperv"/>).</summary>
    Hyperv,
    /// <summary><c>KVM_EXIT_ARM_NISV</c>: arm64, a data abort without valid syndrome
    /// (<c>KVM_CAP_ARM_NISV_TO_USER</c>; <see cref="VcpuExit.ArmNisv"/>).</summary>
    ArmNisv,
    /// <summary><c>KVM_EXIT_X86_RDMSR</c>: the guest read an MSR userspace handles (<c>KVM_CAP_X86_USER_SPACE_MSR</c>;
    /// <see cref="VcpuExit.Msr"/>).</summary>
    X86Rdmsr,
    /// <summary><c>KVM_EXIT_X86_WRMSR</c>: the guest wrote an MSR userspace handles (<see cref="VcpuExit.Msr"/>).</summary>
    X86Wrmsr,
    /// <summary><c>KVM_EXIT_DIRTY_RING_FULL</c>: this vCPU's dirty ring is full; harvest and reset it.</summary>
    DirtyRingFull,
    /// <summary><c>KVM_EXIT_AP_RESET_HOLD</c>: x86 SEV-ES, an AP entered its reset hold.</summary>
    ApResetHold,
    /// <summary><c>KVM_EXIT_X86_BUS_LOCK</c>: x86, the guest took a bus lock (<c>KVM_CAP_X86_BUS_LOCK_EXIT</c>).</summary>
    X86BusLock,
    /// <summary><c>KVM_EXIT_XEN</c>: x86 Xen hypercall (<see cref="VcpuExit.Xen"/>).</summary>
    Xen,
    /// <summary><c>KVM_EXIT_NOTIFY</c>: x86, the guest stayed too long in a non-interruptible window
    /// (<c>KVM_CAP_X86_NOTIFY_VMEXIT</c>; <see cref="VcpuExit.Notify"/>).</summary>
    Notify,
    /// <summary><c>KVM_EXIT_TDX</c>: x86 TDX, a TDVMCALL userspace handles (<see cref="VcpuExit.Tdx"/>).</summary>
    Tdx,
    /// <summary><c>KVM_EXIT_ARM_SEA</c>: arm64, a synchronous external abort (<see cref="VcpuExit.ArmSea"/>).</summary>
    ArmSea,
    /// <summary><c>KVM_EXIT_ARM_LDST64B</c>: arm64, an LD64B/ST64B access to MMIO (<see cref="VcpuExit.ArmNisv"/>
    /// carries its syndrome and address).</summary>
    ArmLdst64b,
    /// <summary><c>KVM_EXIT_SNP_REQ_CERTS</c>: x86 SEV-SNP, the guest asks for its certificates
    /// (<see cref="VcpuExit.SnpRequestCertificates"/>).</summary>
    SnpReqCerts,
}
