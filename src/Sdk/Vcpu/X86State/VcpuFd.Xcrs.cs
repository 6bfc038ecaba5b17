using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>x86: <c>KVM_GET_XCRS</c> (<c>KVM_CAP_XCRS</c>): the extended control registers (XCR0).</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_XCRS</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed (EINVAL for a guest with protected state).</exception>
    public kvm_xcrs GetXcrs()
    {
        RequireX86Cap(X86Cap.Xcrs, ArchIoctls.KVM_GET_XCRS.Name);
        kvm_xcrs xcrs;
        // SAFETY: `xcrs` is a stack local of the 392-byte layout KVM_GET_XCRS encodes; the kernel fills it.
        IoctlOut(ArchIoctls.KVM_GET_XCRS.Value, ArchIoctls.KVM_GET_XCRS.Name, &xcrs);
        return xcrs;
    }

    /// <summary>x86: <c>KVM_SET_XCRS</c> (<c>KVM_CAP_XCRS</c>). The kernel accepts XCR0 only for features the guest's
    /// CPUID (leaf 0xD) offers, so set CPUID first.</summary>
    /// <exception cref="ArgumentException"><c>nr_xcrs</c> above <c>KVM_MAX_XCRS</c>, non-zero <c>flags</c>, or an XCR0
    /// without its x87 bit (bit 0), which the architecture requires.</exception>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_XCRS</c>.</exception>
    /// <exception cref="KvmException">EINVAL: XCR0 has features the guest's CPUID lacks, or an invalid combination.</exception>
    public void SetXcrs(in kvm_xcrs xcrs)
    {
        RequireX86Cap(X86Cap.Xcrs, ArchIoctls.KVM_SET_XCRS.Name);
        if (xcrs.nr_xcrs > ArchConstants.KVM_MAX_XCRS)
            Fail.Argument(nameof(xcrs), $"nr_xcrs {xcrs.nr_xcrs} exceeds KVM_MAX_XCRS = {ArchConstants.KVM_MAX_XCRS}");
        if (xcrs.flags != 0)
            Fail.Argument(nameof(xcrs), "kvm_xcrs.flags must be 0");
        for (var i = 0; i < (int)xcrs.nr_xcrs; i++)
            if (xcrs.xcrs[i].xcr == 0 && (xcrs.xcrs[i].value & 1) == 0)
                Fail.Argument(nameof(xcrs), $"XCR0 = 0x{xcrs.xcrs[i].value:X} lacks bit 0 (x87), which must always be set");
        // SAFETY: `xcrs` is pinned; the kernel reads the 392 bytes KVM_SET_XCRS encodes.
        fixed (kvm_xcrs* p = &xcrs)
            IoctlOut(ArchIoctls.KVM_SET_XCRS.Value, ArchIoctls.KVM_SET_XCRS.Name, p);
    }
}
