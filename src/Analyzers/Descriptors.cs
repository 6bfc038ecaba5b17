using Microsoft.CodeAnalysis;

namespace Kvm.Analyzers;

/// <summary>The KVM1xxx (API misuse) and KVM2xxx (capability gating) descriptors. Each id has a page
/// docs/diagnostics/KVMnnnn.md, shipped in the package under docs/diagnostics; helpLinkUri is that page in the
/// repository (absolute, from the RepositoryUrl the analyzers were built with), or the relative path when none was known.</summary>
public static class Descriptors
{
    /// <summary>Where the help pages live: <c>{RepositoryUrl}/blob/HEAD/docs/diagnostics/</c>, or
    /// <c>docs/diagnostics/</c> when the build knew no public repository URL (see <see cref="HelpLinks"/>).</summary>
    public static string HelpBase { get; } = HelpLinks.BaseFor(typeof(Descriptors).Assembly);

    private const string Usage = "KvmUsage";
    private const string Gating = "KvmCapabilityGating";

    public const string PrivateThroughVmId = "KVM1001";
    public const string NoPrivateMemoryId = "KVM1002";
    public const string UnalignedId = "KVM1003";
    public const string RefusedFlagsId = "KVM1004";
    public const string MapWithoutMmapFlagId = "KVM1005";
    public const string UndisposedHandleId = "KVM1006";
    public const string CpuidAfterRunId = "KVM1007";
    public const string SetupAfterVcpuId = "KVM1008";
    public const string ZeroSizeId = "KVM1009";
    public const string UnobservedResultId = "KVM1010";
    public const string SystemScopeCapabilityId = "KVM1011";
    public const string InitSharedOnPrivateVmId = "KVM1012";
    public const string HostWriteToPrivateId = "KVM1014";
    public const string RawStructMisuseId = "KVM1015";
    public const string UncheckedCapabilityId = "KVM2001";

    public static readonly DiagnosticDescriptor PrivateThroughVm = Make(PrivateThroughVmId,
        "PRIVATE set through the VM while in-place guest_memfd conversion is enabled",
        "{0} sets KVM_MEMORY_ATTRIBUTE_PRIVATE through the VM ioctl KVM_SET_MEMORY_ATTRIBUTES, but {1}: the kernel rejects it with EINVAL; convert on the guest_memfd instead",
        Usage, DiagnosticSeverity.Error,
        "With in-place conversion (gmem_in_place_conversion=Y) shareability lives in the guest_memfd: KVM_CAP_MEMORY_ATTRIBUTES stops reporting PRIVATE and the VM ioctl refuses it.");

    public static readonly DiagnosticDescriptor NoPrivateMemory = Make(NoPrivateMemoryId,
        "Memory attributes on a VM type without private memory",
        "'{0}' is created as {1}, which has no private memory: KVM_SET_MEMORY_ATTRIBUTES with {2} fails with EINVAL (KVM_CAP_MEMORY_ATTRIBUTES is 0 there)",
        Usage, DiagnosticSeverity.Warning,
        "Only x86 KVM_X86_SW_PROTECTED_VM, KVM_X86_SNP_VM and KVM_X86_TDX_VM have private memory; the x86 default VM, SEV, SEV-ES and arm64 VM types do not.");

    public static readonly DiagnosticDescriptor Unaligned = Make(UnalignedId,
        "Address, size or offset is not page-aligned",
        "{0} is 0x{1:X}, not a multiple of the 4096-byte page: the SDK throws before the syscall (a raw ioctl gets EINVAL from the kernel)",
        Usage, DiagnosticSeverity.Error,
        "Memslot addresses and sizes, memory-attribute ranges and guest_memfd sizes, offsets and lengths must be multiples of PAGE_SIZE (4 KiB on x86_64; at least 4 KiB on arm64).");

    public static readonly DiagnosticDescriptor RefusedFlags = Make(RefusedFlagsId,
        "Flag combination the kernel refuses",
        "{0}",
        Usage, DiagnosticSeverity.Error,
        "guest_memfd slots cannot be KVM_MEM_READONLY or KVM_MEM_LOG_DIRTY_PAGES, and unknown guest_memfd or memslot flag bits are refused with EINVAL.");

    public static readonly DiagnosticDescriptor MapWithoutMmapFlag = Make(MapWithoutMmapFlagId,
        "Mapping a guest_memfd created without GUEST_MEMFD_FLAG_MMAP",
        "'{0}' is created without GUEST_MEMFD_FLAG_MMAP, so Map() fails (mmap answers ENODEV; the SDK throws InvalidOperationException)",
        Usage, DiagnosticSeverity.Warning,
        "Only a guest_memfd created with GUEST_MEMFD_FLAG_MMAP (Linux 6.18+) can be mapped by the host.");

    public static readonly DiagnosticDescriptor UndisposedHandle = Make(UndisposedHandleId,
        "KVM handle is neither disposed nor handed on",
        "The {0} created here is neither disposed nor handed on: its {1} stays open until the finalizer runs",
        Usage, DiagnosticSeverity.Warning,
        "KvmSystem, VmFd, VcpuFd, GmemFd and host mappings own kernel fds or mappings; dispose them (using) or hand them on (return, store, pass).");

