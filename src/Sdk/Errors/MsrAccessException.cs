namespace Kvm;

/// <summary>
/// <c>KVM_GET_MSRS</c> or <c>KVM_SET_MSRS</c> stopped before the end of the batch: the kernel processes entries in
/// order and returns how many succeeded, so the entry at <see cref="Processed"/> is the first one it refused (an MSR
/// KVM does not know, a value it rejects, or one the guest's CPUID model hides). Entries before it took effect.
/// <see cref="KvmException.Errno"/> is 0: the kernel reports this by count, not by errno.
/// </summary>
public sealed class MsrAccessException : KvmException
{
    internal MsrAccessException(string operation, nuint request, KvmFdKind fdKind, uint msrIndex, int processed, int requested, bool write)
        : base(0, operation, request, fdKind,
            $"the kernel {(write ? "refused to write" : "could not read")} MSR 0x{msrIndex:X} (entry {processed} of {requested}); "
            + $"the {processed} entries before it were {(write ? "written" : "read")}")
    {
        MsrIndex = msrIndex;
        Processed = processed;
        Requested = requested;
    }

    /// <summary>The index of the first MSR that failed.</summary>
    public uint MsrIndex { get; }

    /// <summary>How many entries were processed (read or written) before it.</summary>
    public int Processed { get; }

    /// <summary>How many entries were asked for.</summary>
    public int Requested { get; }
}
