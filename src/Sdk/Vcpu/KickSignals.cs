using System.Runtime.InteropServices;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm;

/// <summary>The thread and signal primitives of the kick protocol (<see cref="VcpuRunGate"/>): thread ids, a
/// thread-directed signal, and blocking, draining and unblocking one signal on the calling thread.</summary>
internal static unsafe partial class KickSignals
{
    [LibraryImport("libc.so.6", EntryPoint = "gettid")]
    private static partial int GetTid();

    [LibraryImport("libc.so.6", EntryPoint = "tgkill")]
    private static partial int TgKill(int tgid, int tid, int signal);

    [LibraryImport("libc.so.6", EntryPoint = "__libc_current_sigrtmin")]
    private static partial int SigRtMin();

    [LibraryImport("libc.so.6", EntryPoint = "__libc_current_sigrtmax")]
    private static partial int SigRtMax();

    [ThreadStatic]
    private static int t_tid;

    private static readonly int s_pid = Environment.ProcessId;

    /// <summary>The calling thread's kernel id (cached per thread).</summary>
    public static int CurrentTid => t_tid != 0 ? t_tid : (t_tid = GetTid());

    /// <summary>The default kick signal: SIGUSR2, which the .NET runtime neither handles nor sends.</summary>
    public static int Default => SIGUSR2;

    /// <summary>Why <paramref name="signal"/> cannot be a kick signal, or null. Allowed: SIGUSR1, SIGUSR2, and the
    /// real-time signals above SIGRTMIN (which the .NET runtime uses to interrupt threads).</summary>
    public static string? Refusal(int signal)
    {
        if (signal == SIGUSR1 || signal == SIGUSR2)
            return null;
        int min = SigRtMin(), max = SigRtMax();
        if (signal > min && signal <= max)
            return null;
        return $"the kick signal must be SIGUSR1 ({(int)SIGUSR1}), SIGUSR2 ({(int)SIGUSR2}) or a real-time signal " +
               $"{min + 1}..{max} (SIGRTMIN is the .NET runtime's; the others have meanings of their own)";
    }

    /// <summary>Sends <paramref name="signal"/> to thread <paramref name="tid"/> of this process. The caller guarantees
    /// the thread is alive and blocks the signal outside KVM_RUN (it is inside <see cref="VcpuFd.Run"/>).</summary>
    public static void Send(int tid, int signal) => TgKill(s_pid, tid, signal);

    // Kick signals (bit signal-1) known to be blocked on this thread since a Run saw to it, and the subset that Run
    // blocked itself (the rest were blocked by the thread's owner before): see EnsureBlocked and Restore.
    [ThreadStatic]
    private static ulong t_known;

    [ThreadStatic]
    private static ulong t_owned;

    /// <summary>The kick signals a Run blocked on the calling thread and that stay blocked until <see cref="Restore"/>.</summary>
    public static ulong OwnedOnCurrentThread => t_owned;

    /// <summary>Makes sure <paramref name="signal"/> is blocked on the calling thread, with one <c>pthread_sigmask</c>
    /// the first time per thread and signal and none after: the thread keeps it blocked (the kick protocol relies
    /// on that outside <c>KVM_RUN</c>, where the vCPU's <c>KVM_SET_SIGNAL_MASK</c> unblocks it).</summary>
    public static void EnsureBlocked(int signal)
    {
        var bit = 1UL << (signal - 1);
        if ((t_known & bit) != 0)
            return;
        if (!Block(signal))
            t_owned |= bit;
        t_known |= bit;
    }

    /// <summary>Hands the calling thread's mask back: drains and unblocks every kick signal <see cref="EnsureBlocked"/>
    /// blocked itself (signals blocked before by the thread's owner stay blocked), and forgets them all, so the next
    /// Run on this thread checks again. The caller is not inside Run (Run never calls out).</summary>
    public static void Restore()
    {
        for (var owned = t_owned; owned != 0; owned &= owned - 1)
        {
            var signal = System.Numerics.BitOperations.TrailingZeroCount(owned) + 1;
            Drain(signal);
            Unblock(signal);
        }
        t_owned = 0;
        t_known = 0;
    }

    /// <summary>Blocks <paramref name="signal"/> on the calling thread; returns whether it was blocked already.</summary>
    public static bool Block(int signal)
    {
        sigset_t set, old;
        sigemptyset(&set);
        sigaddset(&set, signal);
        // SAFETY: stack locals; changes only this thread's mask.
        pthread_sigmask(SIG_BLOCK, &set, &old);
        return sigismember(&old, signal) == 1;
    }

    /// <summary>Unblocks <paramref name="signal"/> on the calling thread. Only after <see cref="Drain"/>: a pending
    /// kick delivered with the default action would end the process.</summary>
    public static void Unblock(int signal)
    {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, signal);
        // SAFETY: stack local; changes only this thread's mask.
        pthread_sigmask(SIG_UNBLOCK, &set, null);
    }

    /// <summary>Consumes every pending instance of <paramref name="signal"/> on the calling thread, without waiting.</summary>
    public static void Drain(int signal)
    {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, signal);
        timespec zero = default;
        // SAFETY: stack locals; sigtimedwait with a zero timeout returns at once (EAGAIN when nothing is pending).
        while (sigtimedwait(&set, null, &zero) == signal)
        {
        }
    }

    /// <summary>The kernel sigset (64 bits on x86_64 and arm64) with every signal blocked except
    /// <paramref name="signal"/>: the mask a vCPU runs the guest with (<c>KVM_SET_SIGNAL_MASK</c>).</summary>
    public static ulong GuestMask(int signal) => ~(1UL << (signal - 1));
}
