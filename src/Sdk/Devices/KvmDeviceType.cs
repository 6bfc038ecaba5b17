using C = Kvm.Interop.KvmConstants;

namespace Kvm;

/// <summary><c>kvm_create_device.type</c>: the <c>KVM_DEV_TYPE_*</c> values of linux/kvm.h (enum kvm_device_type)
/// for x86_64 and arm64. Other values can be cast from the generated <c>KvmConstants.KVM_DEV_TYPE_*</c>.</summary>
public enum KvmDeviceType : uint
{
    /// <summary><c>KVM_DEV_TYPE_VFIO</c>: the KVM–VFIO bridge (x86 and arm64; present when KVM was built with VFIO).</summary>
    Vfio = C.KVM_DEV_TYPE_VFIO,
    /// <summary><c>KVM_DEV_TYPE_ARM_VGIC_V2</c>: arm64 GICv2.</summary>
    ArmVgicV2 = C.KVM_DEV_TYPE_ARM_VGIC_V2,
    /// <summary><c>KVM_DEV_TYPE_ARM_VGIC_V3</c>: arm64 GICv3.</summary>
    ArmVgicV3 = C.KVM_DEV_TYPE_ARM_VGIC_V3,
    /// <summary><c>KVM_DEV_TYPE_ARM_VGIC_ITS</c>: arm64 GICv3 ITS.</summary>
    ArmVgicIts = C.KVM_DEV_TYPE_ARM_VGIC_ITS,
    /// <summary><c>KVM_DEV_TYPE_ARM_PV_TIME</c>: arm64 stolen-time.</summary>
    ArmPvTime = C.KVM_DEV_TYPE_ARM_PV_TIME,
    /// <summary><c>KVM_DEV_TYPE_ARM_VGIC_V5</c>: arm64 GICv5 (7.x headers).</summary>
    ArmVgicV5 = C.KVM_DEV_TYPE_ARM_VGIC_V5,
}
