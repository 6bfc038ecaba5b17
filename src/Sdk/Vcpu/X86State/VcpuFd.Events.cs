using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    private const uint ValidEventFlags = ArchConstants.KVM_VCPUEVENT_VALID_NMI_PENDING | ArchConstants.KVM_VCPUEVENT_VALID_SIPI_VECTOR
        | ArchConstants.KVM_VCPUEVENT_VALID_SHADOW | ArchConstants.KVM_VCPUEVENT_VALID_SMM | ArchConstants.KVM_VCPUEVENT_VALID_PAYLOAD
        | ArchConstants.KVM_VCPUEVENT_VALID_TRIPLE_FAULT;

    private const int NmiVector = 2; // architectural; the uAPI's *_VECTOR constants skip it

    /// <summary>x86: <c>KVM_GET_VCPU_EVENTS</c> (<c>KVM_CAP_VCPU_EVENTS</c>): pending and injected exceptions,
    /// interrupts, NMIs and SMIs, the interrupt shadow, SIPI vector.</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_VCPU_EVENTS</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public kvm_vcpu_events GetVcpuEvents()
    {
        RequireX86Cap(X86Cap.VcpuEvents, ArchIoctls.KVM_GET_VCPU_EVENTS.Name);
        kvm_vcpu_events events;
        // SAFETY: `events` is a 64-byte stack local, the layout KVM_GET_VCPU_EVENTS encodes; the kernel fills it.
        IoctlOut(ArchIoctls.KVM_GET_VCPU_EVENTS.Value, ArchIoctls.KVM_GET_VCPU_EVENTS.Name, &events);
        return events;
    }

    /// <summary>x86: <c>KVM_SET_VCPU_EVENTS</c> (<c>KVM_CAP_VCPU_EVENTS</c>). <c>flags</c> says which optional parts
    /// are valid (<c>KVM_VCPUEVENT_VALID_*</c>); <c>VALID_PAYLOAD</c> needs <c>KVM_CAP_EXCEPTION_PAYLOAD</c> enabled and
    /// <c>VALID_TRIPLE_FAULT</c> <c>KVM_CAP_X86_TRIPLE_FAULT_EVENT</c> (EINVAL otherwise).</summary>
    /// <exception cref="ArgumentException">Unknown <c>flags</c> bits, or an injected/pending exception vector above 31
    /// or equal to 2 (NMI), which the kernel refuses.</exception>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_VCPU_EVENTS</c>.</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL).</exception>
    public void SetVcpuEvents(in kvm_vcpu_events events)
    {
        RequireX86Cap(X86Cap.VcpuEvents, ArchIoctls.KVM_SET_VCPU_EVENTS.Name);
        if ((events.flags & ~ValidEventFlags) != 0)
            Fail.Argument(nameof(events), $"flags 0x{events.flags:X} has bits outside KVM_VCPUEVENT_VALID_* (0x{ValidEventFlags:X})");
        var exceptionLive = events.exception.injected != 0 ||
            ((events.flags & ArchConstants.KVM_VCPUEVENT_VALID_PAYLOAD) != 0 && events.exception.pending != 0);
        if (exceptionLive && (events.exception.nr > 31 || events.exception.nr == NmiVector))
            Fail.Argument(nameof(events), $"exception vector {events.exception.nr} must be 0..31 and not 2 (NMIs go in the nmi field)");
        // SAFETY: `events` is pinned; the kernel reads the 64 bytes KVM_SET_VCPU_EVENTS encodes.
        fixed (kvm_vcpu_events* p = &events)
            IoctlOut(ArchIoctls.KVM_SET_VCPU_EVENTS.Value, ArchIoctls.KVM_SET_VCPU_EVENTS.Name, p);
    }
}
