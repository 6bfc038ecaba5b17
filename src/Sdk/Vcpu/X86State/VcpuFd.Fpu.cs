using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>x86: <c>KVM_GET_FPU</c>: the x87/SSE state (FPU registers, FCW/FSW, XMM0–15, MXCSR). No capability
    /// needed. For AVX and later state use <see cref="GetXsave2(Span{byte})"/>.</summary>
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

    /// <summary>x86: <c>KVM_SET_FPU</c>.</summary>
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
