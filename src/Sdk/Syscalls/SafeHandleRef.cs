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

    public bool IsClosed => _handle.IsClosed;

    public KvmFdHandle Enter()
    {
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
