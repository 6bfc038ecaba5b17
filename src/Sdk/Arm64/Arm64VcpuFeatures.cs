using Kvm.Interop;
using A = Kvm.Interop.Arm64.ArchConstants;

namespace Kvm;

/// <summary>
/// arm64 vCPU features for <c>KVM_ARM_VCPU_INIT</c> (<c>struct kvm_vcpu_init.features</c>, bit numbers
/// <c>KVM_ARM_VCPU_*</c>). <see cref="VcpuFd.InitArm64(Arm64VcpuFeatures)"/> checks each against the capability
/// the kernel reports for it before the ioctl (the kernel would answer a bare EINVAL).
/// </summary>
[Flags]
public enum Arm64VcpuFeatures : uint
{
    /// <summary>No optional feature (PSCI 0.1 calls, no PMU, no SVE).</summary>
    None = 0,
    /// <summary><c>KVM_ARM_VCPU_POWER_OFF</c>: the vCPU starts powered off, until a PSCI CPU_ON from another vCPU.
    /// Always available.</summary>
    PowerOff = 1u << A.KVM_ARM_VCPU_POWER_OFF,
    /// <summary><c>KVM_ARM_VCPU_EL1_32BIT</c>: AArch32 at EL1; needs <c>KVM_CAP_ARM_EL1_32BIT</c>.</summary>
    El1Aarch32 = 1u << A.KVM_ARM_VCPU_EL1_32BIT,
    /// <summary><c>KVM_ARM_VCPU_PSCI_0_2</c>: PSCI 0.2 and later (SYSTEM_OFF, SYSTEM_RESET, CPU_ON by MPIDR);
    /// needs <c>KVM_CAP_ARM_PSCI_0_2</c>.</summary>
    Psci02 = 1u << A.KVM_ARM_VCPU_PSCI_0_2,
    /// <summary><c>KVM_ARM_VCPU_PMU_V3</c>: a PMUv3 (set its interrupt and initialise it through the vCPU's
    /// <c>KVM_ARM_VCPU_PMU_V3_CTRL</c> attributes before the first run); needs <c>KVM_CAP_ARM_PMU_V3</c>.</summary>
    PmuV3 = 1u << A.KVM_ARM_VCPU_PMU_V3,
    /// <summary><c>KVM_ARM_VCPU_SVE</c>: SVE; the vCPU runs only after <see cref="VcpuFd.FinalizeSve"/>
    /// (<c>KVM_ARM_VCPU_FINALIZE</c>); needs <c>KVM_CAP_ARM_SVE</c>.</summary>
    Sve = 1u << A.KVM_ARM_VCPU_SVE,
    /// <summary><c>KVM_ARM_VCPU_PTRAUTH_ADDRESS</c>: address authentication; needs
    /// <c>KVM_CAP_ARM_PTRAUTH_ADDRESS</c> and must come with <see cref="PtrAuthGeneric"/>.</summary>
    PtrAuthAddress = 1u << A.KVM_ARM_VCPU_PTRAUTH_ADDRESS,
    /// <summary><c>KVM_ARM_VCPU_PTRAUTH_GENERIC</c>: generic authentication; needs
    /// <c>KVM_CAP_ARM_PTRAUTH_GENERIC</c> and must come with <see cref="PtrAuthAddress"/>.</summary>
    PtrAuthGeneric = 1u << A.KVM_ARM_VCPU_PTRAUTH_GENERIC,
    /// <summary><c>KVM_ARM_VCPU_HAS_EL2</c>: nested virtualisation (the guest starts at EL2); needs
    /// <c>KVM_CAP_ARM_EL2</c>.</summary>
    HasEl2 = 1u << A.KVM_ARM_VCPU_HAS_EL2,
}

/// <summary>The capability behind each <see cref="Arm64VcpuFeatures"/> bit, and the combination rules the kernel
/// enforces with EINVAL.</summary>
internal static class Arm64VcpuFeatureRules
{
    private static readonly (Arm64VcpuFeatures Feature, KvmCap Cap)[] Gates =
    [
        (Arm64VcpuFeatures.El1Aarch32, KvmCap.KVM_CAP_ARM_EL1_32BIT),
        (Arm64VcpuFeatures.Psci02, KvmCap.KVM_CAP_ARM_PSCI_0_2),
        (Arm64VcpuFeatures.PmuV3, KvmCap.KVM_CAP_ARM_PMU_V3),
        (Arm64VcpuFeatures.Sve, KvmCap.KVM_CAP_ARM_SVE),
        (Arm64VcpuFeatures.PtrAuthAddress, KvmCap.KVM_CAP_ARM_PTRAUTH_ADDRESS),
        (Arm64VcpuFeatures.PtrAuthGeneric, KvmCap.KVM_CAP_ARM_PTRAUTH_GENERIC),
        (Arm64VcpuFeatures.HasEl2, KvmCap.KVM_CAP_ARM_EL2),
    ];

    private const Arm64VcpuFeatures Known = Arm64VcpuFeatures.PowerOff | Arm64VcpuFeatures.El1Aarch32 |
        Arm64VcpuFeatures.Psci02 | Arm64VcpuFeatures.PmuV3 | Arm64VcpuFeatures.Sve | Arm64VcpuFeatures.PtrAuthAddress |
        Arm64VcpuFeatures.PtrAuthGeneric | Arm64VcpuFeatures.HasEl2;

    private const Arm64VcpuFeatures PtrAuth = Arm64VcpuFeatures.PtrAuthAddress | Arm64VcpuFeatures.PtrAuthGeneric;

    /// <summary>Why the VM cannot take <paramref name="features"/>, or null. Reads capabilities on the VM fd.</summary>
    public static string? Refusal(Arm64VcpuFeatures features, Func<KvmCap, bool> has)
    {
        if ((features & ~Known) != 0)
            return $"unknown arm64 vCPU feature bits 0x{(uint)(features & ~Known):x}";
        if ((features & PtrAuth) is var p && p != 0 && p != PtrAuth)
            return "pointer authentication takes both KVM_ARM_VCPU_PTRAUTH_ADDRESS and KVM_ARM_VCPU_PTRAUTH_GENERIC, or neither (EINVAL)";
        if (features.HasFlag(Arm64VcpuFeatures.El1Aarch32) && (features & (Arm64VcpuFeatures.Sve | PtrAuth | Arm64VcpuFeatures.HasEl2)) != 0)
            return "an AArch32 EL1 vCPU has no SVE, pointer authentication or EL2 (EINVAL)";
        foreach (var (feature, cap) in Gates)
            if (features.HasFlag(feature) && !has(cap))
                return $"vCPU feature {feature} needs {cap}, which this VM reports as 0 (KVM_ARM_VCPU_INIT would answer EINVAL)";
        return null;
    }
}
