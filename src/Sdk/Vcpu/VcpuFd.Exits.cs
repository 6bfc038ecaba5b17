using Kvm.Interop;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    private GuestDebugFeature? _guestDebug;
    private bool _guestDebugProbed;

    /// <summary><c>KVM_SET_GUEST_DEBUG</c> for this vCPU (single step, software and hardware breakpoints); null unless
    /// <c>KVM_CHECK_EXTENSION(KVM_CAP_SET_GUEST_DEBUG)</c> on the VM is non-zero.</summary>
    public GuestDebugFeature? GuestDebug
    {
        get
        {
            if (!_guestDebugProbed)
            {
                if (Vm.Capabilities.Has(KvmCap.KVM_CAP_SET_GUEST_DEBUG))
                {
                    var mask = Vm.Capabilities.Check(KvmCap.KVM_CAP_SET_GUEST_DEBUG2);
                    _guestDebug = new GuestDebugFeature(this, mask > 0 ? (GuestDebugFlags)(uint)mask : null);
                }
                _guestDebugProbed = true;
            }
            return _guestDebug;
        }
    }

    /// <summary>x86 <c>kvm_run.request_interrupt_window</c>: with no in-kernel irqchip, true makes the next
    /// <see cref="Run"/> return <see cref="VcpuExitReason.IrqWindowOpen"/> as soon as the guest can take an interrupt
    /// (RFLAGS.IF set, no interrupt shadow), so the VMM can inject one with <c>KVM_INTERRUPT</c>. The kernel ignores it
    /// when the VM has an in-kernel (or split) irqchip.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public bool RequestInterruptWindow
    {
        get
        {
            RequireX86();
            _fd.Enter();
            // SAFETY: the handle is held, so kvm_run is this vCPU's live mapping; byte 0 is request_interrupt_window.
            try { return ((Interop.X86_64.kvm_run*)_run)->request_interrupt_window != 0; } finally { _fd.Exit(); }
        }
        set
        {
            RequireX86();
            _fd.Enter();
            // SAFETY: as for the getter; the kernel reads the byte at the next KVM_RUN.
            try { ((Interop.X86_64.kvm_run*)_run)->request_interrupt_window = value ? (byte)1 : (byte)0; } finally { _fd.Exit(); }
        }
    }

    /// <summary>An ioctl on this vCPU's fd that throws <see cref="KvmException"/> on failure.</summary>
    internal void VcpuIoctl(nuint request, string name, void* arg) => IoctlOut(request, name, arg);
}
