namespace Kvm;

/// <summary>The kernel's <c>kvm_is_valid_sregs</c> (<c>KVM_SET_SREGS</c>, <c>KVM_SET_SREGS2</c>), checked before the
/// ioctl so a bad combination is named instead of a bare EINVAL. Vendor checks (CR4 bits the CPU lacks, MAXPHYADDR of
/// CR3) stay with the kernel.</summary>
internal static class SregsRules
{
    private const ulong Cr0CD = 1UL << 30, Cr0NW = 1UL << 29;

    public static string? Refusal(ulong cr0, ulong cr4, ulong efer, byte csL)
    {
        if ((efer & X86Bits.EferLME) != 0 && (cr0 & X86Bits.Cr0PG) != 0)
        {
            if ((cr4 & X86Bits.Cr4PAE) == 0 || (efer & X86Bits.EferLMA) == 0)
                return "with EFER.LME and CR0.PG (long mode) CR4.PAE and EFER.LMA must be set";
        }
        else if ((efer & X86Bits.EferLMA) != 0 || csL != 0)
        {
            return "EFER.LMA and CS.L need long mode (EFER.LME and CR0.PG)";
        }
        if ((cr0 >> 32) != 0)
            return $"CR0 0x{cr0:X} sets reserved bits 63:32";
        if ((cr0 & Cr0NW) != 0 && (cr0 & Cr0CD) == 0)
            return "CR0.NW needs CR0.CD";
        if ((cr0 & X86Bits.Cr0PG) != 0 && (cr0 & X86Bits.Cr0PE) == 0)
            return "CR0.PG needs CR0.PE";
        return null;
    }
}
