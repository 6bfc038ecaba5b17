namespace Kvm;

/// <summary>
/// The kick protocol of one vCPU: who runs it, how a kick reaches the runner, and how Dispose stops it.
/// </summary>
/// <remarks>
/// <para><b>State</b> (all under one lock): the runner's thread id (0: nobody is in <see cref="VcpuFd.Run"/>), a
/// pending-kick flag, whether a signal was sent to the current runner, a closing flag, and a run generation.</para>
/// <para><b>Runner</b> (<see cref="VcpuFd.Run"/>): makes sure the kick signal is blocked on its thread (a
/// <c>pthread_sigmask</c> the first time per thread, none after: the thread keeps it blocked, see
/// <see cref="VcpuThread"/>), then <see cref="Enter"/> publishes its thread id (a second runner is refused); runs
/// <c>KVM_RUN</c> with a guest signal mask that blocks everything but the kick (<c>KVM_SET_SIGNAL_MASK</c>, so the
/// kernel unblocks the kick only inside <c>KVM_RUN</c>); on EINTR consumes the pending kick
/// (<see cref="TryConsumeKick"/>) or, if there is none, re-enters; then <see cref="Leave"/> clears the thread id, and
/// the runner drains the kick signal if one was sent to this run. Without a kick the only syscall is <c>KVM_RUN</c>.</para>
/// <para><b>Kicker</b> (<see cref="Kick"/>): under the lock sets the pending flag and <c>kvm_run.immediate_exit</c>,
/// and if a runner is published sends it the signal with <c>tgkill</c>.</para>
/// <para><b>Why this is correct.</b> (1) <i>The signal only ever reaches a thread that expects it</i>: it is sent under
/// the lock to the published thread, which cannot unpublish itself without the lock, so it is still inside Run, where
/// the signal is blocked in user mode (from before <see cref="Enter"/> on, for good); <c>tgkill</c> makes the signal
/// pending before it returns, so after <see cref="Leave"/> every signal sent to this run is already pending, and the
/// drain removes it before Run returns. No thread id is read outside the lock, so a reused thread id can never be
/// signalled. (2) <i>A kick is never lost</i>: the lock gives every operation full-fence order, so either the kicker
/// sees the runner (and signals it: a signal pending at or during guest entry makes <c>KVM_RUN</c> return EINTR) or
/// the runner's next <c>KVM_RUN</c> starts after the kicker's <c>immediate_exit = 1</c> (and returns EINTR at once,
/// after completing any pending I/O). (3) <i>Exactly one Run reports each kick</i>: the pending flag is consumed once,
/// under the lock, by the Run whose <c>KVM_RUN</c> returned EINTR; a kick that lands after an ordinary exit stays
/// pending for the next Run.
/// (4) <i>Kicks never cross vCPUs</i>: the drain after Leave empties the thread's pending kick before it can run
/// another vCPU, and the thread's mask keeps the signal from being delivered before that (the kernel restores it as
/// <c>KVM_RUN</c> returns). Only a run that was sent a signal drains (<see cref="Leave"/> says so).
/// (5) <i>Dispose always stops</i>: <see cref="Close"/> refuses new runners, kicks the current one and waits for it
/// to leave (bounded); the fd and kvm_run outlive the wait anyway, because Run holds a handle reference.
/// (6) <i>The cached "blocked" is true</i>: the SDK unblocks the signal only in <see cref="VcpuThread.RestoreSignalMask"/>,
/// which forgets the thread's state, and that is never called from inside Run; a thread's owner that unblocks the
/// signal by other means breaks the rule <see cref="VcpuThread"/> documents.</para>
/// </remarks>
internal sealed unsafe class VcpuRunGate
{
    private readonly object _lock = new();
    private readonly byte* _immediateExit;
    private readonly int _signal;
    private int _runnerTid;
    private bool _kickPending;
    private bool _signalled;
    private bool _closing;
    private long _generation;

    /// <param name="immediateExit"><c>kvm_run.immediate_exit</c>; valid while the vCPU's owner has not released its
    /// handle reference (every caller of <see cref="Kick"/> and <see cref="Close"/> guarantees that).</param>
    /// <param name="signal">The kick signal.</param>
    public VcpuRunGate(byte* immediateExit, int signal)
    {
        _immediateExit = immediateExit;
        _signal = signal;
    }

    /// <summary>The kick signal.</summary>
    public int Signal => _signal;

    /// <summary>Incremented by every <see cref="Enter"/>: an exit is current while this still equals its own.</summary>
    public long Generation => Volatile.Read(ref _generation);

    /// <summary>The thread inside Run, or 0.</summary>
    public int RunnerTid
    {
        get
        {
            lock (_lock)
                return _runnerTid;
        }
    }

    /// <summary>Publishes the calling thread as the runner; returns the new run generation.</summary>
    /// <exception cref="ObjectDisposedException">The vCPU is being disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is inside Run.</exception>
    public long Enter(int tid)
    {
        lock (_lock)
        {
            if (_closing)
                throw new ObjectDisposedException(nameof(VcpuFd));
            if (_runnerTid != 0)
                throw new InvalidOperationException(
                    $"this vCPU is already running on thread {_runnerTid}: KVM_RUN takes one runner at a time (a second would steal its kicks)");
            _runnerTid = tid;
            _signalled = false;
            Volatile.Write(ref _generation, _generation + 1);
            return _generation;
        }
    }

    /// <summary>After <c>KVM_RUN</c> returned EINTR: consumes the pending kick (and clears immediate_exit). False
    /// when no kick was asked for: the caller re-enters the guest.</summary>
    public bool TryConsumeKick()
    {
        lock (_lock)
        {
            if (!_kickPending)
                return false;
            _kickPending = false;
            // SAFETY: the runner holds a handle reference, so kvm_run is mapped.
            Volatile.Write(ref *_immediateExit, 0);
            return true;
        }
    }

    /// <summary>Unpublishes the runner; true when a kick signal was sent to it (drain before unblocking).</summary>
    public bool Leave()
    {
        lock (_lock)
        {
            _runnerTid = 0;
            // Only Close waits, and it sets _closing (under this lock) before it does; not pulsing otherwise keeps the
            // per-exit path off Monitor's wait machinery (a Pulse can make the runtime attach a sync block to the lock).
            if (_closing)
                Monitor.PulseAll(_lock);
            return _signalled;
        }
    }

    /// <summary>Asks the vCPU to leave the guest (see the remarks).</summary>
    public void Kick()
    {
        lock (_lock)
            KickLocked();
    }

    /// <summary>Refuses new runners, kicks the current one and waits up to <paramref name="timeout"/> for it to
    /// leave. False when it is still inside Run after the wait.</summary>
    public bool Close(TimeSpan timeout)
    {
        lock (_lock)
        {
            if (_closing)
                return _runnerTid == 0;
            _closing = true;
            if (_runnerTid == 0)
                return true;
            KickLocked();
            var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            while (_runnerTid != 0)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0 || !Monitor.Wait(_lock, TimeSpan.FromMilliseconds(left)))
                    return _runnerTid == 0;
            }
            return true;
        }
    }

    private void KickLocked()
    {
        _kickPending = true;
        // SAFETY: callers hold a handle reference (or are the owner before it released its own), so kvm_run is mapped.
        Volatile.Write(ref *_immediateExit, 1);
        if (_runnerTid != 0 && !_signalled)
        {
            // The runner cannot unpublish itself while we hold the lock: the id names a live thread inside Run,
            // which blocks the signal outside KVM_RUN.
            KickSignals.Send(_runnerTid, _signal);
            _signalled = true;
        }
    }
}
