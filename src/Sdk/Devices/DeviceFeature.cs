using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// In-kernel devices of one VM (<see cref="VmFd.Devices"/>): exists only when <c>KVM_CAP_DEVICE_CTRL</c> on the VM is
/// non-zero. <c>KVM_CREATE_DEVICE</c> answers ENODEV for a type this kernel does not have (each arch has its own set:
/// x86 has only VFIO; arm64 the vGICs, ITS and PV time), EEXIST for a singleton created twice.
/// </summary>
public sealed unsafe class DeviceFeature
{
    private readonly VmFd _vm;
    private readonly IKvmSyscalls _sys;

    internal DeviceFeature(VmFd vm, IKvmSyscalls sys)
    {
        _vm = vm;
        _sys = sys;
    }

    /// <summary><c>KVM_CREATE_DEVICE</c> with <c>KVM_CREATE_DEVICE_TEST</c>: whether this VM can create
    /// <paramref name="type"/>, without creating it. ENODEV → false.</summary>
    /// <exception cref="KvmException">Any other refusal.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public bool IsSupported(KvmDeviceType type)
    {
        var arg = new kvm_create_device { type = (uint)type, flags = KvmConstants.KVM_CREATE_DEVICE_TEST };
        // SAFETY: `arg` is a 12-byte stack local of kvm_create_device; with the TEST flag the kernel only reads it.
        var rc = _vm.VmIoctl(KvmIoctls.KVM_CREATE_DEVICE.Value, &arg);
        if (rc == -(int)Errno.ENODEV)
            return false;
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_CREATE_DEVICE.Name, KvmIoctls.KVM_CREATE_DEVICE.Value, KvmFdKind.Vm, $"testing device type {type}");
        return true;
    }

    /// <summary><c>KVM_CREATE_DEVICE</c>: a new device of <paramref name="type"/>, as an owned <see cref="DeviceFd"/>
    /// (the kernel opens it <c>O_RDWR | O_CLOEXEC</c>).</summary>
    /// <exception cref="KvmException">ENODEV: this kernel has no such device type; EEXIST: a singleton device exists
    /// already; EBUSY/EINVAL: device-specific ordering (e.g. an arm64 vGIC after vCPUs ran).</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    public DeviceFd Create(KvmDeviceType type)
    {
        var r = TryCreate(type, out var device);
        if (!r.IsSuccess)
            Fail.Ioctl(-(int)r.Errno, KvmIoctls.KVM_CREATE_DEVICE.Name, KvmIoctls.KVM_CREATE_DEVICE.Value, KvmFdKind.Vm,
                r.Errno == Errno.ENODEV ? $"this kernel has no {type} device (KVM_DEV_TYPE {(uint)type})" : $"device type {type}");
        return device!;
    }

    /// <summary><see cref="Create"/>, returning the kernel's refusal as a value.</summary>
    public KvmResult TryCreate(KvmDeviceType type, out DeviceFd? device)
    {
        device = null;
        var arg = new kvm_create_device { type = (uint)type };
        // SAFETY: `arg` is a 12-byte stack local of kvm_create_device; the kernel reads type/flags and writes fd.
        var rc = _vm.VmIoctl(KvmIoctls.KVM_CREATE_DEVICE.Value, &arg);
        if (rc < 0)
            return new KvmResult((Errno)(-rc));
        device = new DeviceFd(_vm, type, new KvmFdHandle((int)arg.fd, _sys, KvmFdKind.Device), _sys);
        return KvmResult.Success;
    }
}
