using Kvm.Interop;

namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>x86: <c>KVM_GET_TSC_KHZ</c> (<c>KVM_CAP_GET_TSC_KHZ</c>): the guest's TSC frequency in kHz.</summary>
    /// <exception cref="NotSupportedException">No <c>KVM_CAP_GET_TSC_KHZ</c>.</exception>
    /// <exception cref="KvmException">The ioctl failed (EIO: the host TSC is unstable).</exception>
    public uint GetTscKhz()
    {
        RequireX86Cap(X86Cap.GetTscKhz, KvmIoctls.KVM_GET_TSC_KHZ.Name);
        var rc = IoctlValue(KvmIoctls.KVM_GET_TSC_KHZ.Value, 0);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_GET_TSC_KHZ.Name, KvmIoctls.KVM_GET_TSC_KHZ.Value, KvmFdKind.Vcpu);
        return (uint)rc;
    }

    /// <summary>x86: <c>KVM_SET_TSC_KHZ</c>: the guest's TSC frequency in kHz; 0 means the host's. A rate other than
    /// the host's (beyond a small tolerance) needs TSC scaling, which the kernel reports as <c>KVM_CAP_TSC_CONTROL</c>;
    /// without it a higher rate falls back to catch-up mode and a lower one is EINVAL. With scaling, rates at or above
    /// the hardware's maximum are EINVAL.</summary>
    /// <exception cref="PlatformNotSupportedException">Not x86_64.</exception>
    /// <exception cref="KvmException">EINVAL: a rate the host cannot provide.</exception>
    public void SetTscKhz(uint khz)
    {
        RequireX86();
        var rc = IoctlValue(KvmIoctls.KVM_SET_TSC_KHZ.Value, (nint)khz);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_SET_TSC_KHZ.Name, KvmIoctls.KVM_SET_TSC_KHZ.Value, KvmFdKind.Vcpu,
                (Errno)(-rc) == Errno.EINVAL ? $"{khz} kHz is not a rate this host can give the guest (KVM_CAP_TSC_CONTROL = {Vm.Capabilities.Check(KvmCap.KVM_CAP_TSC_CONTROL)})" : null);
    }
}
