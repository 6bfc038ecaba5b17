using Kvm.Interop;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    private Arm64VcpuFeatures? _arm64Features;
    private bool _sveFinalized;

    /// <summary>arm64: the features this vCPU was initialised with through
    /// <see cref="InitArm64(Arm64VcpuFeatures)"/>; null before (or when the untyped overload was used).</summary>
    public Arm64VcpuFeatures? Arm64Features => _arm64Features;

    /// <summary>
    /// arm64: <c>KVM_ARM_PREFERRED_TARGET</c> on the VM, then <c>KVM_ARM_VCPU_INIT</c> with <paramref name="features"/>.
    /// Each feature is checked against its capability on the VM (<c>KVM_CAP_ARM_PSCI_0_2</c>, <c>KVM_CAP_ARM_PMU_V3</c>,
    /// <c>KVM_CAP_ARM_SVE</c>, <c>KVM_CAP_ARM_PTRAUTH_ADDRESS</c>/<c>_GENERIC</c>, <c>KVM_CAP_ARM_EL1_32BIT</c>,
    /// <c>KVM_CAP_ARM_EL2</c>) and the pointer-authentication pair rule before any ioctl. Calling it again with the
    /// same features resets the vCPU. Every vCPU of a VM must have the same features (<see cref="Arm64VcpuFeatures.PowerOff"/>
    /// aside): the first successful init fixes them for the VM (<see cref="VmFd.Arm64VcpuFeatures"/>), and a
    /// different set is refused here before the kernel's EINVAL.
    /// </summary>
    /// <exception cref="PlatformNotSupportedException">Not an arm64 VM.</exception>
    /// <exception cref="ArgumentException">A feature the VM lacks, a combination the kernel refuses, or features that
    /// differ from the VM's other vCPUs (each named).</exception>
    /// <exception cref="KvmException">The kernel refused: EINVAL (features differ from a previous init, or a target
    /// other than the preferred one), ENODEV (no preferred target: KVM has no vGIC/host support).</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void InitArm64(Arm64VcpuFeatures features)
    {
        if (Vm.Type.Architecture != VmArchitecture.Arm64)
            throw new PlatformNotSupportedException("KVM_ARM_VCPU_INIT exists only on arm64");
        if (Arm64VcpuFeatureRules.Refusal(features, Vm.Capabilities.Has) is { } why)
            Fail.Argument(nameof(features), why);
        var shared = features & ~Arm64VcpuFeatures.PowerOff;
        if (Vm.Arm64VcpuFeatures is { } vmFeatures && vmFeatures != shared)
            Fail.Argument(nameof(features), $"every vCPU of a VM has the same features (PowerOff aside): this VM's are {vmFeatures}, not {shared} (KVM_ARM_VCPU_INIT would answer EINVAL)");
        var init = Vm.Arm64PreferredTarget();
        init.features[0] = (uint)features;
        // SAFETY: `init` is a 32-byte stack local of kvm_vcpu_init; the kernel only reads it.
        IoctlOut(Interop.Arm64.ArchIoctls.KVM_ARM_VCPU_INIT.Value, Interop.Arm64.ArchIoctls.KVM_ARM_VCPU_INIT.Name, &init);
        _arm64Features = features;
        Vm.Arm64VcpuFeatures ??= shared;
    }

    /// <summary>arm64: <c>KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE)</c>: fixes the SVE vector lengths (set them first
    /// through the <c>KVM_REG_ARM64_SVE_VLS</c> register if the default is not wanted); an SVE vCPU runs, and its
    /// Z/P registers are accessible through ONE_REG, only after this.</summary>
    /// <exception cref="InvalidOperationException">The vCPU was not initialised with <see cref="Arm64VcpuFeatures.Sve"/>
    /// (the kernel answers EINVAL), or was already finalized (EPERM).</exception>
    /// <exception cref="KvmException">Any other refusal.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void FinalizeSve()
    {
        if (_arm64Features is not { } f || !f.HasFlag(Arm64VcpuFeatures.Sve))
            throw new InvalidOperationException("KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE) needs a vCPU initialised with Arm64VcpuFeatures.Sve (EINVAL otherwise)");
        if (_sveFinalized)
            throw new InvalidOperationException("SVE is already finalized on this vCPU (the kernel answers EPERM to a second KVM_ARM_VCPU_FINALIZE)");
        var what = Interop.Arm64.ArchConstants.KVM_ARM_VCPU_SVE;
        // SAFETY: `what` is a stack int; the kernel reads 4 bytes.
        IoctlOut(KvmIoctls.KVM_ARM_VCPU_FINALIZE.Value, KvmIoctls.KVM_ARM_VCPU_FINALIZE.Name, &what);
        _sveFinalized = true;
    }
}
