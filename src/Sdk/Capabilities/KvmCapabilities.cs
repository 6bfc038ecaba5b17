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
        var rc = Ask(cap, out var kind);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_CHECK_EXTENSION.Name, KvmIoctls.KVM_CHECK_EXTENSION.Value, kind, $"capability {cap}");
        return rc;
    }

    /// <summary><c>KVM_CHECK_EXTENSION</c> where the kernel may refuse the question instead of answering it. arm64
    /// does that on <c>/dev/kvm</c> for capabilities only a VM can answer: EINVAL for <c>KVM_CAP_MSI_DEVID</c> and
    /// <c>KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED</c> (7.3); ask the VM's <see cref="VmFd.Capabilities"/> instead.</summary>
    /// <param name="cap">The capability number.</param>
    /// <param name="answer">The answer; 0 when the kernel refused.</param>
    /// <returns>Success, or the kernel's errno.</returns>
    /// <exception cref="ObjectDisposedException">The owning object was disposed.</exception>
    public KvmResult TryCheckRaw(int cap, out int answer)
    {
        var rc = Ask(cap, out _);
        answer = Math.Max(rc, 0);
        return rc < 0 ? new KvmResult((Errno)(-rc)) : KvmResult.Success;
    }

    private int Ask(int cap, out KvmFdKind kind)
    {
        var fd = _fd.Enter();
        try
        {
            kind = fd.Kind;
            return _sys.Ioctl(fd.Fd, KvmIoctls.KVM_CHECK_EXTENSION.Value, (nint)cap);
        }
        finally
        {
            _fd.Exit();
        }
    }
}
