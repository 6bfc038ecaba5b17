using Kvm.Interop;

namespace Kvm;

/// <summary>
/// An irqfd (<c>KVM_IRQFD</c>) the SDK owns: an eventfd bound to a GSI of its VM. <see cref="Signal"/> injects the
/// interrupt and is allocation-free and thread-safe. <see cref="Dispose"/> deassigns it
/// (<c>KVM_IRQFD_FLAG_DEASSIGN</c>) and closes the eventfd(s); the VM's Dispose does the same for irqfds still
/// registered.
/// </summary>
public sealed class IrqFd : IDisposable, IEventFdRegistration
{
    private readonly VmFd _vm;
    private readonly IrqFdFeature _feature;
    private readonly OwnedEventFd _trigger;
    private readonly OwnedEventFd? _resample;

    internal IrqFd(VmFd vm, IrqFdFeature feature, uint gsi, OwnedEventFd trigger, OwnedEventFd? resample)
    {
        _vm = vm;
        _feature = feature;
        Gsi = gsi;
        _trigger = trigger;
        _resample = resample;
        Resample = resample is null ? null : new EventFdReader(resample);
    }

    /// <summary>The trigger eventfd (tests issue raw <c>KVM_IRQFD</c> with it).</summary>
    internal OwnedEventFd Trigger => _trigger;

    /// <summary>The GSI the interrupt goes to (routed by the VM's GSI routing).</summary>
    public uint Gsi { get; }

    /// <summary>The resample eventfd (<c>KVM_IRQFD_FLAG_RESAMPLE</c>), signalled by the kernel when the guest ends
    /// the level-triggered interrupt (EOI); null for an edge-style irqfd.</summary>
    public EventFdReader? Resample { get; }

    /// <summary>True after Dispose (its own or the VM's).</summary>
    public bool IsDisposed => _trigger.Fd.IsClosed;

    /// <summary>Signals the eventfd (a u64 write of 1), which makes the kernel inject the GSI. Allocation-free; a
    /// counter already at its maximum (EAGAIN) means an injection is pending and counts as success.</summary>
    /// <exception cref="ObjectDisposedException">Disposed, or its VM was.</exception>
    /// <exception cref="KvmException">write(2) failed.</exception>
    public void Signal() => _trigger.Signal();

    /// <summary>Deassigns the irqfd (<c>KVM_IRQFD</c> with <c>KVM_IRQFD_FLAG_DEASSIGN</c>) and closes its eventfds.
    /// Idempotent. The eventfds are closed even when the kernel refuses the deassignment.</summary>
    /// <exception cref="KvmException">The kernel refused the deassignment.</exception>
    public void Dispose()
    {
        if (_vm.EventFds.Remove(this))
            Release(throwOnError: true);
    }

    void IEventFdRegistration.Release(bool throwOnError) => Release(throwOnError);

    private void Release(bool throwOnError)
    {
        var rc = EventFdDeassign.ThenClose(_vm,
            () => _feature.Assign(_trigger, _resample, Gsi, KvmConstants.KVM_IRQFD_FLAG_DEASSIGN), _trigger, _resample);
        if (rc < 0 && throwOnError)
            Fail.Ioctl(rc, KvmIoctls.KVM_IRQFD.Name, KvmIoctls.KVM_IRQFD.Value, KvmFdKind.Vm, $"deassigning the irqfd of gsi {Gsi}");
    }

    /// <inheritdoc />
    public override string ToString() => $"irqfd gsi {Gsi}{(_resample is null ? "" : " (resample)")}";
}
