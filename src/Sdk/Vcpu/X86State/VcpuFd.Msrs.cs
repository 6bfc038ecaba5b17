using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>x86: <c>KVM_GET_MSRS</c>: reads the MSRs whose <c>index</c> the entries name into their <c>data</c>,
    /// in batches of at most 64 (the kernel takes fewer than 256 per call). The kernel processes entries in order and
    /// stops at the first MSR it cannot read; the return value is that count, so a result below
    /// <c>entries.Length</c> means <c>entries[result]</c> failed. Allocation-free.</summary>
    /// <returns>How many entries were read.</returns>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl itself failed (EFAULT, E2BIG).</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public int TryGetMsrs(Span<kvm_msr_entry> entries)
    {
        RequireX86();
        return MsrBatch.Run(_fd, _sys, ArchIoctls.KVM_GET_MSRS.Value, ArchIoctls.KVM_GET_MSRS.Name, KvmFdKind.Vcpu, entries, entries);
    }

    /// <summary>x86: <see cref="TryGetMsrs"/>, throwing when the kernel stops early.</summary>
    /// <exception cref="MsrAccessException">An MSR could not be read: names its index and how many were read.</exception>
    /// <exception cref="KvmException">The ioctl itself failed.</exception>
    public void GetMsrs(Span<kvm_msr_entry> entries)
    {
        var done = TryGetMsrs(entries);
        if (done < entries.Length)
            throw new MsrAccessException(ArchIoctls.KVM_GET_MSRS.Name, ArchIoctls.KVM_GET_MSRS.Value, KvmFdKind.Vcpu,
                entries[done].index, done, entries.Length, write: false);
    }

    /// <summary>x86: <c>KVM_SET_MSRS</c>: writes each entry's <c>data</c> to MSR <c>index</c>, in batches of at most 64.
    /// The kernel stops at the first MSR it refuses (unknown to KVM, a value it rejects, a feature the guest's CPUID
    /// hides; host-initiated writes are allowed more than guest WRMSR); the return value is the count written.
    /// Allocation-free.</summary>
    /// <returns>How many entries were written.</returns>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl itself failed (EFAULT, E2BIG).</exception>
    public int TrySetMsrs(ReadOnlySpan<kvm_msr_entry> entries)
    {
        RequireX86();
        return MsrBatch.Run(_fd, _sys, ArchIoctls.KVM_SET_MSRS.Value, ArchIoctls.KVM_SET_MSRS.Name, KvmFdKind.Vcpu, entries, default);
    }

    /// <summary>x86: <see cref="TrySetMsrs"/>, throwing when the kernel stops early.</summary>
    /// <exception cref="MsrAccessException">An MSR was refused: names its index and how many were written before it.</exception>
    /// <exception cref="KvmException">The ioctl itself failed.</exception>
    public void SetMsrs(ReadOnlySpan<kvm_msr_entry> entries)
    {
        var done = TrySetMsrs(entries);
        if (done < entries.Length)
            throw new MsrAccessException(ArchIoctls.KVM_SET_MSRS.Name, ArchIoctls.KVM_SET_MSRS.Value, KvmFdKind.Vcpu,
                entries[done].index, done, entries.Length, write: true);
    }

    /// <summary>x86: one MSR through <c>KVM_GET_MSRS</c>.</summary>
    /// <exception cref="MsrAccessException">The kernel could not read it.</exception>
    public ulong GetMsr(uint index)
    {
        Span<kvm_msr_entry> one = [new kvm_msr_entry { index = index }];
        GetMsrs(one);
        return one[0].data;
    }

    /// <summary>x86: one MSR through <c>KVM_SET_MSRS</c>.</summary>
    /// <exception cref="MsrAccessException">The kernel refused it.</exception>
    public void SetMsr(uint index, ulong value) =>
        SetMsrs([new kvm_msr_entry { index = index, data = value }]);
}
