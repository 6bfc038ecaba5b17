using System.Runtime.InteropServices;
using Kvm.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm;

// RequestImmediateExit: the pattern of the KVM API documentation (kvm_run.immediate_exit) plus the signal kick QEMU
// uses, without a signal handler (a managed signal handler is not safe in .NET):
//  * the kick signal (SIGUSR2) is blocked on every thread that calls Run, and KVM_SET_SIGNAL_MASK unblocks it for the
//    duration of KVM_RUN only; a kick sent while the guest runs makes KVM_RUN return EINTR, and the signal stays
//    pending (blocked again in user mode) until Run consumes it with sigtimedwait. The handler is never invoked, so the
//    default action (terminate) cannot happen on a thread that runs a vCPU.
//  * immediate_exit = 1 covers the window where the kick arrives just before KVM_RUN: the next KVM_RUN returns EINTR
//    at once.
public sealed unsafe partial class VcpuFd
{
    [LibraryImport("libc.so.6", EntryPoint = "pthread_self")]
    private static partial nuint PthreadSelf();

    [LibraryImport("libc.so.6", EntryPoint = "pthread_kill")]
    private static partial int PthreadKill(nuint thread, int signal);

    [ThreadStatic]
    private static bool t_kickBlocked;

    private nuint _runningThread;
    private int _signalMaskSet;

    /// <summary>The signal used to kick a running vCPU out of the guest (<c>SIGUSR2</c>). It is blocked on every thread
    /// that calls <see cref="Run"/>; do not rely on SIGUSR2 being deliverable to those threads.</summary>
    public static int KickSignal => SIGUSR2;

    /// <summary>
    /// Asks the vCPU to leave the guest: the current <see cref="Run"/> (if the guest is executing) or the next one
    /// returns <see cref="VcpuExitReason.Interrupted"/>. Safe from any thread, lock-free and allocation-free.
    /// Guarantees: after this returns, the vCPU executes no more guest instructions than it takes to notice the signal,
    /// and exactly one later or concurrent <c>Run</c> returns <c>Interrupted</c> (the request is consumed then); a
    /// <c>Run</c> that already returned another exit is not changed. Sets <c>kvm_run.immediate_exit</c> (a volatile
    /// write to the shared page) and sends <see cref="KickSignal"/> to the thread inside <c>KVM_RUN</c>, if any.
    /// </summary>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void RequestImmediateExit()
    {
        var h = _fd.Enter();
        try
        {
            // SAFETY: _run is the live kvm_run mapping (the fd reference held above keeps it mapped);
            // immediate_exit is a byte the kernel reads at KVM_RUN entry.
            Volatile.Write(ref ImmediateExitRef, 1);
            var t = Volatile.Read(ref _runningThread);
            if (t != 0)
                PthreadKill(t, KickSignal);
        }
        finally
        {
            _fd.Exit();
        }
    }

    private ref byte ImmediateExitRef => ref VmArchitectureInfo.Current == VmArchitecture.Arm64
        ? ref ((Interop.Arm64.kvm_run*)_run)->immediate_exit
        : ref ((Interop.X86_64.kvm_run*)_run)->immediate_exit;

    private int RunCore(int fd)
    {
        EnsureKickable(fd);
        Volatile.Write(ref _runningThread, PthreadSelf());
        var rc = _sys.Ioctl(fd, KvmIoctls.KVM_RUN.Value, (nint)0);
        Volatile.Write(ref _runningThread, 0);
        return rc;
    }

    private void AfterInterrupted()
    {
        Volatile.Write(ref ImmediateExitRef, 0);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, KickSignal);
        timespec zero = default;
        // SAFETY: stack locals; consumes a pending kick so the next KVM_RUN does not return EINTR again at once.
        while (sigtimedwait(&set, null, &zero) == KickSignal)
        {
        }
    }

    private void EnsureKickable(int fd)
    {
        if (!t_kickBlocked)
        {
            sigset_t block;
            sigemptyset(&block);
            sigaddset(&block, KickSignal);
            // SAFETY: stack local; blocks only the kick signal on this thread.
            pthread_sigmask(SIG_BLOCK, &block, null);
            t_kickBlocked = true;
        }
        if (Volatile.Read(ref _signalMaskSet) == 0)
        {
            sigset_t current;
            // SAFETY: stack local; reads this thread's mask (kick signal included, blocked above).
            pthread_sigmask(SIG_BLOCK, null, &current);
            sigdelset(&current, KickSignal);
            // struct kvm_signal_mask { __u32 len; __u8 sigset[]; } with the kernel's 8-byte sigset.
            var buf = stackalloc byte[sizeof(kvm_signal_mask) + 8];
            ((kvm_signal_mask*)buf)->len = 8;
            *(ulong*)(buf + sizeof(kvm_signal_mask)) = *(ulong*)&current;
            // SAFETY: `buf` holds the header and the 8 sigset bytes `len` announces; the kernel reads them.
            var rc = _sys.Ioctl(fd, KvmIoctls.KVM_SET_SIGNAL_MASK.Value, buf);
            if (rc < 0)
                Fail.Ioctl(rc, KvmIoctls.KVM_SET_SIGNAL_MASK.Name, KvmIoctls.KVM_SET_SIGNAL_MASK.Value, KvmFdKind.Vcpu);
            Volatile.Write(ref _signalMaskSet, 1);
        }
    }
}
