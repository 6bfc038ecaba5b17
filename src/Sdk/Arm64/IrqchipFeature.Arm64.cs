namespace Kvm;

public sealed partial class IrqchipFeature
{
    /// <summary>arm64: drives an SPI or a PPI of the in-kernel vGIC through <c>KVM_IRQ_LINE</c> (the arm64 encoding of
    /// <see cref="Arm64IrqLine"/>). Level-sensitive lines stay pending while high; edge-sensitive ones latch on the
    /// rising edge.</summary>
    /// <exception cref="ArgumentException">A PPI for a vCPU index above 255 without <c>KVM_CAP_ARM_IRQ_LINE_LAYOUT_2</c>.</exception>
    /// <exception cref="KvmException">ENXIO: no vGIC, or not yet initialised for a PPI; EINVAL: an INTID beyond the
    /// vGIC's line count, or no such vCPU.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public int? SetArm64IrqLine(Arm64IrqLine line, bool level)
    {
        if (line.VcpuIndex > 255 && !SupportsIrqLineLayout2)
            Fail.Argument(nameof(line), "a PPI for a vCPU index above 255 needs KVM_CAP_ARM_IRQ_LINE_LAYOUT_2, which this VM does not report");
        return SetIrqLine(line.Encoded, level);
    }

    /// <summary><c>KVM_CAP_ARM_IRQ_LINE_LAYOUT_2</c>: <see cref="Arm64IrqLine"/> may target vCPU indices up to 4095.</summary>
    public bool SupportsIrqLineLayout2 => _vm.Capabilities.Has(Interop.KvmCap.KVM_CAP_ARM_IRQ_LINE_LAYOUT_2);
}
