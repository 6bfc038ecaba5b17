namespace Kvm;

/// <summary>What to do with the side of a guest_memfd slot that a VM-level (legacy) conversion leaves unused.</summary>
public enum DiscardPolicy
{
    /// <summary>Keep both sides (the host memory and the guest_memfd each hold a copy: twice the memory).</summary>
    Keep,
    /// <summary>After a range goes private, free its host (<c>userspace_addr</c>) pages with <c>madvise(MADV_REMOVE)</c>;
    /// after it goes shared, punch its guest_memfd pages (<c>fallocate(PUNCH_HOLE)</c>). Only for the VM-level backend:
    /// in-place conversion has one copy already. Contents of the freed side are lost, as the kernel does not preserve them
    /// across a conversion either.</summary>
    DiscardUnusedSide,
}

/// <summary>Policies of a <see cref="GuestRangeConverter"/>.</summary>
public sealed class ConversionOptions
{
    /// <summary>EAGAIN retries per piece (each after <see cref="IConversionListener.OnBusy"/> returned true, or after
    /// <see cref="RetryDelay"/> when no listener asked); 0 = none. Default 3.</summary>
    public int MaxRetriesPerPiece { get; init; } = 3;

    /// <summary>Wait before a retry no listener asked for; default 1 ms. A retry a listener asked for does not wait.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Retry on EAGAIN even when no listener returned true (references may drop by themselves, e.g. a
    /// short-lived get_user_pages). Default false: without a listener's word EAGAIN ends the conversion.</summary>
    public bool RetryWithoutListener { get; init; }

    /// <summary>Discard policy for the VM-level backend (ignored by in-place backends). Default <see cref="DiscardPolicy.Keep"/>.</summary>
    public DiscardPolicy Discard { get; init; }

    /// <summary>When set, each converted piece is pre-faulted with <c>KVM_PRE_FAULT_MEMORY</c> on this vCPU (needs
    /// <c>KVM_CAP_PRE_FAULT_MEMORY</c>, see <see cref="VmFd.PreFault"/>); a pre-fault failure does not undo the
    /// conversion and is reported in <see cref="GuestRangeConverter.LastPreFaultError"/>.</summary>
    public VcpuFd? PreFaultVcpu { get; init; }
}
