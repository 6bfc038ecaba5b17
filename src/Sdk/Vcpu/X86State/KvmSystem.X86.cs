using Kvm.Interop;
using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class KvmSystem
{
    /// <summary>x86: <c>KVM_GET_SUPPORTED_CPUID</c>: the CPUID features KVM can offer a guest on this host, the usual
    /// starting point for <see cref="VcpuFd.SetCpuid2"/>. Asks with room for 64 entries and doubles the buffer on
    /// E2BIG.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    /// <exception cref="ObjectDisposedException">The system was disposed.</exception>
    public CpuidTable GetSupportedCpuid()
    {
        RequireX86();
        return CpuidCall.Get(_fd, Syscalls, ArchIoctls.KVM_GET_SUPPORTED_CPUID.Value, ArchIoctls.KVM_GET_SUPPORTED_CPUID.Name, KvmFdKind.System, 64);
    }

    /// <summary>x86: <c>KVM_GET_EMULATED_CPUID</c> (<c>KVM_CAP_EXT_EMUL_CPUID</c>): features KVM emulates rather than
    /// runs natively (e.g. MOVBE, RDPID), with the same E2BIG retry.</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_EXT_EMUL_CPUID</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public CpuidTable GetEmulatedCpuid()
    {
        RequireX86();
        if (!Capabilities.Has(KvmCap.KVM_CAP_EXT_EMUL_CPUID))
            throw new NotSupportedException("KVM_GET_EMULATED_CPUID needs KVM_CAP_EXT_EMUL_CPUID, which this kernel does not report");
        return CpuidCall.Get(_fd, Syscalls, ArchIoctls.KVM_GET_EMULATED_CPUID.Value, ArchIoctls.KVM_GET_EMULATED_CPUID.Name, KvmFdKind.System, 64);
    }

    /// <summary>x86: <c>KVM_GET_MSR_INDEX_LIST</c>: the MSRs a VMM should save and restore for migration (those KVM
    /// supports on this host, including the ones it emulates). Asks for the count first (the kernel answers E2BIG with
    /// it), then the list.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public uint[] GetMsrIndexList()
    {
        RequireX86();
        return MsrList(ArchIoctls.KVM_GET_MSR_INDEX_LIST.Value, ArchIoctls.KVM_GET_MSR_INDEX_LIST.Name);
    }

    /// <summary>x86: <c>KVM_GET_MSR_FEATURE_INDEX_LIST</c> (<c>KVM_CAP_GET_MSR_FEATURES</c>): the feature MSRs (e.g.
    /// <c>IA32_ARCH_CAPABILITIES</c>, VMX capability MSRs) whose host-supported values <see cref="GetFeatureMsrs"/> reads.</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_GET_MSR_FEATURES</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed.</exception>
    public uint[] GetMsrFeatureIndexList()
    {
        RequireMsrFeatures(ArchIoctls.KVM_GET_MSR_FEATURE_INDEX_LIST.Name);
        return MsrList(ArchIoctls.KVM_GET_MSR_FEATURE_INDEX_LIST.Value, ArchIoctls.KVM_GET_MSR_FEATURE_INDEX_LIST.Name);
    }

    /// <summary>x86: <c>KVM_GET_MSRS</c> on <c>/dev/kvm</c> (<c>KVM_CAP_GET_MSR_FEATURES</c>): the values of feature MSRs
    /// this host supports, in batches; returns how many were read (the kernel stops at the first it cannot read).</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_GET_MSR_FEATURES</c>.</exception>
    /// <exception cref="KvmException">The ioctl itself failed.</exception>
    public int GetFeatureMsrs(Span<kvm_msr_entry> entries)
    {
        RequireMsrFeatures(ArchIoctls.KVM_GET_MSRS.Name + " on /dev/kvm");
        return MsrBatch.Run(_fd, Syscalls, ArchIoctls.KVM_GET_MSRS.Value, ArchIoctls.KVM_GET_MSRS.Name, KvmFdKind.System, entries, entries);
    }

    private void RequireMsrFeatures(string ioctl)
    {
        RequireX86();
        if (!Capabilities.Has(KvmCap.KVM_CAP_GET_MSR_FEATURES))
            throw new NotSupportedException($"{ioctl} needs KVM_CAP_GET_MSR_FEATURES, which this kernel does not report");
    }

    private uint[] MsrList(nuint request, string name)
    {
        var count = 0u;
        for (var attempt = 0; attempt < 4; attempt++)
        {
            // uint words: the nmsrs header, then the indices.
            var buffer = new uint[1 + count];
            buffer[0] = count;
            int rc;
            var h = _fd.Enter();
            try
            {
                // SAFETY: `buffer` is pinned and holds the kvm_msr_list header plus `count` indices; nmsrs = count bounds
                // the kernel's writes (it writes only the header when the list does not fit).
                fixed (uint* p = buffer)
                    rc = Syscalls.Ioctl(h.Fd, request, p);
            }
            finally
            {
                _fd.Exit();
            }
            if (rc >= 0)
                return buffer.AsSpan(1, (int)Math.Min(buffer[0], count)).ToArray();
            if (rc != -(int)Errno.E2BIG)
                Fail.Ioctl(rc, name, request, KvmFdKind.System);
            count = buffer[0]; // the kernel wrote the number it needs
        }
        throw new KvmException(Errno.E2BIG, name, request, KvmFdKind.System, "the list kept growing between calls");
    }

    private static void RequireX86()
    {
        if (VmArchitectureInfo.Current != VmArchitecture.X86_64)
            throw new PlatformNotSupportedException("this call exists only on x86_64");
    }
}
