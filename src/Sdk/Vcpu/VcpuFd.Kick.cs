using Kvm.Interop;

namespace Kvm;

// Running and kicking: the runner side of the protocol that VcpuRunGate documents and enforces.
public sealed unsafe partial class VcpuFd
{
    private VcpuRunGate _gate = null!;
    private bool _guestMaskSet; // touched only by the runner, which the gate makes exclusive

    /// <summary>The signal that kicks this vCPU out of the guest (<see cref="KvmOptions.KickSignal"/>; SIGUSR2 by
    /// default). The first <see cref="Run"/> on a thread blocks it there (<c>pthread_sigmask</c>) and leaves it
    /// blocked, so later Runs need no signal-mask syscall; the kernel unblocks it only inside <c>KVM_RUN</c>
    /// (<c>KVM_SET_SIGNAL_MASK</c>). <see cref="VcpuThread.RestoreSignalMask"/> hands the thread's mask back.</summary>
    public int KickSignal => _gate.Signal;

    /// <summary>
    /// Asks the vCPU to leave the guest: the current <see cref="Run"/> (if the guest is executing) or the next one
    /// returns <see cref="VcpuExitReason.Interrupted"/>. Safe from any thread; allocation-free.
    /// Guarantees: exactly one later or concurrent <c>Run</c> returns <c>Interrupted</c> for any number of requests
    /// made before it (the request is consumed then); a <c>Run</c> that already returned another exit is not changed;
    /// the signal reaches only the thread inside this vCPU's Run (where it is blocked outside <c>KVM_RUN</c>) and is
    /// consumed before that Run returns. Sets
    /// <c>kvm_run.immediate_exit</c> and sends <see cref="KickSignal"/> with <c>tgkill</c> to the thread inside
    /// <c>KVM_RUN</c>, if any (see the protocol on <see cref="VcpuRunGate"/> in the sources).
    /// </summary>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void RequestImmediateExit()
    {
        _fd.Enter();
        try
        {
            _gate.Kick();
        }
        finally
        {
            _fd.Exit();
        }
    }

    private ref byte ImmediateExitRef => ref VmArchitectureInfo.Current == VmArchitecture.Arm64
        ? ref ((Interop.Arm64.kvm_run*)_run)->immediate_exit
        : ref ((Interop.X86_64.kvm_run*)_run)->immediate_exit;

    /// <summary>One Run under the protocol: make sure the kick is blocked on this thread (a syscall only the first
    /// time per thread), publish, KVM_RUN until an exit that is not an unasked-for EINTR, unpublish, drain if a kick
    /// signal was sent. Returns the ioctl result and the run generation. On the common path (no kick) the only
    /// syscall is KVM_RUN.</summary>
    private int RunCore(int fd, out long generation)
    {
        var signal = _gate.Signal;
        KickSignals.EnsureBlocked(signal);
        generation = _gate.Enter(KickSignals.CurrentTid);
        int rc;
        try
        {
            if (!_guestMaskSet)
                SetGuestSignalMask(fd, signal);
            // EINTR without a kick cannot come from the guest mask (it blocks everything else); the bound only keeps a
            // kernel that says EINTR for its own reasons from spinning here forever.
            for (var spurious = 0; ; spurious++)
            {
                rc = _sys.Ioctl(fd, KvmIoctls.KVM_RUN.Value, (nint)0);
                if (rc != -(int)Errno.EINTR || _gate.TryConsumeKick() || spurious == 16)
                    break;
            }
        }
        finally
        {
            // The kick stays blocked on this thread, so a signal sent to this run waits here, pending, until drained:
            // it can neither end the process nor interrupt the next KVM_RUN of another vCPU on this thread.
            if (_gate.Leave())
                KickSignals.Drain(signal);
        }
        return rc;
    }

    private void SetGuestSignalMask(int fd, int signal)
    {
        // struct kvm_signal_mask { __u32 len; __u8 sigset[]; } with the kernel's 8-byte sigset.
        var buf = stackalloc byte[sizeof(kvm_signal_mask) + 8];
        ((kvm_signal_mask*)buf)->len = 8;
        *(ulong*)(buf + sizeof(kvm_signal_mask)) = KickSignals.GuestMask(signal);
        // SAFETY: `buf` holds the header and the 8 sigset bytes `len` announces; the kernel reads them.
        var rc = _sys.Ioctl(fd, KvmIoctls.KVM_SET_SIGNAL_MASK.Value, buf);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_SET_SIGNAL_MASK.Name, KvmIoctls.KVM_SET_SIGNAL_MASK.Value, KvmFdKind.Vcpu);
        _guestMaskSet = true;
    }
}
