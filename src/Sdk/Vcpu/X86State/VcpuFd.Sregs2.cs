using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>x86: <c>KVM_GET_SREGS2</c> (<c>KVM_CAP_SREGS2</c>, 5.14+): the special registers like
    /// <see cref="GetSregs"/>, plus the PAE PDPTRs (valid when <c>flags</c> has <c>KVM_SREGS2_FLAGS_PDPTRS_VALID</c>) and
    /// without the pending-interrupt bitmap (see <see cref="GetVcpuEvents"/>).</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_SREGS2</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed (EINVAL for a guest with protected state).</exception>
    public kvm_sregs2 GetSregs2()
    {
        RequireX86Cap(X86Cap.Sregs2, ArchIoctls.KVM_GET_SREGS2.Name);
        kvm_sregs2 sregs;
        // SAFETY: `sregs` is a 320-byte stack local, the layout KVM_GET_SREGS2 encodes; the kernel fills it.
        IoctlOut(ArchIoctls.KVM_GET_SREGS2.Value, ArchIoctls.KVM_GET_SREGS2.Name, &sregs);
        return sregs;
    }

    /// <summary>x86: <c>KVM_SET_SREGS2</c> (<c>KVM_CAP_SREGS2</c>).</summary>
    /// <exception cref="ArgumentException"><c>flags</c> has bits other than <c>KVM_SREGS2_FLAGS_PDPTRS_VALID</c>; PDPTRs
    /// are marked valid outside PAE paging (CR0.PG, CR4.PAE, EFER.LMA clear); or CR0/CR4/EFER/CS.L break the
    /// kernel's consistency rules (message names the rule).</exception>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_SREGS2</c>.</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL).</exception>
    public void SetSregs2(in kvm_sregs2 sregs)
    {
        RequireX86Cap(X86Cap.Sregs2, ArchIoctls.KVM_SET_SREGS2.Name);
        const ulong pdptrsValid = ArchConstants.KVM_SREGS2_FLAGS_PDPTRS_VALID;
        if ((sregs.flags & ~pdptrsValid) != 0)
            Fail.Argument(nameof(sregs), $"flags 0x{sregs.flags:X} has bits other than KVM_SREGS2_FLAGS_PDPTRS_VALID");
        var pae = (sregs.cr0 & X86Bits.Cr0PG) != 0 && (sregs.cr4 & X86Bits.Cr4PAE) != 0 && (sregs.efer & X86Bits.EferLMA) == 0;
        if ((sregs.flags & pdptrsValid) != 0 && !pae)
            Fail.Argument(nameof(sregs), "KVM_SREGS2_FLAGS_PDPTRS_VALID is accepted only in PAE paging (CR0.PG, CR4.PAE, not long mode)");
        if (SregsRules.Refusal(sregs.cr0, sregs.cr4, sregs.efer, sregs.cs.l) is { } why)
            Fail.Argument(nameof(sregs), why);
        // SAFETY: `sregs` is pinned; the kernel reads the 320 bytes KVM_SET_SREGS2 encodes.
        fixed (kvm_sregs2* p = &sregs)
            IoctlOut(ArchIoctls.KVM_SET_SREGS2.Value, ArchIoctls.KVM_SET_SREGS2.Name, p);
    }
}
