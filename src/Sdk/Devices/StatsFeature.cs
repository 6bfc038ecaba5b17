using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// Binary statistics of one VM and its vCPUs (<see cref="VmFd.Stats"/>): exists only when
/// <c>KVM_CAP_BINARY_STATS_FD</c> on the VM is non-zero (5.14+). Each <c>Open</c> issues <c>KVM_GET_STATS_FD</c>
/// (the kernel opens the fd read-only and close-on-exec) and reads its descriptors.
/// </summary>
public sealed class StatsFeature
{
    private readonly VmFd _vm;
    private readonly IKvmSyscalls _sys;

    internal StatsFeature(VmFd vm, IKvmSyscalls sys)
    {
        _vm = vm;
        _sys = sys;
    }

    /// <summary><c>KVM_GET_STATS_FD</c> on the VM fd: the VM-wide statistics (x86: <c>remote_tlb_flush</c>,
    /// <c>pages_4k</c>, …).</summary>
    /// <exception cref="KvmException">The ioctl (ENOMEM, EMFILE) or a read of the fd failed.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public KvmStatsFd OpenVm()
    {
        var rc = _vm.VmIoctl(KvmIoctls.KVM_GET_STATS_FD.Value, 0);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_GET_STATS_FD.Name, KvmIoctls.KVM_GET_STATS_FD.Value, KvmFdKind.Vm);
        return KvmStatsFd.Open(new KvmFdHandle(rc, _sys, KvmFdKind.Stats), _sys);
    }

    /// <summary><c>KVM_GET_STATS_FD</c> on <paramref name="vcpu"/>'s fd: its statistics (x86: <c>exits</c>,
    /// <c>io_exits</c>, <c>halt_exits</c>, …).</summary>
    /// <exception cref="ArgumentException">The vCPU belongs to another VM.</exception>
    /// <exception cref="KvmException">The ioctl or a read of the fd failed.</exception>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public KvmStatsFd Open(VcpuFd vcpu)
    {
        ArgumentNullException.ThrowIfNull(vcpu);
        if (!ReferenceEquals(vcpu.Vm, _vm))
            Fail.Argument(nameof(vcpu), "the vCPU belongs to another VM; use that VM's Stats");
        var rc = vcpu.GetStatsFd();
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_GET_STATS_FD.Name, KvmIoctls.KVM_GET_STATS_FD.Value, KvmFdKind.Vcpu, $"vCPU {vcpu.Id}");
        return KvmStatsFd.Open(new KvmFdHandle(rc, _sys, KvmFdKind.Stats), _sys);
    }
}
