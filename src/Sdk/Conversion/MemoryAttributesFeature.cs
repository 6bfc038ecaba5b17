using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// VM-level memory attributes (<c>KVM_SET_MEMORY_ATTRIBUTES</c> on the VM fd, Linux 6.8+): exists (as
/// <see cref="VmFd.MemoryAttributes"/>) only when <c>KVM_CAP_MEMORY_ATTRIBUTES</c> on the VM is non-zero; in practice
/// x86 VMs with private memory (SW_PROTECTED, SNP, TDX), where the mask is <c>KVM_MEMORY_ATTRIBUTE_PRIVATE</c>.
/// Attributes are per guest-physical page and independent of memslots; each call overwrites all attributes of the
/// range; there is no "get".
/// </summary>
public sealed class MemoryAttributesFeature
{
    private readonly VmFd _vm;
    private readonly IKvmSyscalls _sys;

    internal MemoryAttributesFeature(VmFd vm, IKvmSyscalls sys, KvmMemoryAttributes supported)
    {
        _vm = vm;
        _sys = sys;
        Supported = supported;
    }

    /// <summary>The attributes this VM accepts: <c>KVM_CAP_MEMORY_ATTRIBUTES</c> on the VM fd.</summary>
    public KvmMemoryAttributes Supported { get; }

    /// <summary>True when <c>KVM_MEMORY_ATTRIBUTE_PRIVATE</c> is supported.</summary>
    public bool SupportsPrivate => Supported.HasFlag(KvmMemoryAttributes.KVM_MEMORY_ATTRIBUTE_PRIVATE);

    /// <summary><c>KVM_SET_MEMORY_ATTRIBUTES</c>: sets <paramref name="attributes"/> (0 = shared) on
    /// [<paramref name="gpa"/>, +<paramref name="size"/>). Allocation-free on success.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Unaligned, empty or wrapping range (EINVAL).</exception>
    /// <exception cref="ArgumentException">An attribute outside <see cref="Supported"/> (EINVAL).</exception>
    /// <exception cref="KvmException">The kernel refused (ENOMEM, EINVAL, EFAULT).</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public void Set(ulong gpa, ulong size, KvmMemoryAttributes attributes)
    {
        var r = TrySet(gpa, size, attributes);
        if (!r.IsSuccess)
            Fail.Ioctl(-(int)r.Errno, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Name, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Value, KvmFdKind.Vm);
    }

    /// <summary><see cref="Set"/>, returning the kernel's refusal as a value (arguments still checked first).</summary>
    public unsafe KvmResult TrySet(ulong gpa, ulong size, KvmMemoryAttributes attributes)
    {
        Pages.RequireAligned(gpa, nameof(gpa), "attribute range address");
        Pages.RequireNonZeroAligned(size, nameof(size), "attribute range size");
        Pages.RequireNoWrap(gpa, size, nameof(size), "attribute range");
        if ((attributes & ~Supported) != 0)
            Fail.Argument(nameof(attributes), $"attributes {attributes & ~Supported} are not in this VM's KVM_CAP_MEMORY_ATTRIBUTES (0x{(ulong)Supported:X})");
        var arg = new kvm_memory_attributes { address = gpa, size = size, attributes = (ulong)attributes };
        var h = _vm.Fd.Enter();
        try
        {
            // SAFETY: `arg` is a stack local of the generated 32-byte layout (flags zero); the kernel only reads it.
            var rc = _sys.Ioctl(h.Fd, KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES.Value, &arg);
            return rc < 0 ? new KvmResult((Errno)(-rc)) : KvmResult.Success;
        }
        finally
        {
            _vm.Fd.Exit();
        }
    }
}
