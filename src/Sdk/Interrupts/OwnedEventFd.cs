using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>An eventfd the SDK created (<c>eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)</c>) and owns: the counter behind an
/// irqfd, an irqfd's resample fd or an ioeventfd. Every operation is allocation-free and holds a SafeHandle reference
/// for its duration, so a concurrent Dispose never lets the fd number be reused mid-call.</summary>
internal sealed unsafe class OwnedEventFd
{
    private readonly IKvmSyscalls _sys;

    private OwnedEventFd(IKvmSyscalls sys, KvmFdHandle handle, string owner)
    {
        _sys = sys;
        Fd = new SafeHandleRef(handle, owner);
    }

    public SafeHandleRef Fd { get; }

    /// <summary>A new eventfd with counter 0.</summary>
    /// <exception cref="KvmException">eventfd(2) failed (EMFILE, ENFILE, ENOMEM).</exception>
    public static OwnedEventFd Create(IKvmSyscalls sys, string owner)
    {
        var fd = sys.EventFdCloexecNonblock();
        if (fd < 0)
            Fail.Syscall(fd, "eventfd", KvmFdKind.None, "eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)");
        return new OwnedEventFd(sys, new KvmFdHandle(fd, sys, KvmFdKind.EventFd), owner);
    }

    /// <summary>Adds 1 to the counter (write(2) of a u64). EAGAIN — the counter is at its maximum, so a signal is
    /// already pending — counts as success.</summary>
    public void Signal()
    {
        var h = Fd.Enter();
        try
        {
            ulong one = 1;
            // SAFETY: `one` is an 8-byte stack local; eventfd reads exactly 8 bytes.
            var rc = _sys.Write(h.Fd, &one, sizeof(ulong));
            if (rc < 0 && rc != -(int)Errno.EAGAIN)
                Fail.Syscall(rc, "write", KvmFdKind.EventFd, "signalling the eventfd");
        }
        finally
        {
            Fd.Exit();
        }
    }

    /// <summary>Reads and resets the counter without blocking; false when it is 0 (EAGAIN).</summary>
    public bool TryRead(out ulong count)
    {
        var h = Fd.Enter();
        try
        {
            return TryReadCore(h.Fd, out count);
        }
        finally
        {
            Fd.Exit();
        }
    }

    /// <summary>Waits up to <paramref name="timeout"/> (infinite: <see cref="Timeout.InfiniteTimeSpan"/>) for a
    /// non-zero counter, then reads and resets it; false on timeout. EINTR restarts the wait with the time left.</summary>
    public bool Wait(TimeSpan timeout, out ulong count)
    {
        var ms = (long)timeout.TotalMilliseconds;
        if (ms < -1 || ms > int.MaxValue)
            Fail.Range(nameof(timeout), timeout, "the timeout must be -1 ms (infinite) to int.MaxValue ms");
        var deadline = ms < 0 ? long.MaxValue : Environment.TickCount64 + ms;
        var h = Fd.Enter();
        try
        {
            while (true)
            {
                if (TryReadCore(h.Fd, out count))
                    return true;
                var left = ms < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
                var rc = _sys.PollIn(h.Fd, left);
                if (rc == 0)
                    return false;
                if (rc < 0 && rc != -(int)Errno.EINTR)
                    Fail.Syscall(rc, "poll", KvmFdKind.EventFd, "waiting on the eventfd");
            }
        }
        finally
        {
            Fd.Exit();
        }
    }

    private bool TryReadCore(int fd, out ulong count)
    {
        ulong value = 0;
        // SAFETY: `value` is an 8-byte stack local; an eventfd read writes exactly 8 bytes or fails.
        var rc = _sys.Read(fd, &value, sizeof(ulong));
        count = value;
        if (rc == -(int)Errno.EAGAIN)
            return false;
        if (rc < 0)
            Fail.Syscall(rc, "read", KvmFdKind.EventFd, "reading the eventfd");
        return true;
    }

    public void Dispose() => Fd.Dispose();
}
