using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>
    /// x86: <c>KVM_SET_CPUID2</c>: the vCPU's CPUID model, typically <see cref="KvmSystem.GetSupportedCpuid"/> edited
    /// with <see cref="CpuidTable"/>. Set it before the first <see cref="Run"/>: since Linux 5.17 the kernel accepts
    /// <c>KVM_SET_CPUID2</c> after the first KVM_RUN only with a table equal to the one it holds (EINVAL otherwise) —
    /// its own copy, which it adjusts at run time (OSXSAVE follows CR4, leaf 0xD's XSAVE size follows XCR0). So after a
    /// run the SDK reads that copy (<see cref="GetCpuid2"/>) and refuses a different table before the ioctl; passing
    /// <see cref="GetCpuid2"/>'s result back is accepted. Whether the vCPU has run is what <see cref="Run"/> recorded;
    /// raw <c>KVM_RUN</c> calls through <see cref="BorrowFd"/> are not seen.
    /// </summary>
    /// <exception cref="ArgumentException">More than <see cref="CpuidTable.MaxEntries"/> entries (E2BIG).</exception>
    /// <exception cref="InvalidOperationException">The vCPU has run and the table differs from the kernel's (GetCpuid2).</exception>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL: an inconsistent model, e.g. an XSAVE size or
    /// MAXPHYADDR it cannot honour; E2BIG; ENOMEM).</exception>
    public void SetCpuid2(CpuidTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        RequireX86();
        var n = table.Count;
        if (n > CpuidTable.MaxEntries)
            Fail.Argument(nameof(table), $"{n} CPUID entries exceed KVM_MAX_CPUID_ENTRIES = {CpuidTable.MaxEntries} (E2BIG)");
        if (Volatile.Read(ref _hasRun) && !table.ContentEquals(GetCpuid2()))
            throw new InvalidOperationException("KVM_SET_CPUID2 after the vCPU's first KVM_RUN must repeat the CPUID table the kernel "
                + "holds (GetCpuid2, with its run-time adjustments; EINVAL for any change): set CPUID before running the vCPU");
        var words = (sizeof(kvm_cpuid2) + n * sizeof(kvm_cpuid_entry2) + 7) / 8;
        var buffer = stackalloc ulong[words];
        ref var header = ref *(kvm_cpuid2*)buffer;
        header.nent = (uint)n;
        header.padding = 0;
        table.Entries.CopyTo(kvm_cpuid2.entries(ref header, n));
        // SAFETY: `buffer` is 8-byte aligned stack memory holding the header and exactly nent = n <= 256 entries, which is
        // what the kernel reads.
        IoctlOut(ArchIoctls.KVM_SET_CPUID2.Value, ArchIoctls.KVM_SET_CPUID2.Name, buffer);
    }

    /// <summary>x86: <c>KVM_GET_CPUID2</c>: the CPUID model in force, as the kernel keeps it (with its run-time
    /// adjustments, e.g. OSXSAVE following CR4).</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public CpuidTable GetCpuid2()
    {
        RequireX86();
        return CpuidCall.Get(_fd, _sys, ArchIoctls.KVM_GET_CPUID2.Value, ArchIoctls.KVM_GET_CPUID2.Name, KvmFdKind.Vcpu, CpuidTable.MaxEntries);
    }
}
