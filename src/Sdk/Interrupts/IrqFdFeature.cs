using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// irqfd support of one VM (<see cref="VmFd.IrqFds"/>): exists only when <c>KVM_CAP_IRQFD</c> on the VM is non-zero.
/// <see cref="Register"/> creates an eventfd the SDK owns and binds it to a GSI with <c>KVM_IRQFD</c>: each signal of
/// it injects the GSI's interrupt (through the GSI routing) without a trip through the VMM's vCPU threads.
/// </summary>
public sealed class IrqFdFeature
{
    private readonly VmFd _vm;
    private readonly IKvmSyscalls _sys;

    internal IrqFdFeature(VmFd vm, IKvmSyscalls sys, bool resample)
    {
        _vm = vm;
        _sys = sys;
        SupportsResample = resample;
    }

    /// <summary><c>KVM_CAP_IRQFD_RESAMPLE</c>: level-triggered irqfds with a resample eventfd.</summary>
    public bool SupportsResample { get; }

    /// <summary><c>KVM_IRQFD</c>: a new eventfd (<c>EFD_CLOEXEC | EFD_NONBLOCK</c>) that injects <paramref name="gsi"/>
    /// when signalled. With <paramref name="resample"/> (<c>KVM_IRQFD_FLAG_RESAMPLE</c>) the GSI is a level-triggered
    /// line: a signal asserts it, the guest's EOI deasserts it and signals <see cref="IrqFd.Resample"/>, so the
    /// device model can re-assert it while its condition holds.</summary>
    /// <exception cref="ArgumentException"><paramref name="resample"/> without <c>KVM_CAP_IRQFD_RESAMPLE</c>.</exception>
    /// <exception cref="KvmException">EINVAL: no in-kernel irqchip (x86; resample also needs the full irqchip, not
    /// the split one); EBUSY: the eventfd is already an irqfd (impossible through the SDK, which makes a new one per
    /// call); eventfd failures (EMFILE).</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public IrqFd Register(uint gsi, bool resample = false)
    {
        var r = TryRegister(gsi, resample, out var irqfd);
        if (!r.IsSuccess)
            Fail.Ioctl(-(int)r.Errno, KvmIoctls.KVM_IRQFD.Name, KvmIoctls.KVM_IRQFD.Value, KvmFdKind.Vm, r.Errno == Errno.EINVAL
                ? $"gsi {gsi}: irqfds need an in-kernel irqchip (CreateIrqchip first{(resample ? "; resample needs the full irqchip, not the split one" : "")})"
                : $"gsi {gsi}");
        return irqfd!;
    }

    /// <summary><see cref="Register"/>, returning the kernel's refusal of <c>KVM_IRQFD</c> as a value. Arguments are
    /// still checked first; eventfd creation failures still throw.</summary>
    public unsafe KvmResult TryRegister(uint gsi, bool resample, out IrqFd? irqfd)
    {
        irqfd = null;
        if (resample && !SupportsResample)
            Fail.Argument(nameof(resample), "KVM_IRQFD_FLAG_RESAMPLE needs KVM_CAP_IRQFD_RESAMPLE, which this VM does not report (EINVAL)");
        var trigger = OwnedEventFd.Create(_sys, nameof(IrqFd));
        OwnedEventFd? resampler = null;
        var registered = false;
        try
        {
            if (resample)
                resampler = OwnedEventFd.Create(_sys, nameof(IrqFd));
            var rc = Assign(trigger, resampler, gsi, flags: 0);
            if (rc < 0)
                return new KvmResult((Errno)(-rc));
            registered = true;
            var created = new IrqFd(_vm, this, gsi, trigger, resampler);
            if (!_vm.EventFds.Add(created))
            {
                ((IEventFdRegistration)created).Release(throwOnError: false); // the VM is closing: undo
                throw new ObjectDisposedException(nameof(VmFd));
            }
            irqfd = created;
            return KvmResult.Success;
        }
        finally
        {
            if (!registered)
            {
                trigger.Dispose();
                resampler?.Dispose();
            }
        }
    }

    /// <summary>Issues <c>KVM_IRQFD</c> for <paramref name="trigger"/> on <paramref name="gsi"/> with
    /// <paramref name="flags"/> (<c>KVM_IRQFD_FLAG_DEASSIGN</c> to remove it); 0 or -errno.</summary>
    internal unsafe int Assign(OwnedEventFd trigger, OwnedEventFd? resampler, uint gsi, int flags)
    {
        var t = trigger.Fd.Enter();
        var r = resampler?.Fd.Enter();
        try
        {
            var arg = new kvm_irqfd
            {
                fd = (uint)t.Fd,
                gsi = gsi,
                flags = (uint)flags | (resampler is null ? 0u : KvmConstants.KVM_IRQFD_FLAG_RESAMPLE),
                resamplefd = r is null ? 0u : (uint)r.Fd,
            };
            // SAFETY: `arg` is a zero-initialised 32-byte stack local of kvm_irqfd (pad zero); the eventfds it names
            // are held open by the Enter() references above for the duration of the call.
            return _vm.VmIoctl(KvmIoctls.KVM_IRQFD.Value, &arg);
        }
        finally
        {
            if (r is not null)
                resampler!.Fd.Exit();
            trigger.Fd.Exit();
        }
    }
}
