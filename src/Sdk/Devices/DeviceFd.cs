using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// An owned device fd from <c>KVM_CREATE_DEVICE</c> (close-on-exec), with its attributes
/// (<c>KVM_SET/GET/HAS_DEVICE_ATTR</c>, <c>struct kvm_device_attr</c>: a group, an attribute id and a pointer to the
/// value, whose size the attribute defines). The device holds a kernel reference to its VM: it stays usable after
/// the VM's Dispose until it is disposed itself.
/// </summary>
public sealed unsafe class DeviceFd : IDisposable
{
    private readonly SafeHandleRef _fd;
    private readonly IKvmSyscalls _sys;

    internal DeviceFd(VmFd vm, KvmDeviceType type, KvmFdHandle handle, IKvmSyscalls sys)
    {
        Vm = vm;
        Type = type;
        _fd = new SafeHandleRef(handle, nameof(DeviceFd));
        _sys = sys;
    }

    /// <summary>The VM the device belongs to.</summary>
    public VmFd Vm { get; }

    /// <summary>The device type.</summary>
    public KvmDeviceType Type { get; }

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => _fd.IsClosed;

    /// <summary><c>KVM_HAS_DEVICE_ATTR</c>: whether the device implements attribute <paramref name="attribute"/> of
    /// <paramref name="group"/>. ENXIO (unknown group or attribute) → false.</summary>
    /// <exception cref="KvmException">Any other refusal (EPERM: the device has no attributes at all).</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public bool HasAttribute(uint group, ulong attribute)
    {
        var attr = new kvm_device_attr { group = group, attr = attribute };
        // SAFETY: `attr` is a 24-byte stack local of kvm_device_attr with addr 0; HAS reads only group and attr.
        var rc = AttrIoctl(KvmIoctls.KVM_HAS_DEVICE_ATTR.Value, &attr);
        if (rc == -(int)Errno.ENXIO)
            return false;
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_HAS_DEVICE_ATTR.Name, KvmIoctls.KVM_HAS_DEVICE_ATTR.Value, KvmFdKind.Device, Describe(group, attribute));
        return true;
    }

    /// <summary><c>KVM_SET_DEVICE_ATTR</c> with a value of type <typeparamref name="T"/>, which must be the size the
    /// attribute defines (e.g. an <c>int</c> fd for <c>KVM_DEV_VFIO_FILE_ADD</c>, a <c>ulong</c> address for a vGIC
    /// base).</summary>
    /// <exception cref="KvmException">ENXIO: no such group/attribute; EPERM: the device has no settable attributes;
    /// EINVAL, EBADF, EBUSY, EEXIST: device-specific refusals of the value.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void SetAttribute<T>(uint group, ulong attribute, in T value) where T : unmanaged
    {
        // SAFETY: `value` is pinned for the call; a SET only reads at addr, the attribute's size, which the caller
        // chooses T to match (documented above).
        fixed (T* p = &value)
            SetCore(group, attribute, (ulong)p);
    }

    /// <summary><c>KVM_SET_DEVICE_ATTR</c> of an attribute that carries no value (<c>addr</c> = 0), such as a control
    /// command (arm64 <c>KVM_DEV_ARM_VGIC_CTRL_INIT</c>).</summary>
    /// <inheritdoc cref="SetAttribute{T}" path="/exception"/>
    public void SetAttribute(uint group, ulong attribute) => SetCore(group, attribute, 0);

    /// <summary><c>KVM_GET_DEVICE_ATTR</c> into a value of type <typeparamref name="T"/> (the attribute's size).</summary>
    /// <exception cref="KvmException">ENXIO: no such group/attribute; EPERM: the device has no readable attributes
    /// (e.g. VFIO); device-specific refusals.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public T GetAttribute<T>(uint group, ulong attribute) where T : unmanaged
    {
        T value = default;
        var attr = new kvm_device_attr { group = group, attr = attribute, addr = (ulong)&value };
        // SAFETY: `attr` and `value` are stack locals; the kernel writes the attribute's size at addr, which the
        // caller chose T to match.
        var rc = AttrIoctl(KvmIoctls.KVM_GET_DEVICE_ATTR.Value, &attr);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_GET_DEVICE_ATTR.Name, KvmIoctls.KVM_GET_DEVICE_ATTR.Value, KvmFdKind.Device, Explain(rc, group, attribute));
        return value;
    }

    private void SetCore(uint group, ulong attribute, ulong address)
    {
        var attr = new kvm_device_attr { group = group, attr = attribute, addr = address };
        // SAFETY: `attr` is a stack local; `address` is 0 or points at a value pinned by the caller for this call.
        var rc = AttrIoctl(KvmIoctls.KVM_SET_DEVICE_ATTR.Value, &attr);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_SET_DEVICE_ATTR.Name, KvmIoctls.KVM_SET_DEVICE_ATTR.Value, KvmFdKind.Device, Explain(rc, group, attribute));
    }

    private int AttrIoctl(nuint request, kvm_device_attr* attr)
    {
        var h = _fd.Enter();
        try
        {
            // SAFETY: `attr` points at a caller's stack local of kvm_device_attr (see each call site).
            return _sys.Ioctl(h.Fd, request, attr);
        }
        finally
        {
            _fd.Exit();
        }
    }

    private string Explain(int rc, uint group, ulong attribute) => rc switch
    {
        -(int)Errno.EPERM => $"{Describe(group, attribute)}: the {Type} device does not implement this operation at all",
        -(int)Errno.ENXIO => $"{Describe(group, attribute)}: the {Type} device has no such attribute",
        _ => Describe(group, attribute),
    };

    private static string Describe(uint group, ulong attribute) => $"group {group}, attribute {attribute}";

    /// <summary>Closes the device fd; the device itself lives as long as its VM (the kernel frees devices with the VM).</summary>
    public void Dispose() => _fd.Dispose();

    /// <inheritdoc />
    public override string ToString() => $"{Type} device";
}
