namespace Kvm;

public sealed partial class VcpuFd
{
    /// <summary>
    /// x86: points the vCPU at 16-bit real-mode code at <paramref name="entry"/> (below 64 KiB) with flat code and
    /// data segments at 0 — the state a small test guest or boot stub wants. Uses <c>KVM_GET_SREGS</c>,
    /// <c>KVM_SET_SREGS</c> and <c>KVM_SET_REGS</c>; all other registers are zeroed, RFLAGS has only its
    /// reserved bit 1 set.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="entry"/> is not reachable from CS = 0.</exception>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">One of the ioctls failed.</exception>
    public void EnterRealMode(ushort entry = 0)
    {
        RequireX86();
        var sregs = GetSregs();
        sregs.cs.@base = 0;
        sregs.cs.selector = 0;
        sregs.ds.@base = 0;
        sregs.ds.selector = 0;
        SetSregs(sregs);
        SetRegs(new Interop.X86_64.kvm_regs { rip = entry, rflags = 2 });
    }
}
