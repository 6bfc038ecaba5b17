using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>x86: <c>KVM_GET_FPU</c>: the x87/SSE state (FPU registers, FCW/FSW, XMM0–15, MXCSR). No capability
    /// needed. The kernel does not report MXCSR here (<c>mxcsr</c> reads 0): MXCSR lives in the XSAVE image (bytes
    /// 24–27 of <see cref="GetXsave2(Span{byte})"/>), which is also the way to set AVX and later state.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed (EINVAL for a guest with protected state, SEV-ES/TDX).</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public kvm_fpu GetFpu()
    {
        RequireX86();
        kvm_fpu fpu;
        // SAFETY: `fpu` is a stack local of the 416-byte layout KVM_GET_FPU encodes; the kernel fills it.
        IoctlOut(ArchIoctls.KVM_GET_FPU.Value, ArchIoctls.KVM_GET_FPU.Name, &fpu);
        return fpu;
    }

    /// <summary>x86: <c>KVM_SET_FPU</c>. On the 6.18 host tested, an MXCSR set here was visible neither through
    /// <see cref="GetFpu"/> nor through XSAVE (which kept the default 0x1F80): set MXCSR with
    /// <see cref="SetXsave(ReadOnlySpan{byte})"/>.</summary>
    /// <exception cref="ArgumentException">MXCSR bits 31:16 are set: they are reserved, and the restore would fault.</exception>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">The ioctl failed (EINVAL for a guest with protected state).</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public void SetFpu(in kvm_fpu fpu)
    {
        RequireX86();
        if ((fpu.mxcsr >> 16) != 0)
            Fail.Argument(nameof(fpu), $"MXCSR 0x{fpu.mxcsr:X} sets reserved bits 31:16");
        // SAFETY: `fpu` is pinned for the call; the kernel reads the 416 bytes KVM_SET_FPU encodes.
        fixed (kvm_fpu* p = &fpu)
            IoctlOut(ArchIoctls.KVM_SET_FPU.Value, ArchIoctls.KVM_SET_FPU.Name, p);
    }
}
