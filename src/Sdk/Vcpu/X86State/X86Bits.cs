namespace Kvm;

/// <summary>Architectural x86 control-register and EFER bits (Intel SDM vol. 3 §2.5, AMD APM vol. 2 §3.1; the kernel's
/// <c>asm/processor-flags.h</c> and <c>msr-index.h</c>, which are not among the vendored uAPI headers).</summary>
public static class X86Bits
{
    /// <summary>CR0.PE: protected mode.</summary>
    public const ulong Cr0PE = 1UL << 0;
    /// <summary>CR0.ET: extension type (hard-wired to 1 on modern CPUs).</summary>
    public const ulong Cr0ET = 1UL << 4;
    /// <summary>CR0.NE: native x87 error reporting.</summary>
    public const ulong Cr0NE = 1UL << 5;
    /// <summary>CR0.PG: paging.</summary>
    public const ulong Cr0PG = 1UL << 31;
    /// <summary>CR4.PAE: physical address extension (required for long mode).</summary>
    public const ulong Cr4PAE = 1UL << 5;
    /// <summary>EFER.SCE: SYSCALL enable.</summary>
    public const ulong EferSCE = 1UL << 0;
    /// <summary>EFER.LME: long mode enable.</summary>
    public const ulong EferLME = 1UL << 8;
    /// <summary>EFER.LMA: long mode active.</summary>
    public const ulong EferLMA = 1UL << 10;
    /// <summary>EFER.NXE: no-execute enable.</summary>
    public const ulong EferNXE = 1UL << 11;
    /// <summary><c>MSR_EFER</c>.</summary>
    public const uint MsrEfer = 0xC0000080;
}
