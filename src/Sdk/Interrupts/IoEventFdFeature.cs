using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>Where an ioeventfd listens: the x86 port-I/O space (<c>KVM_IOEVENTFD_FLAG_PIO</c>) or guest-physical
/// MMIO.</summary>
public enum IoEventSpace
{
    /// <summary>Guest-physical MMIO (the default bus).</summary>
    Mmio,
    /// <summary>x86 port I/O (<c>KVM_IOEVENTFD_FLAG_PIO</c>).</summary>
    Pio,
}

/// <summary>
/// ioeventfd support of one VM (<see cref="VmFd.IoEventFds"/>): exists only when <c>KVM_CAP_IOEVENTFD</c> on the VM is
/// non-zero. A registered guest write (to a port or an MMIO address, of the registered length, optionally only of a
/// given value) no longer exits to the VMM: the kernel completes it and signals the eventfd, which the VMM waits on
/// from any thread (the classic virtio doorbell).
/// </summary>
public sealed class IoEventFdFeature
{
    private readonly VmFd _vm;
    private readonly IKvmSyscalls _sys;

    internal IoEventFdFeature(VmFd vm, IKvmSyscalls sys, bool anyLength)
    {
        _vm = vm;
        _sys = sys;
        SupportsAnyLength = anyLength;
    }

    /// <summary><c>KVM_CAP_IOEVENTFD_ANY_LENGTH</c>: length 0 ("a write of any length") is accepted.</summary>
    public bool SupportsAnyLength { get; }

    /// <summary><c>KVM_IOEVENTFD</c> with <c>KVM_IOEVENTFD_FLAG_PIO</c>: guest <c>out</c>s of <paramref name="length"/>
    /// bytes to <paramref name="port"/> signal the new eventfd instead of exiting.</summary>
    /// <inheritdoc cref="TryRegister" path="/param"/>
    /// <exception cref="ArgumentException">A rule of <see cref="TryRegister"/> is broken.</exception>
    /// <exception cref="KvmException">EEXIST: an ioeventfd at the same address collides — same length and the same
    /// datamatch, or either of them matches any value, or either has length 0; ENOSPC: the I/O bus is full; EINVAL.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public IoEventFd RegisterPio(ushort port, int length, ulong? datamatch = null) => Register(IoEventSpace.Pio, port, length, datamatch);

    /// <summary><c>KVM_IOEVENTFD</c> on the MMIO bus: guest writes of <paramref name="length"/> bytes to
    /// <paramref name="address"/> signal the new eventfd instead of exiting. The address must not be backed by a
    /// memslot (a write to RAM never reaches the bus).</summary>
    /// <inheritdoc cref="RegisterPio"/>
    public IoEventFd RegisterMmio(ulong address, int length, ulong? datamatch = null) => Register(IoEventSpace.Mmio, address, length, datamatch);

    private IoEventFd Register(IoEventSpace space, ulong address, int length, ulong? datamatch)
    {
        var r = TryRegister(space, address, length, datamatch, out var ioeventfd);
        if (!r.IsSuccess)
            Fail.Ioctl(-(int)r.Errno, KvmIoctls.KVM_IOEVENTFD.Name, KvmIoctls.KVM_IOEVENTFD.Value, KvmFdKind.Vm, r.Errno == Errno.EEXIST
                ? $"{Describe(space, address, length, datamatch)} overlaps a registered ioeventfd at that address: same length with the same datamatch or either matching any value, or either of length 0"
                : Describe(space, address, length, datamatch));
        return ioeventfd!;
    }