    public static readonly DiagnosticDescriptor CpuidAfterRun = Make(CpuidAfterRunId,
        "CPUID set after the vCPU ran",
        "SetCpuid2 on '{0}' can follow its Run() in this method: the kernel refuses a changed CPUID after the first KVM_RUN (KVM_SET_CPUID2 answers EINVAL unless the table is identical); set CPUID before running",
        Usage, DiagnosticSeverity.Warning,
        "Since Linux 5.16 KVM_SET_CPUID2 after a vCPU's first KVM_RUN is accepted only with the table the kernel already holds. Set the CPUID model before the first Run; after it, only vcpu.SetCpuid2(vcpu.GetCpuid2()) is accepted.");

    public static readonly DiagnosticDescriptor SetupAfterVcpu = Make(SetupAfterVcpuId,
        "VM setup after the VM's first vCPU",
        "{0} on '{1}' can follow its CreateVcpu() in this method: {2}; do it before creating vCPUs",
        Usage, DiagnosticSeverity.Warning,
        "The in-kernel irqchip (full or split), the identity-map address and disabled exits are VM-wide settings the kernel accepts only while the VM has no vCPU; disposing the vCPU does not reopen the window.");

    public static readonly DiagnosticDescriptor ZeroSize = Make(ZeroSizeId,
        "Zero size or length",
        "{0} is 0 here: {1}",
        Usage, DiagnosticSeverity.Error,
        "guest_memfd sizes, memory-attribute ranges, fallocate lengths, conversion ranges and host allocations must be non-zero; a zero memory_size in a memslot deletes the slot instead of creating it.");

    public static readonly DiagnosticDescriptor UnobservedResult = Make(UnobservedResultId,
        "Result of a Try member or raw ioctl is not observed",
        "The result of {0} is dropped: a refusal ({1}) goes unnoticed and the code after it runs as if the call had succeeded",
        Usage, DiagnosticSeverity.Warning,
        "Try* members return the kernel's refusal as a KvmResult and raw Sys.Ioctl returns -1 with errno; both mean nothing unless the caller looks. Check IsSuccess / the return value, or call the throwing member.");

    public static readonly DiagnosticDescriptor SystemScopeCapability = Make(SystemScopeCapabilityId,
        "Per-VM capability asked on /dev/kvm",
        "{0} is asked on the /dev/kvm fd (KvmSystem.Capabilities), but its answer depends on the VM type: ask vm.Capabilities (KVM_CHECK_EXTENSION on the VM fd)",
        Usage, DiagnosticSeverity.Warning,
        "KVM_CAP_GUEST_MEMFD, KVM_CAP_GUEST_MEMFD_FLAGS and KVM_CAP_MEMORY_ATTRIBUTES answer for a VM type; on /dev/kvm the kernel answers for the default VM type (or 0), so the system-scope answer can be wrong for the VM you create (Linux 6.8-6.17 notably).");

    public static readonly DiagnosticDescriptor InitSharedOnPrivateVm = Make(InitSharedOnPrivateVmId,
        "GUEST_MEMFD_FLAG_INIT_SHARED on a VM type with private memory",
        "'{0}' is created as {1}, which has private memory: without in-place conversion KVM_CREATE_GUEST_MEMFD refuses GUEST_MEMFD_FLAG_INIT_SHARED with EINVAL (it is not in KVM_CAP_GUEST_MEMFD_FLAGS there)",
        Usage, DiagnosticSeverity.Warning,
        "On SW_PROTECTED, SNP and TDX VMs guest_memfd pages start private and only in-place conversion (gmem_in_place_conversion) lets them start shared; set KvmInPlaceConversion=true when the project targets such kernels.");

    public static readonly DiagnosticDescriptor HostWriteToPrivate = Make(HostWriteToPrivateId,
        "Host access through the mapping of a guest_memfd whose pages start private",
        "'{0}' maps a guest_memfd created with GUEST_MEMFD_FLAG_MMAP but without GUEST_MEMFD_FLAG_INIT_SHARED: its pages start private, so {1} faults (SIGBUS; the SDK throws InvalidOperationException); create it with INIT_SHARED or convert the range to shared first",
        Usage, DiagnosticSeverity.Warning,
        "A host mapping of guest_memfd can only touch shared pages. Without GUEST_MEMFD_FLAG_INIT_SHARED every page starts private.");

    public static readonly DiagnosticDescriptor RawStructMisuse = Make(RawStructMisuseId,
        "Raw uAPI struct filled in a way the kernel refuses",
        "{0}",
        Usage, DiagnosticSeverity.Error,
        "kvm_memory_attributes.flags must be 0 (EINVAL otherwise); guest_memfd and guest_memfd_offset of kvm_userspace_memory_region2 are read only with KVM_MEM_GUEST_MEMFD in flags, so setting them without it is a slot that silently ignores the guest_memfd.");

    public static readonly DiagnosticDescriptor UncheckedCapability = Make(UncheckedCapabilityId,
        "Capability-gated ioctl without a capability check",
        "{0} needs {1}, but this method issues it through the raw ioctl without checking KVM_CHECK_EXTENSION({1}); kernels without it answer {2}",
        Gating, DiagnosticSeverity.Warning,
        "The typed SDK exposes gated features only as objects that exist after the kernel said yes; the raw Sys.Ioctl escape hatch cannot, so check the capability in the same method (or use the SDK feature).");

    private static DiagnosticDescriptor Make(string id, string title, string message, string category, DiagnosticSeverity severity, string description) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, description: description, helpLinkUri: HelpBase + id + ".md");
}
