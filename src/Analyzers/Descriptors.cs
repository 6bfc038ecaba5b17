using Microsoft.CodeAnalysis;

namespace Kvm.Analyzers;

/// <summary>The KVM1xxx (API misuse) and KVM2xxx (capability gating) descriptors. Each id has a page
/// docs/diagnostics/KVMnnnn.md; helpLinkUri uses the same relative form as the generator's KVM0xxx descriptors.</summary>
public static class Descriptors
{
    public const string HelpBase = "docs/diagnostics/";
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
        "{0} is 0x{1:X}, not a multiple of the 4096-byte page: the kernel answers EINVAL",
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

    public static readonly DiagnosticDescriptor UncheckedCapability = Make(UncheckedCapabilityId,
        "Capability-gated ioctl without a capability check",
        "{0} needs {1}, but this method issues it through the raw ioctl without checking KVM_CHECK_EXTENSION({1}); kernels without it answer {2}",
        Gating, DiagnosticSeverity.Warning,
        "The typed SDK exposes gated features only as objects that exist after the kernel said yes; the raw Sys.Ioctl escape hatch cannot, so check the capability in the same method (or use the SDK feature).");

    private static DiagnosticDescriptor Make(string id, string title, string message, string category, DiagnosticSeverity severity, string description) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, description: description, helpLinkUri: HelpBase + id + ".md");
}
