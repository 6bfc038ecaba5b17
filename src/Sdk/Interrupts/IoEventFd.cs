using Kvm.Interop;

namespace Kvm;

/// <summary>
/// An ioeventfd (<c>KVM_IOEVENTFD</c>) the SDK owns: guest writes that match it complete in the kernel and signal its
/// eventfd; read that with <see cref="TryRead"/> or <see cref="Wait"/> (allocation-free). <see cref="Dispose"/>
/// deassigns it (<c>KVM_IOEVENTFD_FLAG_DEASSIGN</c>; the writes exit to the VMM again) and closes the eventfd; the
/// VM's Dispose does the same for ioeventfds still registered.
/// </summary>
public sealed class IoEventFd : IDisposable, IEventFdRegistration
{
    private readonly VmFd _vm;
    private readonly IoEventFdFeature _feature;
    private readonly OwnedEventFd _eventfd;

    internal IoEventFd(VmFd vm, IoEventFdFeature feature, OwnedEventFd eventfd, IoEventSpace space, ulong address, int length, ulong? datamatch)
    {
        _vm = vm;
        _feature = feature;
        _eventfd = eventfd;
        Space = space;
        Address = address;
        Length = length;
        Datamatch = datamatch;
        Reader = new EventFdReader(eventfd);
    }

    /// <summary>Port I/O or MMIO.</summary>
    public IoEventSpace Space { get; }

    /// <summary>The port or guest-physical address.</summary>
    public ulong Address { get; }

    /// <summary>The access width in bytes (0 = any).</summary>
    public int Length { get; }

    /// <summary>The value a write must carry, or null for any value.</summary>
    public ulong? Datamatch { get; }

    /// <summary>The eventfd as an <see cref="EventFdReader"/> (for code that takes readers generally).</summary>
    public EventFdReader Reader { get; }

    /// <summary>True after Dispose (its own or the VM's).</summary>
    public bool IsDisposed => _eventfd.Fd.IsClosed;

    /// <inheritdoc cref="EventFdReader.TryRead"/>
    public bool TryRead(out ulong count) => _eventfd.TryRead(out count);

    /// <inheritdoc cref="EventFdReader.Wait"/>
    public bool Wait(TimeSpan timeout, out ulong count) => _eventfd.Wait(timeout, out count);

    /// <summary>Deassigns the ioeventfd (<c>KVM_IOEVENTFD</c> with <c>KVM_IOEVENTFD_FLAG_DEASSIGN</c> and the same
    /// address, length and datamatch) and closes the eventfd, which is closed even when the kernel refuses. Idempotent.</summary>
    /// <exception cref="KvmException">The kernel refused the deassignment (ENOENT: not registered).</exception>
    public void Dispose()
    {
        if (_vm.EventFds.Remove(this))
            Release(throwOnError: true);
    }

    void IEventFdRegistration.Release(bool throwOnError) => Release(throwOnError);

    private void Release(bool throwOnError)
    {
        var rc = EventFdDeassign.ThenClose(_vm,
            () => _feature.Assign(_eventfd, Space, Address, Length, Datamatch, deassign: true), _eventfd);
        if (rc < 0 && throwOnError)
            Fail.Ioctl(rc, KvmIoctls.KVM_IOEVENTFD.Name, KvmIoctls.KVM_IOEVENTFD.Value, KvmFdKind.Vm,
                $"deassigning the ioeventfd at {IoEventFdFeature.Describe(Space, Address, Length, Datamatch)}");
    }

    /// <inheritdoc />
    public override string ToString() => $"ioeventfd {IoEventFdFeature.Describe(Space, Address, Length, Datamatch)}";
}
