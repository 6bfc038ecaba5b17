using Kvm.Interop;

namespace Kvm;

public sealed partial class VmFd
{
    /// <summary>arm64: the vCPU features (<see cref="Arm64VcpuFeatures.PowerOff"/> aside) the VM's first
    /// <see cref="VcpuFd.InitArm64(Arm64VcpuFeatures)"/> fixed for all its vCPUs; null before. No ioctl.</summary>
    public Arm64VcpuFeatures? Arm64VcpuFeatures { get; internal set; }

    /// <summary>arm64: <c>KVM_ARM_PREFERRED_TARGET</c>: the <c>struct kvm_vcpu_init</c> the kernel prefers for this
    /// host (its <c>target</c> set, no features). No capability gates it on arm64.</summary>
    /// <exception cref="PlatformNotSupportedException">Not an arm64 VM.</exception>
    /// <exception cref="KvmException">ENODEV: the host CPU has no KVM target.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public unsafe Interop.Arm64.kvm_vcpu_init Arm64PreferredTarget()
    {
        if (Type.Architecture != VmArchitecture.Arm64)
            throw new PlatformNotSupportedException("KVM_ARM_PREFERRED_TARGET exists only on arm64");
        Interop.Arm64.kvm_vcpu_init init = default;
        // SAFETY: `init` is a 32-byte stack local of kvm_vcpu_init; the kernel writes it whole.
        var rc = VmIoctl(Interop.Arm64.ArchIoctls.KVM_ARM_PREFERRED_TARGET.Value, &init);
        if (rc < 0)
            Fail.Ioctl(rc, Interop.Arm64.ArchIoctls.KVM_ARM_PREFERRED_TARGET.Name, Interop.Arm64.ArchIoctls.KVM_ARM_PREFERRED_TARGET.Value, KvmFdKind.Vm);
        return init;
    }
}
