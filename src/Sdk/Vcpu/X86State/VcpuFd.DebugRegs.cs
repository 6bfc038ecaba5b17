using Kvm.Interop.X86_64;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>x86: <c>KVM_GET_DEBUGREGS</c> (<c>KVM_CAP_DEBUGREGS</c>): DR0–DR3, DR6, DR7.</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_DEBUGREGS</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed (EINVAL for a guest with protected state).</exception>
    public kvm_debugregs GetDebugRegs()
    {
        RequireX86Cap(X86Cap.DebugRegs, ArchIoctls.KVM_GET_DEBUGREGS.Name);
        kvm_debugregs regs;
        // SAFETY: `regs` is a 128-byte stack local, the layout KVM_GET_DEBUGREGS encodes; the kernel fills it.
        IoctlOut(ArchIoctls.KVM_GET_DEBUGREGS.Value, ArchIoctls.KVM_GET_DEBUGREGS.Name, &regs);
        return regs;
    }

    /// <summary>x86: <c>KVM_SET_DEBUGREGS</c> (<c>KVM_CAP_DEBUGREGS</c>).</summary>
    /// <exception cref="ArgumentException"><c>flags</c> is not 0, or DR6/DR7 set bits 63:32 (reserved; the kernel
    /// answers EINVAL).</exception>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_DEBUGREGS</c>.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void SetDebugRegs(in kvm_debugregs regs)
    {
        RequireX86Cap(X86Cap.DebugRegs, ArchIoctls.KVM_SET_DEBUGREGS.Name);
        if (regs.flags != 0)
            Fail.Argument(nameof(regs), "kvm_debugregs.flags must be 0");
        if ((regs.dr6 >> 32) != 0 || (regs.dr7 >> 32) != 0)
            Fail.Argument(nameof(regs), $"DR6 0x{regs.dr6:X} and DR7 0x{regs.dr7:X} must leave bits 63:32 clear (reserved)");
        // SAFETY: `regs` is pinned; the kernel reads the 128 bytes KVM_SET_DEBUGREGS encodes.
        fixed (kvm_debugregs* p = &regs)
            IoctlOut(ArchIoctls.KVM_SET_DEBUGREGS.Value, ArchIoctls.KVM_SET_DEBUGREGS.Name, p);
    }
}
