using Kvm.Interop;
using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    // lapic_in_kernel() is false when the vCPU was created without an irqchip; the kernel then answers EINVAL.
    private const string NoInKernelLapic = "this vCPU has no in-kernel local APIC: create the irqchip (KVM_CREATE_IRQCHIP, or "
        + "VmFd.EnableSplitIrqchip) before the vCPU";

    /// <summary>x86: <c>KVM_GET_LAPIC</c>: the local APIC's 1 KiB register page (<c>KVM_APIC_REG_SIZE</c>). Needs an
    /// in-kernel irqchip (full or split) created before this vCPU; without one the kernel answers EINVAL (6.18; ENXIO is
    /// treated alike), reported with that cause.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">EINVAL/ENXIO: no in-kernel local APIC.</exception>
    public kvm_lapic_state GetLapic()
    {
        RequireX86();
        kvm_lapic_state lapic;
        // SAFETY: `lapic` is a 1024-byte stack local, the size KVM_GET_LAPIC encodes; the kernel fills it.
        LapicIoctl(ArchIoctls.KVM_GET_LAPIC.Value, ArchIoctls.KVM_GET_LAPIC.Name, &lapic);
        return lapic;
    }

    /// <summary>x86: <c>KVM_SET_LAPIC</c>. Needs an in-kernel local APIC as <see cref="GetLapic"/>. In x2APIC mode the
    /// APIC ID register must match the vCPU id (EINVAL otherwise, unless <c>KVM_CAP_X2APIC_API</c> says so).</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">EINVAL/ENXIO: no in-kernel local APIC, or an APIC ID the mode forbids.</exception>
    public void SetLapic(in kvm_lapic_state lapic)
    {
        RequireX86();
        // SAFETY: `lapic` is pinned; the kernel reads the 1024 bytes KVM_SET_LAPIC encodes.
        fixed (kvm_lapic_state* p = &lapic)
            LapicIoctl(ArchIoctls.KVM_SET_LAPIC.Value, ArchIoctls.KVM_SET_LAPIC.Name, p);
    }

    private void LapicIoctl(nuint request, string name, void* arg)
    {
        // SAFETY: forwarded; callers pass a 1024-byte kvm_lapic_state.
        var rc = IoctlRc(request, arg);
        if (rc < 0)
            Fail.Ioctl(rc, name, request, KvmFdKind.Vcpu,
                (Errno)(-rc) is Errno.EINVAL or Errno.ENXIO ? NoInKernelLapic + " (or the kernel refused the register values)" : null);
    }
}
