using System.Runtime.InteropServices;

namespace Kvm.Syscalls;

/// <summary>An owned fd. Closing goes through the syscall seam that opened it. Reference counting (SafeHandle's
/// DangerousAddRef/Release) lets a memslot keep its guest_memfd fd open after the user disposed the GmemFd.</summary>
internal sealed class KvmFdHandle : SafeHandle
{
    private readonly IKvmSyscalls _sys;

    public KvmFdHandle(int fd, IKvmSyscalls sys, KvmFdKind kind) : base(invalidHandleValue: -1, ownsHandle: true)
    {
        _sys = sys;
        Kind = kind;
        SetHandle(fd);
    }

    public KvmFdKind Kind { get; }

    public override bool IsInvalid => handle == -1;

    /// <summary>The fd number; valid only while the handle is alive (callers hold a reference or own it).</summary>
    public int Fd => (int)handle;

    /// <summary>A mapping tied to the fd (a vCPU's kvm_run, made by <see cref="RunMappingArena"/>) that is retired
    /// when the fd is finally released, so a concurrent Dispose never takes it away under a running KVM_RUN (which
    /// holds a reference), and an exit or span that outlives the vCPU reaches a dead zero page, never reused memory.</summary>
    public unsafe void* TiedMapping { get; set; }

    public nuint TiedMappingLength { get; set; }

    /// <summary>A second mapping of the fd made by <see cref="RunMappingArena"/> (a vCPU's dirty ring), retired the
    /// same way and at the same time as <see cref="TiedMapping"/>.</summary>
    public unsafe void* TiedRing { get; set; }

    public nuint TiedRingLength { get; set; }

    protected override unsafe bool ReleaseHandle()
    {
        if (TiedMapping != null)
        {
            RunMappingArena.For(_sys).Retire((byte*)TiedMapping, TiedMappingLength);
            TiedMapping = null;
        }
        if (TiedRing != null)
        {
            RunMappingArena.For(_sys).Retire((byte*)TiedRing, TiedRingLength);
            TiedRing = null;
        }
        return _sys.Close((int)handle) == 0;
    }
}
