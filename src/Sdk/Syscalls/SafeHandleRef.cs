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
}
