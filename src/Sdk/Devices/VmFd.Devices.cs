using Kvm.Interop;

namespace Kvm;

public sealed partial class VmFd
{
    /// <summary>In-kernel devices (<c>KVM_CREATE_DEVICE</c>); null unless <c>KVM_CAP_DEVICE_CTRL</c>.</summary>
    public DeviceFeature? Devices { get; private set; }

    /// <summary>Binary statistics of the VM and its vCPUs (<c>KVM_GET_STATS_FD</c>); null unless
    /// <c>KVM_CAP_BINARY_STATS_FD</c> (5.14+).</summary>
    public StatsFeature? Stats { get; private set; }

    partial void InitDevices()
    {
        if (Capabilities.Has(KvmCap.KVM_CAP_DEVICE_CTRL))
            Devices = new DeviceFeature(this, _sys);
        if (Capabilities.Has(KvmCap.KVM_CAP_BINARY_STATS_FD))
            Stats = new StatsFeature(this, _sys);
    }
}
