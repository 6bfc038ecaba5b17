namespace Kvm;

/// <summary>The reading side of an SDK-owned eventfd that the kernel signals (an ioeventfd, an irqfd's resample fd):
/// wait for it or poll it, allocation-free. The owner (<see cref="IoEventFd"/>, <see cref="IrqFd"/>) closes it.</summary>
public sealed class EventFdReader
{
    private readonly OwnedEventFd _fd;

    internal EventFdReader(OwnedEventFd fd) => _fd = fd;

    /// <summary>Reads and resets the counter without blocking (read(2) of a u64 on a non-blocking eventfd).</summary>
    /// <param name="count">The number of signals since the last read; 0 when it returns false.</param>
    /// <returns>False when nothing was signalled (EAGAIN).</returns>
    /// <exception cref="ObjectDisposedException">The owner was disposed.</exception>
    /// <exception cref="KvmException">read(2) failed otherwise.</exception>
    public bool TryRead(out ulong count) => _fd.TryRead(out count);

    /// <summary>Waits (poll(2) for POLLIN) up to <paramref name="timeout"/> — <see cref="Timeout.InfiniteTimeSpan"/>
    /// for ever — for a signal, then reads and resets the counter. EINTR restarts the wait with the time left. The
    /// wait holds the fd open: a concurrent Dispose of the owner deassigns at once but the fd closes (and the wait
    /// ends) only at the timeout, so wait in slices when the owner may go away.</summary>
    /// <returns>False on timeout.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is negative (other than infinite) or above int.MaxValue ms.</exception>
    /// <exception cref="ObjectDisposedException">The owner was disposed.</exception>
    /// <exception cref="KvmException">poll(2) or read(2) failed.</exception>
    public bool Wait(TimeSpan timeout, out ulong count) => _fd.Wait(timeout, out count);
}
