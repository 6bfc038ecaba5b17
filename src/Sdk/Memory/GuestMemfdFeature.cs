using Kvm.Interop;

namespace Kvm;

/// <summary>
/// guest_memfd support of one VM: exists (as <see cref="VmFd.GuestMemfd"/>) only when <c>KVM_CHECK_EXTENSION</c> on the
/// VM answers <c>KVM_CAP_GUEST_MEMFD</c> &gt; 0 (6.8–6.17: only VMs with private memory; 6.18+: every VM).
/// </summary>
public sealed class GuestMemfdFeature
{
    private readonly VmFd _vm;

    internal GuestMemfdFeature(VmFd vm, GuestMemfdFlags supportedFlags)
    {
        _vm = vm;
        SupportedFlags = supportedFlags;
    }

    /// <summary>The flags this VM accepts in <c>KVM_CREATE_GUEST_MEMFD</c>: <c>KVM_CAP_GUEST_MEMFD_FLAGS</c> on the VM
    /// (6.18+), or none on kernels without that capability (where <c>flags</c> must be 0).</summary>
    public GuestMemfdFlags SupportedFlags { get; }

    /// <summary><c>KVM_CREATE_GUEST_MEMFD</c>: a new guest_memfd file of <paramref name="size"/> bytes (fixed forever).
    /// The fd comes from the kernel without close-on-exec (the ioctl has no flag for it); the SDK sets <c>FD_CLOEXEC</c>
    /// with fcntl right after, so only a fork+exec on another thread in that window could inherit it.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is not a non-zero multiple of the page size.</exception>
    /// <exception cref="ArgumentException"><paramref name="flags"/> has a bit outside <see cref="SupportedFlags"/>
    /// (the kernel would answer EINVAL).</exception>
    /// <exception cref="KvmException">The ioctl (ENOMEM, EINVAL, ...) or fcntl failed.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public GmemFd Create(ulong size, GuestMemfdFlags flags = 0)
    {
        var r = TryCreate(size, flags, out var gmem);
        if (!r.IsSuccess)
            Fail.Ioctl(-(int)r.Errno, KvmIoctls.KVM_CREATE_GUEST_MEMFD.Name, KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value, KvmFdKind.Vm,
                $"size 0x{size:X}, flags 0x{(ulong)flags:X} ({flags})");
        return gmem!;
    }

    /// <summary><see cref="Create"/>, returning the kernel's refusal as a value. Arguments are still checked first.</summary>
    public KvmResult TryCreate(ulong size, GuestMemfdFlags flags, out GmemFd? gmem)
    {
        Pages.RequireNonZeroAligned(size, nameof(size), "guest_memfd size");
        if (size > long.MaxValue)
            Fail.Range(nameof(size), size, "guest_memfd size must fit in a signed 64-bit file size");
        var unsupported = flags & ~SupportedFlags;
        if (unsupported != 0)
            Fail.Argument(nameof(flags),
                $"guest_memfd flags 0x{(ulong)unsupported:X} ({unsupported}) are not in this VM's KVM_CAP_GUEST_MEMFD_FLAGS = 0x{(ulong)SupportedFlags:X} ({(SupportedFlags == 0 ? "none" : SupportedFlags.ToString())})");
        return _vm.CreateGuestMemfdCore(size, flags, out gmem);
    }
}
