using Kvm.Interop;

namespace Kvm;

public sealed partial class VcpuFd
{
    /// <summary>
    /// <c>KVM_ENABLE_CAP</c> on the vCPU fd with <c>args[0..3]</c> (<c>flags</c> 0, which x86 requires), for the
    /// per-vCPU capabilities (x86: <c>KVM_CAP_HYPERV_SYNIC</c>, <c>KVM_CAP_HYPERV_SYNIC2</c>,
    /// <c>KVM_CAP_HYPERV_ENLIGHTENED_VMCS</c>, <c>KVM_CAP_HYPERV_DIRECT_TLBFLUSH</c>, <c>KVM_CAP_HYPERV_ENFORCE_CPUID</c>,
    /// <c>KVM_CAP_ENFORCE_PV_FEATURE_CPUID</c>). The capability is checked first with <c>KVM_CHECK_EXTENSION</c> on the
    /// VM, and the kernel must report <c>KVM_CAP_ENABLE_CAP</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The VM does not report <paramref name="cap"/>.</exception>
    /// <exception cref="NotSupportedException">The kernel lacks <c>KVM_CAP_ENABLE_CAP</c>.</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL: not a per-vCPU capability on this arch, or a bad
    /// argument).</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public void EnableCap(KvmCap cap, ulong arg0 = 0, ulong arg1 = 0, ulong arg2 = 0, ulong arg3 = 0)
    {
        if (!Vm.Capabilities.Has(KvmCap.KVM_CAP_ENABLE_CAP))
            throw new NotSupportedException("KVM_ENABLE_CAP on a vCPU needs KVM_CAP_ENABLE_CAP, which this kernel does not report");
        EnableCapCall.RequireReported(Vm.Capabilities, cap, "vCPU");
        var rc = EnableCapCall.Invoke(_fd, _sys, cap, arg0, arg1, arg2, arg3);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_ENABLE_CAP.Name, KvmIoctls.KVM_ENABLE_CAP.Value, KvmFdKind.Vcpu, $"capability {cap}");
    }
}
