namespace Kvm;

/// <summary>
/// A scoped loan of an SDK-owned fd for raw <c>Kvm.Interop</c> calls (<c>Sys.Ioctl(fd.Value, …)</c>), from
/// <see cref="KvmSystem.BorrowFd"/>, <see cref="VmFd.BorrowFd"/>, <see cref="VcpuFd.BorrowFd"/> or
/// <see cref="GmemFd.BorrowFd"/>. Use it in a <c>using</c>:
/// <code>using (var fd = vm.BorrowFd()) Sys.Ioctl(fd.Value, KvmIoctls.KVM_CHECK_EXTENSION, cap);</code>
/// </summary>
/// <remarks>
/// <para><b>Ownership stays with the SDK.</b> The borrow holds a SafeHandle reference: while it is live the fd number
/// stays open and is not reused, even if the owner is disposed concurrently (the close is deferred to the end of the
/// last borrow). Never <c>close</c> the number, <c>dup2</c> over it, or keep it past the borrow.</para>
/// <para>A borrow is ended exactly once, whichever copy of the struct is disposed; <see cref="Value"/> of an ended
/// borrow throws <see cref="ObjectDisposedException"/>. A borrow that is never disposed keeps the fd open for the life
/// of the process (a leak, never a hazard). Borrowing and ending allocate nothing once the owner has warmed up.</para>
/// <para>Raw calls bypass the SDK's bookkeeping: state the typed layer tracks (memslots, the vCPU's first run, CPUID
/// set through <see cref="VcpuFd.SetCpuid2"/>) does not see what you do through the raw fd.</para>
/// </remarks>
public readonly ref struct FdBorrow
{
    private readonly Syscalls.SafeHandleRef? _owner;
    private readonly long _id;
    private readonly int _fd;

    internal FdBorrow(Syscalls.SafeHandleRef owner, long id, int fd, KvmFdKind kind)
    {
        _owner = owner;
        _id = id;
        _fd = fd;
        Kind = kind;
    }

    /// <summary>The fd number, valid until this borrow (or a copy of it) is disposed.</summary>
    /// <exception cref="ObjectDisposedException">The borrow was ended (or this is a default instance).</exception>
    public int Value => IsLive ? _fd : throw new ObjectDisposedException(nameof(FdBorrow), "the fd borrow was ended: its number may already belong to another file");

    /// <summary>Which kind of fd this is.</summary>
    public KvmFdKind Kind { get; }

    /// <summary>True until the borrow is ended through this or any copy.</summary>
    public bool IsLive => _owner is not null && _owner.IsBorrowLive(_id);

    /// <summary>Ends the borrow (once: later calls, on this or any copy, do nothing).</summary>
    public void Dispose() => _owner?.EndBorrow(_id);
}
