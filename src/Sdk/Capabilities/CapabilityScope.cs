namespace Kvm;

/// <summary>Where a <c>KVM_CHECK_EXTENSION</c> answer came from.</summary>
public enum CapabilityScope
{
    /// <summary>Asked on <c>/dev/kvm</c>: what the kernel supports for some VM.</summary>
    System,
    /// <summary>Asked on the VM fd (<c>KVM_CAP_CHECK_EXTENSION_VM</c>): what this VM, with its type, supports.</summary>
    Vm,
    /// <summary>Asked on <c>/dev/kvm</c> on behalf of a VM, because the kernel lacks <c>KVM_CAP_CHECK_EXTENSION_VM</c>;
    /// per-VM answers (guest_memfd, attributes) may overstate what the VM supports.</summary>
    SystemFallback,
}
