namespace Kvm.Syscalls;

/// <summary>Use of an owned fd from a public object: throws <see cref="ObjectDisposedException"/> after the owner
/// was disposed, and holds a SafeHandle reference for the duration of the call so a concurrent Dispose cannot close
/// (and the kernel reuse) the fd number mid-call.</summary>
internal sealed class SafeHandleRef
{
    private readonly KvmFdHandle _handle;
    private readonly string _ownerName;

    public SafeHandleRef(KvmFdHandle handle, string ownerName)
    {
        _handle = handle;
        _ownerName = ownerName;
    }

    public KvmFdHandle Handle => _handle;

    private volatile bool _disposed;

    /// <summary>True once the owner was disposed (the fd itself may still be open while other holders reference it).</summary>
    public bool IsClosed => _disposed || _handle.IsClosed;

    /// <summary>The owner is done with the fd: later use throws; the fd closes when the last reference is released.</summary>
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }

    public KvmFdHandle Enter()
    {
        if (_disposed)
            throw new ObjectDisposedException(_ownerName);
        var ok = false;
        try
        {
            _handle.DangerousAddRef(ref ok);
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(_ownerName);
        }
        return _handle;
    }

    public void Exit() => _handle.DangerousRelease();

    /// <summary>One ioctl on the fd under a reference (so a concurrent Dispose cannot close it mid-call); the result or
    /// -errno. The caller guarantees <paramref name="arg"/> is what the request reads or writes.</summary>
    public unsafe int Ioctl(IKvmSyscalls sys, nuint request, void* arg)
    {
        var h = Enter();
        try
        {
            // SAFETY: the caller passes a stack local, pinned value or buffer of the struct the request encodes.
            return sys.Ioctl(h.Fd, request, arg);
        }
        finally
        {
            Exit();
        }
    }

    /// <summary>One ioctl with an integer argument, under a reference; the result or -errno.</summary>
    public int Ioctl(IKvmSyscalls sys, nuint request, nint arg)
    {
        var h = Enter();
        try
        {
            return sys.Ioctl(h.Fd, request, arg);
        }
        finally
        {
            Exit();
        }
    }

    // Live borrows by id, so each is released once whichever copy of the FdBorrow is disposed. The set is allocated
    // on the first borrow and reuses its storage afterwards.
    private HashSet<long>? _borrows;
    private long _nextBorrow;
    private readonly Lock _borrowGate = new();

    /// <summary>Lends the fd (see <see cref="FdBorrow"/>): a reference held until the borrow ends.</summary>
    public FdBorrow Borrow()
    {
        var h = Enter();
        var id = Interlocked.Increment(ref _nextBorrow);
        lock (_borrowGate)
            (_borrows ??= new HashSet<long>()).Add(id);
        return new FdBorrow(this, id, h.Fd, h.Kind);
    }

    public bool IsBorrowLive(long id)
    {
        lock (_borrowGate)
            return _borrows is not null && _borrows.Contains(id);
    }

    public void EndBorrow(long id)
    {
        bool live;
        lock (_borrowGate)
            live = _borrows is not null && _borrows.Remove(id);
        if (live)
            Exit();
    }
}
