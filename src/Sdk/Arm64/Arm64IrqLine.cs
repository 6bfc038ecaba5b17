using A = Kvm.Interop.Arm64.ArchConstants;

namespace Kvm;

/// <summary>
/// The <c>irq</c> field of <c>KVM_IRQ_LINE</c> on arm64 with an in-kernel vGIC: bits 27:24 the type
/// (<c>KVM_ARM_IRQ_TYPE_SPI</c> or <c>_PPI</c>), bits 23:16 the target vCPU index (PPIs only; bits 31:28 extend it
/// with <c>KVM_CAP_ARM_IRQ_LINE_LAYOUT_2</c>), bits 15:0 the GIC INTID. Built only through <see cref="Spi"/> and
/// <see cref="Ppi"/>, which check the ranges.
/// </summary>
public readonly record struct Arm64IrqLine
{
    private Arm64IrqLine(uint encoded) => Encoded = encoded;

    /// <summary>The value for <c>struct kvm_irq_level.irq</c>.</summary>
    public uint Encoded { get; }

    /// <summary>A shared peripheral interrupt: GIC INTID 32..1019 (the VM's vGIC must have that many lines).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not 32..1019.</exception>
    public static Arm64IrqLine Spi(int intid)
    {
        if (intid is < 32 or > 1019)
            Fail.Range(nameof(intid), intid, "an arm64 shared peripheral interrupt (SPI) is INTID 32..1019");
        return new(((uint)A.KVM_ARM_IRQ_TYPE_SPI << A.KVM_ARM_IRQ_TYPE_SHIFT) | (uint)intid);
    }

    /// <summary>A private peripheral interrupt of one vCPU: INTID 16..31 on vCPU <paramref name="vcpuIndex"/>
    /// (0..255; up to 4095 where <c>KVM_CAP_ARM_IRQ_LINE_LAYOUT_2</c> is reported).</summary>
    /// <exception cref="ArgumentOutOfRangeException">INTID not 16..31 or vCPU index not 0..4095.</exception>
    public static Arm64IrqLine Ppi(int vcpuIndex, int intid)
    {
        if (intid is < 16 or > 31)
            Fail.Range(nameof(intid), intid, "an arm64 private peripheral interrupt (PPI) is INTID 16..31");
        if (vcpuIndex is < 0 or > 4095)
            Fail.Range(nameof(vcpuIndex), vcpuIndex, "the KVM_IRQ_LINE vCPU index is 0..255 (0..4095 with KVM_CAP_ARM_IRQ_LINE_LAYOUT_2)");
        var low = (uint)vcpuIndex & (uint)A.KVM_ARM_IRQ_VCPU_MASK;
        var high = ((uint)vcpuIndex >> 8) & (uint)A.KVM_ARM_IRQ_VCPU2_MASK;
        return new(((uint)A.KVM_ARM_IRQ_TYPE_PPI << A.KVM_ARM_IRQ_TYPE_SHIFT) | (low << A.KVM_ARM_IRQ_VCPU_SHIFT) |
                   (high << A.KVM_ARM_IRQ_VCPU2_SHIFT) | (uint)intid);
    }

    /// <summary>The target vCPU index of a PPI (0 for an SPI).</summary>
    public int VcpuIndex => (int)(((Encoded >> A.KVM_ARM_IRQ_VCPU_SHIFT) & (uint)A.KVM_ARM_IRQ_VCPU_MASK) |
                                  (((Encoded >> A.KVM_ARM_IRQ_VCPU2_SHIFT) & (uint)A.KVM_ARM_IRQ_VCPU2_MASK) << 8));

    /// <summary>The GIC INTID.</summary>
    public int Intid => (int)(Encoded & (uint)A.KVM_ARM_IRQ_NUM_MASK);

    /// <inheritdoc />
    public override string ToString() => Intid >= 32 ? $"SPI {Intid}" : $"PPI {Intid} of vCPU {VcpuIndex}";
}
