namespace Kvm;

/// <summary>
/// The calling thread's part in the kick protocol. The first <see cref="VcpuFd.Run"/> on a thread blocks the kick
/// signal (<see cref="KvmOptions.KickSignal"/>, SIGUSR2 by default) on that thread with <c>pthread_sigmask</c> and
/// leaves it blocked, so that no later Run spends a signal-mask syscall per exit: the vCPU's
/// <c>KVM_SET_SIGNAL_MASK</c> (set at its first Run) unblocks the kick only while the thread is inside
/// <c>KVM_RUN</c>. A thread that has run a vCPU therefore keeps the kick signal blocked, and so does a child process
/// it starts (a signal mask survives fork and exec) and a thread it creates (a new thread copies its creator's mask),
/// until it calls <see cref="RestoreSignalMask"/> or ends. Nothing is ever left pending on it: every Run drains a kick
/// signal that was sent to it before it returns. A blocked kick is the safe side: the kick only ever reaches a
/// thread inside Run, and a thread that blocked the signal before its first Run (itself or by inheritance) keeps it
/// blocked even after <see cref="RestoreSignalMask"/>.
/// </summary>
/// <remarks>Do not unblock the kick signal on such a thread by other means: the SDK remembers per thread that it is
/// blocked and does not look again, and a kick that reached the thread outside <c>KVM_RUN</c> with the signal
/// unblocked would take the signal's default action (SIGUSR1, SIGUSR2 and the real-time signals end the process).
/// Use <see cref="RestoreSignalMask"/>, after which the next Run blocks it again.</remarks>
public static class VcpuThread
{
    /// <summary>True when a <see cref="VcpuFd.Run"/> on the calling thread blocked a kick signal that is still
    /// blocked (it was not blocked before that Run). Reads the SDK's per-thread record: no syscall, no KVM ioctl or
    /// capability involved, never fails.</summary>
    public static bool HoldsKickSignal => KickSignals.OwnedOnCurrentThread != 0;

    /// <summary>
    /// Hands the calling thread's signal mask back as the SDK found it: every kick signal that a
    /// <see cref="VcpuFd.Run"/> on this thread blocked is drained (<c>sigtimedwait</c> with a zero timeout, so that
    /// nothing pending is delivered) and unblocked (<c>pthread_sigmask(SIG_UNBLOCK)</c>); a kick signal that was
    /// already blocked before the first Run stays blocked. Call it on a pool thread before returning it, or before
    /// starting a child process that must not inherit the blocked signal. The next Run on this thread blocks the
    /// signal again. No KVM ioctl, no capability; the libc calls cannot fail with these arguments. Does nothing on
    /// a thread that holds no kick signal.
    /// </summary>
    public static void RestoreSignalMask() => KickSignals.Restore();
}