    /// <summary>Registers an ioeventfd, returning the kernel's refusal of <c>KVM_IOEVENTFD</c> as a value. Arguments
    /// are checked first (<see cref="ArgumentException"/>); eventfd creation failures throw.</summary>
    /// <param name="space">Port I/O or MMIO.</param>
    /// <param name="address">The port or guest-physical address.</param>
    /// <param name="length">The access width in bytes: 1, 2, 4 or 8, or 0 for any width (needs
    /// <c>KVM_CAP_IOEVENTFD_ANY_LENGTH</c>; no datamatch then).</param>
    /// <param name="datamatch">Only writes of this value (<c>KVM_IOEVENTFD_FLAG_DATAMATCH</c>); it must fit in
    /// <paramref name="length"/> bytes, or no write could ever match.</param>
    /// <param name="ioeventfd">The registration, or null on failure.</param>
    public unsafe KvmResult TryRegister(IoEventSpace space, ulong address, int length, ulong? datamatch, out IoEventFd? ioeventfd)
    {
        ioeventfd = null;
        if (length is not (0 or 1 or 2 or 4 or 8))
            Fail.Range(nameof(length), length, "an ioeventfd length is 0, 1, 2, 4 or 8 bytes (EINVAL)");
        if (space is not (IoEventSpace.Pio or IoEventSpace.Mmio))
            Fail.Argument(nameof(space), $"unknown I/O space {space}");
        if (length == 0 && !SupportsAnyLength)
            Fail.Range(nameof(length), length, "length 0 (any width) needs KVM_CAP_IOEVENTFD_ANY_LENGTH, which this VM does not report (EINVAL)");
        if (length == 0 && datamatch is not null)
            Fail.Argument(nameof(datamatch), "an ioeventfd of length 0 cannot match data (KVM_IOEVENTFD_FLAG_DATAMATCH needs a length; EINVAL)");
        if (datamatch is { } d && length < 8 && d >> (length * 8) != 0)
            Fail.Range(nameof(datamatch), d, $"datamatch 0x{d:X} does not fit in {length} byte(s): no write could match it");
        if (address + (ulong)length < address)
            Fail.Range(nameof(address), address, "address + length wraps around 2^64 (EINVAL)");

        var eventfd = OwnedEventFd.Create(_sys, nameof(IoEventFd));
        var registered = false;
        try
        {
            var rc = Assign(eventfd, space, address, length, datamatch, deassign: false);
            if (rc < 0)
                return new KvmResult((Errno)(-rc));
            registered = true;
            var created = new IoEventFd(_vm, this, eventfd, space, address, length, datamatch);
            if (!_vm.EventFds.Add(created))
            {
                ((IEventFdRegistration)created).Release(throwOnError: false); // the VM is closing: undo
                throw new ObjectDisposedException(nameof(VmFd));
            }
            ioeventfd = created;
            return KvmResult.Success;
        }
        finally
        {
            if (!registered)
                eventfd.Dispose();
        }
    }

    /// <summary><c>KVM_IOEVENTFD</c> (with <c>KVM_IOEVENTFD_FLAG_DEASSIGN</c> when <paramref name="deassign"/>); 0 or -errno.</summary>
    internal unsafe int Assign(OwnedEventFd eventfd, IoEventSpace space, ulong address, int length, ulong? datamatch, bool deassign)
    {
        var h = eventfd.Fd.Enter();
        try
        {
            var flags = (space == IoEventSpace.Pio ? KvmConstants.KVM_IOEVENTFD_FLAG_PIO : 0)
                | (datamatch is null ? 0 : KvmConstants.KVM_IOEVENTFD_FLAG_DATAMATCH)
                | (deassign ? KvmConstants.KVM_IOEVENTFD_FLAG_DEASSIGN : 0);
            var arg = new kvm_ioeventfd
            {
                datamatch = datamatch ?? 0,
                addr = address,
                len = (uint)length,
                fd = h.Fd,
                flags = (uint)flags,
            };
            // SAFETY: `arg` is a zero-initialised 64-byte stack local of kvm_ioeventfd (pad zero); the eventfd it names
            // is held open by the Enter() reference above for the duration of the call.
            return _vm.VmIoctl(KvmIoctls.KVM_IOEVENTFD.Value, &arg);
        }
        finally
        {
            eventfd.Fd.Exit();
        }
    }

    internal static string Describe(IoEventSpace space, ulong address, int length, ulong? datamatch) =>
        $"{(space == IoEventSpace.Pio ? "port" : "MMIO")} 0x{address:X}, length {length}{(datamatch is { } d ? $", datamatch 0x{d:X}" : "")}";
}
