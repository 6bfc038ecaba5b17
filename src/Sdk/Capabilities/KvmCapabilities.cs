using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// <c>KVM_CHECK_EXTENSION</c> on one fd. The same capability can answer differently on <c>/dev/kvm</c> and on a VM
/// fd (guest_memfd flags and memory attributes depend on the VM type), so every answer says its
/// <see cref="Scope"/>. Answers are ints: 0/1 for boolean capabilities, a count (<c>KVM_CAP_NR_MEMSLOTS</c>), or a
/// bitmask (<c>KVM_CAP_GUEST_MEMFD_FLAGS</c>, <c>KVM_CAP_MEMORY_ATTRIBUTES</c>, <c>KVM_CAP_VM_TYPES</c>). The kernel
/// answers 0 for capabilities it does not know; a negative answer (an error) throws <see cref="KvmException"/>.
/// </summary>
public sealed class KvmCapabilities
{
    private readonly SafeHandleRef _fd;
    private readonly IKvmSyscalls _sys;

    internal KvmCapabilities(SafeHandleRef fd, IKvmSyscalls sys, CapabilityScope scope)
    {
        _fd = fd;
        _sys = sys;
        Scope = scope;
    }

    /// <summary>Which fd the questions go to.</summary>
    public CapabilityScope Scope { get; }

    /// <summary><c>KVM_CHECK_EXTENSION(cap)</c>: the raw int answer (0 = not supported).</summary>
    /// <exception cref="KvmException">The ioctl failed (for example EBADF after the fd was closed).</exception>
    /// <exception cref="ObjectDisposedException">The owning object was disposed.</exception>
    public int Check(KvmCap cap) => CheckRaw((int)cap);

    /// <summary><c>KVM_CHECK_EXTENSION(cap) &gt; 0</c>.</summary>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public bool Has(KvmCap cap) => CheckRaw((int)cap) > 0;

    /// <summary><c>KVM_CHECK_EXTENSION(cap)</c> read as a bitmask (zero-extended to 64 bits), for capabilities whose
    /// answer is a set of bits, e.g. <c>KVM_CAP_GUEST_MEMFD_FLAGS</c> → <see cref="GuestMemfdFlags"/>.</summary>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public ulong CheckMask(KvmCap cap) => (uint)CheckRaw((int)cap);

    /// <summary><c>KVM_CHECK_EXTENSION</c> with a capability number the bindings may not know (for example one
    /// taken from a proposed header's <see cref="UapiTable"/>). Beware: proposed numbers collide with released ones.</summary>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public int CheckRaw(int cap)
    {
        var fd = _fd.Enter();
        try
        {
            var rc = _sys.Ioctl(fd.Fd, KvmIoctls.KVM_CHECK_EXTENSION.Value, (nint)cap);
            if (rc < 0)
                Fail.Ioctl(rc, KvmIoctls.KVM_CHECK_EXTENSION.Name, KvmIoctls.KVM_CHECK_EXTENSION.Value, fd.Kind,
                    $"capability {cap}");
            return rc;
        }
        finally
        {
            _fd.Exit();
        }
    }
}
