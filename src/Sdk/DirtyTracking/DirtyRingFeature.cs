using System.Numerics;
using Kvm.Interop;

namespace Kvm;

/// <summary>
/// The per-vCPU dirty ring of one VM (<see cref="VmFd.DirtyRing"/>): exists only when <c>KVM_CHECK_EXTENSION</c> on
/// the VM answers <c>KVM_CAP_DIRTY_LOG_RING_ACQ_REL</c> or <c>KVM_CAP_DIRTY_LOG_RING</c> &gt; 0 (the answer is the
/// largest ring in bytes). Once <see cref="Enable"/>d, the kernel pushes each page a guest writes in a logging slot
/// (<see cref="SlotHandle.SetDirtyLogging"/>) to the ring of the vCPU that wrote it instead of the slot's bitmap;
/// every vCPU then has a <see cref="VcpuFd.DirtyRing"/> to harvest, and <see cref="Reset"/> gives the harvested
/// entries back. A vCPU whose ring is full leaves <see cref="VcpuFd.Run"/> with raw exit reason
/// <c>KVM_EXIT_DIRTY_RING_FULL</c> (31) until it is harvested and reset.
/// </summary>
public sealed class DirtyRingFeature
{
    private readonly VmFd _vm;
    private readonly object _gate = new();

    internal DirtyRingFeature(VmFd vm, int maxBytes, bool acquireRelease)
    {
        _vm = vm;
        MaxBytes = maxBytes;
        AcquireRelease = acquireRelease;
    }

    /// <summary>The largest ring the kernel accepts, in bytes (the capability's answer).</summary>
    public int MaxBytes { get; }

    /// <summary>True when the kernel offers <c>KVM_CAP_DIRTY_LOG_RING_ACQ_REL</c> (the ordering the SDK's harvest
    /// uses on every architecture) and <see cref="Enable"/> enables that one; otherwise <c>KVM_CAP_DIRTY_LOG_RING</c>.</summary>
    public bool AcquireRelease { get; }

    /// <summary>Ring size per vCPU in bytes once enabled; 0 before.</summary>
    public int Bytes { get; private set; }

    /// <summary>True once <see cref="Enable"/> succeeded.</summary>
    public bool IsEnabled => Bytes != 0;

    /// <summary>Entries per vCPU ring (<see cref="Bytes"/> / 16, the size of <c>struct kvm_dirty_gfn</c>).</summary>
    public int Entries => Bytes / sizeof(ulong) / 2;

    /// <summary><c>KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING_ACQ_REL or KVM_CAP_DIRTY_LOG_RING, bytes)</c>: each vCPU
    /// created from now on gets a ring of <paramref name="bytes"/> bytes, mapped by the SDK at
    /// <c>KVM_DIRTY_LOG_PAGE_OFFSET</c> of the vCPU fd. The bitmap ioctls (<see cref="SlotHandle.GetDirtyLog"/>) then
    /// answer ENXIO.</summary>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not a power of two, is below the page size, or
    /// is above <see cref="MaxBytes"/> (EINVAL/E2BIG); a vCPU was already created (EINVAL); the ring is already
    /// enabled (EINVAL).</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void Enable(int bytes)
    {
        if (bytes <= 0 || !BitOperations.IsPow2(bytes))
            Fail.Range(nameof(bytes), bytes, "the dirty ring size is in bytes and must be a power of two (EINVAL)");
        if (bytes < Pages.Size)
            Fail.Range(nameof(bytes), bytes, $"the dirty ring must be at least one {Pages.Size}-byte page (EINVAL)");
        if (bytes > MaxBytes)
            Fail.Range(nameof(bytes), bytes, $"the dirty ring may be at most {MaxBytes} bytes on this VM (the capability's answer; E2BIG)");
        lock (_gate)
        {
            if (IsEnabled)
                Fail.Argument(nameof(bytes), $"the dirty ring is already enabled with {Bytes} bytes (EINVAL)");
            if (_vm.HasCreatedVcpus)
                Fail.Argument(nameof(bytes), "the dirty ring must be enabled before the VM's first KVM_CREATE_VCPU (the kernel answers EINVAL afterwards)");
            var cap = AcquireRelease ? KvmCap.KVM_CAP_DIRTY_LOG_RING_ACQ_REL : KvmCap.KVM_CAP_DIRTY_LOG_RING;
            _vm.EnableCap(cap, (ulong)bytes);
            Bytes = bytes;
        }
    }

    /// <summary><c>KVM_RESET_DIRTY_RINGS</c>: the kernel takes back every entry the harvest marked reset, on all vCPUs,
    /// and write-protects those pages again so their next write is logged. Returns the number of entries reset.</summary>
    /// <exception cref="InvalidOperationException">The ring is not enabled.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public int Reset()
    {
        if (!IsEnabled)
            throw new InvalidOperationException("KVM_RESET_DIRTY_RINGS needs the dirty ring enabled (Enable) first");
        var rc = _vm.VmIoctl(KvmIoctls.KVM_RESET_DIRTY_RINGS.Value, (nint)0);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_RESET_DIRTY_RINGS.Name, KvmIoctls.KVM_RESET_DIRTY_RINGS.Value, KvmFdKind.Vm);
        return rc;
    }
}
