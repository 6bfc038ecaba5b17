using System.Runtime.InteropServices;
using Kvm.Interop;

namespace Kvm;

/// <summary>
/// arm64 <c>KVM_GET_ONE_REG</c>/<c>KVM_SET_ONE_REG</c> ids of the core registers, computed from the generated arm64
/// layout of <c>struct kvm_regs</c> as the kernel defines them: <c>KVM_REG_ARM64 | KVM_REG_SIZE_U64 |
/// KVM_REG_ARM_CORE | (offsetof(struct kvm_regs, field) / sizeof(__u32))</c>.
/// </summary>
public static class Arm64Registers
{
    private static readonly ulong RegsBase = (ulong)Marshal.OffsetOf<Interop.Arm64.kvm_regs>(nameof(Interop.Arm64.kvm_regs.regs));

    /// <summary>The id of the 64-bit core register at byte offset <paramref name="offset"/> in <c>struct kvm_regs</c>.</summary>
    public static ulong Core(ulong offset) =>
        KvmConstants.KVM_REG_ARM64 | KvmConstants.KVM_REG_SIZE_U64 | (ulong)Interop.Arm64.ArchConstants.KVM_REG_ARM_CORE | (offset / sizeof(uint));

    /// <summary>General-purpose register X<paramref name="n"/> (0..30): <c>regs.regs[n]</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not 0..30.</exception>
    public static ulong X(int n)
    {
        if (n is < 0 or > 30)
            Fail.Range(nameof(n), n, "arm64 general-purpose registers are X0..X30");
        return Core(RegsBase + (ulong)Marshal.OffsetOf<Interop.Arm64.user_pt_regs>(nameof(Interop.Arm64.user_pt_regs.regs)) + (ulong)n * sizeof(ulong));
    }

    /// <summary>SP_EL0: <c>regs.sp</c>.</summary>
    public static ulong Sp => Core(RegsBase + (ulong)Marshal.OffsetOf<Interop.Arm64.user_pt_regs>(nameof(Interop.Arm64.user_pt_regs.sp)));

    /// <summary>PC: <c>regs.pc</c>.</summary>
    public static ulong Pc => Core(RegsBase + (ulong)Marshal.OffsetOf<Interop.Arm64.user_pt_regs>(nameof(Interop.Arm64.user_pt_regs.pc)));

    /// <summary>PSTATE: <c>regs.pstate</c>.</summary>
    public static ulong Pstate => Core(RegsBase + (ulong)Marshal.OffsetOf<Interop.Arm64.user_pt_regs>(nameof(Interop.Arm64.user_pt_regs.pstate)));

    private static readonly ulong FpBase = (ulong)Marshal.OffsetOf<Interop.Arm64.kvm_regs>(nameof(Interop.Arm64.kvm_regs.fp_regs));

    /// <summary>The id of a core register of another width: <c>KVM_REG_ARM64 | size | KVM_REG_ARM_CORE | offset / 4</c>.</summary>
    private static ulong Core(ulong offset, ulong size) =>
        KvmConstants.KVM_REG_ARM64 | size | (ulong)Interop.Arm64.ArchConstants.KVM_REG_ARM_CORE | (offset / sizeof(uint));

    /// <summary>FP/SIMD register V<paramref name="n"/> (0..31), 128 bits (<c>KVM_REG_SIZE_U128</c>):
    /// <c>fp_regs.vregs[n]</c>; read it with <see cref="VcpuFd.GetOneReg128"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="n"/> is not 0..31.</exception>
    public static ulong V(int n)
    {
        if (n is < 0 or > 31)
            Fail.Range(nameof(n), n, "arm64 FP/SIMD registers are V0..V31");
        return Core(FpBase + (ulong)n * 16, KvmConstants.KVM_REG_SIZE_U128);
    }

    /// <summary>FPSR, 32 bits (<c>KVM_REG_SIZE_U32</c>): <c>fp_regs.fpsr</c>; read it with <see cref="VcpuFd.GetOneReg32"/>.</summary>
    public static ulong Fpsr => Core(FpBase + (ulong)Marshal.OffsetOf<Interop.Arm64.user_fpsimd_state>(nameof(Interop.Arm64.user_fpsimd_state.fpsr)), KvmConstants.KVM_REG_SIZE_U32);

    /// <summary>FPCR, 32 bits: <c>fp_regs.fpcr</c>.</summary>
    public static ulong Fpcr => Core(FpBase + (ulong)Marshal.OffsetOf<Interop.Arm64.user_fpsimd_state>(nameof(Interop.Arm64.user_fpsimd_state.fpcr)), KvmConstants.KVM_REG_SIZE_U32);
}
