namespace Kvm;

/// <summary>Process-level choices for a <see cref="KvmSystem"/> and everything created from it.</summary>
public sealed record KvmOptions
{
    /// <summary>The defaults: SIGUSR2 as the kick signal, 1 s to stop a running vCPU on Dispose.</summary>
    public static KvmOptions Default { get; } = new();

    /// <summary>The signal that kicks a vCPU out of <c>KVM_RUN</c> (<see cref="VcpuFd.RequestImmediateExit"/>,
    /// <see cref="VcpuFd.Dispose"/>). SIGUSR2 by default, which the .NET runtime neither handles nor sends; choose
    /// SIGUSR1 or a real-time signal above SIGRTMIN if the process uses SIGUSR2 itself. The SDK never installs a
    /// handler: the first Run on a thread blocks the signal there and the thread keeps it blocked (the kernel
    /// unblocks it only inside <c>KVM_RUN</c>, through <c>KVM_SET_SIGNAL_MASK</c>); a kick sent to a run is consumed
    /// before that Run returns. <see cref="VcpuThread.RestoreSignalMask"/> unblocks it again.</summary>
    public int KickSignal { get; init; } = KickSignals.Default;

    /// <summary>How long <see cref="VcpuFd.Dispose"/> (and so <see cref="VmFd.Dispose"/>) waits for a kicked vCPU to
    /// leave <c>KVM_RUN</c> before closing anyway (the fd then closes when that Run returns).</summary>
    public TimeSpan VcpuStopTimeout { get; init; } = TimeSpan.FromSeconds(1);

    internal void Validate()
    {
        if (KickSignals.Refusal(KickSignal) is { } why)
            Fail.Range(nameof(KickSignal), KickSignal, why);
        if (VcpuStopTimeout < TimeSpan.Zero)
            Fail.Range(nameof(VcpuStopTimeout), VcpuStopTimeout, "the stop timeout cannot be negative");
    }
}
