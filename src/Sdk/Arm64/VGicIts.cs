using A = Kvm.Interop.Arm64.ArchConstants;

namespace Kvm;

/// <summary>
/// A GICv3 Interrupt Translation Service (<c>KVM_DEV_TYPE_ARM_VGIC_ITS</c>), which turns MSIs (<c>KVM_SIGNAL_MSI</c>
/// with a device id, <c>KVM_CAP_MSI_DEVID</c>) into LPIs. Created where the kernel offers it
/// (<see cref="DeviceFeature.IsSupported"/>), after the VM's <see cref="VGicV3"/>.
/// </summary>
public sealed class VGicIts : IDisposable
{
    /// <summary>The ITS frame size (<c>KVM_VGIC_V3_ITS_SIZE</c>, 2 × 64 KiB).</summary>
    public const ulong Size = 0x20000;

    private VGicIts(DeviceFd device, ulong baseGpa)
    {
        Device = device;
        Base = baseGpa;
    }

    /// <summary>The device fd.</summary>
    public DeviceFd Device { get; }

    /// <summary>The ITS frame's guest-physical base.</summary>
    public ulong Base { get; }

    /// <summary><c>KVM_CREATE_DEVICE(KVM_DEV_TYPE_ARM_VGIC_ITS)</c>, its base (<c>KVM_VGIC_ITS_ADDR_TYPE</c>) and
    /// <c>KVM_DEV_ARM_VGIC_CTRL_INIT</c>.</summary>
    /// <exception cref="ArgumentException"><paramref name="baseGpa"/> is not 64 KiB aligned (EINVAL).</exception>
    /// <exception cref="NotSupportedException">The VM has no device control.</exception>
    /// <exception cref="KvmException">ENODEV: no ITS emulation (or no vGICv3 yet); E2BIG: beyond the IPA size.</exception>
    public static VGicIts Create(VmFd vm, ulong baseGpa)
    {
        ArgumentNullException.ThrowIfNull(vm);
        if (baseGpa % 0x10000 != 0)
            Fail.Argument(nameof(baseGpa), $"the ITS base must be 64 KiB aligned (got 0x{baseGpa:x}; the kernel answers EINVAL)");
        var devices = vm.Devices ?? throw new NotSupportedException("creating an ITS needs KVM_CAP_DEVICE_CTRL, which this VM reports as 0");
        var device = devices.Create(KvmDeviceType.ArmVgicIts);
        try
        {
            device.SetAttribute(A.KVM_DEV_ARM_VGIC_GRP_ADDR, A.KVM_VGIC_ITS_ADDR_TYPE, baseGpa);
            device.SetAttribute(A.KVM_DEV_ARM_VGIC_GRP_CTRL, A.KVM_DEV_ARM_VGIC_CTRL_INIT);
        }
        catch
        {
            device.Dispose();
            throw;
        }
        return new VGicIts(device, baseGpa);
    }

    /// <summary>Closes the device fd (the ITS lives as long as the VM).</summary>
    public void Dispose() => Device.Dispose();
}
