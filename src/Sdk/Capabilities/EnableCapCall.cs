using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary><c>KVM_ENABLE_CAP</c> on a VM or vCPU fd, shared by <see cref="VmFd.EnableCap"/> and
/// <see cref="VcpuFd.EnableCap"/>.</summary>
internal static unsafe class EnableCapCall
{
    /// <summary>Refuses a capability the VM's <c>KVM_CHECK_EXTENSION</c> does not report, before the ioctl.</summary>
    public static void RequireReported(KvmCapabilities caps, KvmCap cap, string scope)
    {
        if (!caps.Has(cap))
            Fail.Argument(nameof(cap), $"{cap} is not reported by KVM_CHECK_EXTENSION on this VM ({caps.Scope}): the kernel "
                + $"cannot enable it on a {scope}");
    }

    public static int Invoke(SafeHandleRef fd, IKvmSyscalls sys, KvmCap cap, ulong arg0, ulong arg1, ulong arg2, ulong arg3)
    {
        var arg = new kvm_enable_cap { cap = (uint)cap };
        arg.args[0] = arg0;
        arg.args[1] = arg1;
        arg.args[2] = arg2;
        arg.args[3] = arg3;
        var h = fd.Enter();
        try
        {
            // SAFETY: `arg` is a stack local of the 104-byte kvm_enable_cap layout KVM_ENABLE_CAP encodes (flags and pad
            // zero); the kernel only reads it.
            return sys.Ioctl(h.Fd, KvmIoctls.KVM_ENABLE_CAP.Value, &arg);
        }
        finally
        {
            fd.Exit();
        }
    }
}
