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
    /// <summary>Any other <c>KVM_EXIT_*</c>: see <see cref="VcpuExit.RawExitReason"/>.</summary>
    Other,
}
