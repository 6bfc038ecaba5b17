namespace Kvm;

/// <summary>One kernel registration backed by an SDK-owned eventfd (an irqfd or an ioeventfd).</summary>
internal interface IEventFdRegistration
{
    /// <summary>Deassigns (while the VM fd is still open) and closes the eventfd; errors are swallowed when
    /// <paramref name="throwOnError"/> is false.</summary>
    void Release(bool throwOnError);
}

/// <summary>The VM's live irqfds and ioeventfds, as <see cref="MemslotTable"/> holds its slots: each registration is
/// released exactly once, by its own Dispose or by the VM's (which deassigns after the vCPUs stopped and before the
/// memslots go).</summary>
internal sealed class EventFdRegistry
{
    private readonly HashSet<IEventFdRegistration> _live = new();
    private bool _closed;

    /// <summary>Adds a registration the kernel accepted; false (and nothing added) once the VM is closing.</summary>
    public bool Add(IEventFdRegistration r)
    {
        lock (_live)
            return !_closed && _live.Add(r);
    }

    /// <summary>True for the one caller that gets to release <paramref name="r"/>.</summary>
    public bool Remove(IEventFdRegistration r)
    {
        lock (_live)
            return _live.Remove(r);
    }

    public int Count
    {
        get
        {
            lock (_live)
                return _live.Count;
        }
    }

    /// <summary>VM disposal: releases every registration left.</summary>
    public void Close()
    {
        IEventFdRegistration[] left;
        lock (_live)
        {
            _closed = true;
            left = _live.ToArray();
            _live.Clear();
        }
        foreach (var r in left)
            r.Release(throwOnError: false);
    }
}

/// <summary>The end of an irqfd or ioeventfd registration, shared by both.</summary>
internal static class EventFdDeassign
{
    /// <summary>Runs <paramref name="deassign"/> unless the VM is gone (the kernel drops its registrations with the VM),
    /// then closes the eventfds whatever the kernel said; returns the kernel's answer (0 when nothing was asked).</summary>
    public static int ThenClose(VmFd vm, Func<int> deassign, [TakesOwnership] OwnedEventFd eventfd, [TakesOwnership] OwnedEventFd? second = null)
    {
        try
        {
            return vm.IsDisposed ? 0 : deassign();
        }
        catch (ObjectDisposedException)
        {
            return 0;   // the VM closed meanwhile
        }
        finally
        {
            eventfd.Dispose();
            second?.Dispose();
        }
    }
}
