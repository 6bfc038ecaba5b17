using Kvm.Interop;
using A = Kvm.Interop.Arm64.ArchConstants;

namespace Kvm;

/// <summary>The arm64 per-vCPU timers whose interrupt number the VMM may choose (<c>KVM_ARM_VCPU_TIMER_CTRL</c>).</summary>
public enum Arm64Timer
{
    /// <summary>The EL1 virtual timer (<c>KVM_ARM_VCPU_TIMER_IRQ_VTIMER</c>, PPI 27 by default).</summary>
    Virtual = A.KVM_ARM_VCPU_TIMER_IRQ_VTIMER,
    /// <summary>The EL1 physical timer (<c>KVM_ARM_VCPU_TIMER_IRQ_PTIMER</c>, PPI 30 by default).</summary>
    Physical = A.KVM_ARM_VCPU_TIMER_IRQ_PTIMER,
}

public sealed unsafe partial class VcpuFd
{
    /// <summary><c>KVM_HAS_DEVICE_ATTR</c> on the vCPU fd (arm64: the PMU, timer and PV-time groups). ENXIO → false.</summary>
    /// <exception cref="KvmException">Any other refusal.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public bool HasAttribute(uint group, ulong attribute)
    {
        var attr = new kvm_device_attr { group = group, attr = attribute };
        // SAFETY: `attr` is a stack local with addr 0; HAS reads only group and attr.
        var rc = VcpuIoctl(KvmIoctls.KVM_HAS_DEVICE_ATTR.Value, &attr);
        if (rc == -(int)Errno.ENXIO)
            return false;
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_HAS_DEVICE_ATTR.Name, KvmIoctls.KVM_HAS_DEVICE_ATTR.Value, KvmFdKind.Vcpu, $"group {group}, attribute {attribute}");
        return true;
    }

    /// <summary><c>KVM_SET_DEVICE_ATTR</c> on the vCPU fd with a value of the attribute's size (e.g. an <c>int</c>
    /// interrupt number).</summary>
    /// <exception cref="KvmException">ENXIO: no such attribute (or the feature is off for this vCPU); EINVAL: a value
    /// the attribute refuses; EBUSY: already set, or the vCPU has run; ENODEV: a PMU without an in-kernel vGIC.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void SetAttribute<T>(uint group, ulong attribute, in T value) where T : unmanaged
    {
        // SAFETY: `value` is pinned for the call; the kernel reads the attribute's size at addr, which T matches.
        fixed (T* p = &value)
            SetAttributeCore(group, attribute, (ulong)p);
    }

    /// <summary><c>KVM_SET_DEVICE_ATTR</c> on the vCPU fd of an attribute without a value (a command such as
    /// <c>KVM_ARM_VCPU_PMU_V3_INIT</c>).</summary>
    /// <inheritdoc cref="SetAttribute{T}" path="/exception"/>
    public void SetAttribute(uint group, ulong attribute) => SetAttributeCore(group, attribute, 0);

    /// <summary><c>KVM_GET_DEVICE_ATTR</c> on the vCPU fd into a value of the attribute's size.</summary>
    /// <exception cref="KvmException">ENXIO: no such attribute; ENODEV / EINVAL: the attribute is not configured yet.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public T GetAttribute<T>(uint group, ulong attribute) where T : unmanaged
    {
        T value = default;
        var attr = new kvm_device_attr { group = group, attr = attribute, addr = (ulong)&value };
        // SAFETY: `attr` and `value` are stack locals; the kernel writes the attribute's size at addr (T's size).
        var rc = VcpuIoctl(KvmIoctls.KVM_GET_DEVICE_ATTR.Value, &attr);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_GET_DEVICE_ATTR.Name, KvmIoctls.KVM_GET_DEVICE_ATTR.Value, KvmFdKind.Vcpu, $"group {group}, attribute {attribute}");
        return value;
    }

    /// <summary>arm64: the PPI (16..31) a per-vCPU timer raises (<c>KVM_ARM_VCPU_TIMER_CTRL</c>; every vCPU of the VM
    /// must agree, and it is fixed once a vCPU ran).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ppi"/> is not 16..31 (the kernel: EINVAL).</exception>
    /// <exception cref="KvmException">EBUSY: a vCPU of the VM already ran; EINVAL: the PPI is another timer's.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void SetArm64TimerIrq(Arm64Timer timer, int ppi)
    {
        RequirePpi(ppi, nameof(ppi));
        SetAttribute(A.KVM_ARM_VCPU_TIMER_CTRL, (ulong)timer, ppi);
    }

    /// <summary>arm64: the PPI a per-vCPU timer raises now (<c>KVM_ARM_VCPU_TIMER_CTRL</c>).</summary>
    /// <exception cref="KvmException">ENXIO: not an arm64 vCPU with timer attributes.</exception>
    public int GetArm64TimerIrq(Arm64Timer timer) => GetAttribute<int>(A.KVM_ARM_VCPU_TIMER_CTRL, (ulong)timer);

    /// <summary>arm64: the PMU overflow PPI (<c>KVM_ARM_VCPU_PMU_V3_IRQ</c>), then <c>KVM_ARM_VCPU_PMU_V3_INIT</c>.
    /// Needs a vCPU initialised with <see cref="Arm64VcpuFeatures.PmuV3"/> and the VM's vGIC created (and
    /// initialised for the INIT step: the kernel checks the interrupt is valid there).</summary>
    /// <exception cref="InvalidOperationException">The vCPU was not initialised with PmuV3 (the kernel: ENODEV).</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="ppi"/> is not 16..31.</exception>
    /// <exception cref="KvmException">ENODEV: no in-kernel vGIC; EBUSY: already set or initialised; EINVAL: the
    /// PPI differs from another vCPU's.</exception>
    public void InitArm64Pmu(int ppi)
    {
        if (_arm64Features is not { } f || !f.HasFlag(Arm64VcpuFeatures.PmuV3))
            throw new InvalidOperationException("the PMU attributes need a vCPU initialised with Arm64VcpuFeatures.PmuV3 (ENODEV otherwise)");
        RequirePpi(ppi, nameof(ppi));
        SetAttribute(A.KVM_ARM_VCPU_PMU_V3_CTRL, A.KVM_ARM_VCPU_PMU_V3_IRQ, ppi);
        SetAttribute(A.KVM_ARM_VCPU_PMU_V3_CTRL, A.KVM_ARM_VCPU_PMU_V3_INIT);
    }

    private void SetAttributeCore(uint group, ulong attribute, ulong address)
    {
        var attr = new kvm_device_attr { group = group, attr = attribute, addr = address };
        // SAFETY: `attr` is a stack local; `address` is 0 or points at a value the caller pinned for this call.
        var rc = VcpuIoctl(KvmIoctls.KVM_SET_DEVICE_ATTR.Value, &attr);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_SET_DEVICE_ATTR.Name, KvmIoctls.KVM_SET_DEVICE_ATTR.Value, KvmFdKind.Vcpu, $"group {group}, attribute {attribute}");
    }

    private static void RequirePpi(int ppi, string paramName)
    {
        if (ppi is < 16 or > 31)
            Fail.Range(paramName, ppi, "an arm64 private peripheral interrupt (PPI) is INTID 16..31");
    }
}
