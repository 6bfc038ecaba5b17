using X86 = Kvm.Interop.X86_64.ArchConstants;

namespace Kvm;

/// <summary>x86 in-kernel interrupt controllers, as <c>kvm_irq_routing_irqchip.irqchip</c> names them
/// (<c>KVM_IRQCHIP_*</c> of asm/kvm.h).</summary>
public enum IrqchipKind : uint
{
    /// <summary><c>KVM_IRQCHIP_PIC_MASTER</c>: the first 8259, pins 0..7.</summary>
    PicMaster = X86.KVM_IRQCHIP_PIC_MASTER,
    /// <summary><c>KVM_IRQCHIP_PIC_SLAVE</c>: the second 8259, pins 0..7 (GSI 8..15 by default).</summary>
    PicSlave = X86.KVM_IRQCHIP_PIC_SLAVE,
    /// <summary><c>KVM_IRQCHIP_IOAPIC</c>: the IOAPIC, pins 0..<c>KVM_IOAPIC_NUM_PINS</c>-1 (23).</summary>
    Ioapic = X86.KVM_IRQCHIP_IOAPIC,
}

/// <summary><c>kvm_pit_config.flags</c> for <c>KVM_CREATE_PIT2</c>.</summary>
[Flags]
public enum PitConfigFlags : uint
{
    /// <summary>No flags: the PIT with the speaker port (0x61) emulated in userspace.</summary>
    None = 0,
    /// <summary><c>KVM_PIT_SPEAKER_DUMMY</c>: the kernel also claims port 0x61 with a dummy speaker.</summary>
    SpeakerDummy = Interop.KvmConstants.KVM_PIT_SPEAKER_DUMMY,
}
