using Kvm.Interop;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    // Capability answers of the VM, asked once per vCPU: two bits per X86Cap (known, present), set in one atomic OR
    // so a reader never sees "known" without its answer.
    private long _x86Caps;

    private enum X86Cap
    {
        Xsave, Xsave2, Xcrs, DebugRegs, VcpuEvents, MpState, Sregs2, GetTscKhz,
    }

    private static KvmCap CapOf(X86Cap c) => c switch
    {
        X86Cap.Xsave => KvmCap.KVM_CAP_XSAVE,
        X86Cap.Xsave2 => KvmCap.KVM_CAP_XSAVE2,
        X86Cap.Xcrs => KvmCap.KVM_CAP_XCRS,
        X86Cap.DebugRegs => KvmCap.KVM_CAP_DEBUGREGS,
        X86Cap.VcpuEvents => KvmCap.KVM_CAP_VCPU_EVENTS,
        X86Cap.MpState => KvmCap.KVM_CAP_MP_STATE,
        X86Cap.Sregs2 => KvmCap.KVM_CAP_SREGS2,
        _ => KvmCap.KVM_CAP_GET_TSC_KHZ,
    };

    private bool HasX86Cap(X86Cap c)
    {
        var shift = 2 * (int)c;
        var bits = Volatile.Read(ref _x86Caps) >> shift;
        if ((bits & 1) != 0)
            return (bits & 2) != 0;
        var has = Vm.Capabilities.Has(CapOf(c));
        Interlocked.Or(ref _x86Caps, (has ? 3L : 1L) << shift);
        return has;
    }

    /// <summary>x86 only, and the VM reports the capability the ioctl needs.</summary>
    private void RequireX86Cap(X86Cap c, string ioctl)
    {
        RequireX86();
        if (!HasX86Cap(c))
            throw new NotSupportedException($"{ioctl} needs {CapOf(c)}, which KVM_CHECK_EXTENSION on this VM does not report");
    }

    /// <summary>The ioctl's result or -errno (for ioctls whose non-negative result means something).</summary>
    private int IoctlRc(nuint request, void* arg) =>
        _fd.Ioctl(_sys, request, arg);

    /// <summary>An <c>_IO</c> ioctl with an integer argument: the result or -errno.</summary>
    private int IoctlValue(nuint request, nint arg) =>
        _fd.Ioctl(_sys, request, arg);

    /// <summary>Like <see cref="IoctlOut(nuint, string, void*)"/>, explaining one errno whose cause the caller knows.</summary>
    private void IoctlOut(nuint request, string name, void* arg, Errno known, string explanation)
    {
        // SAFETY: forwarded from the caller, which upholds IoctlRc's contract.
        var rc = IoctlRc(request, arg);
        if (rc < 0)
            Fail.Ioctl(rc, name, request, KvmFdKind.Vcpu, (Errno)(-rc) == known ? explanation : null);
    }
}
