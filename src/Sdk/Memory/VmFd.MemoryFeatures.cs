using Kvm.Interop;

namespace Kvm;

public sealed partial class VmFd
{
    private PreFaultFeature? _preFault;
    private CoalescedMmioFeature? _coalesced;
    private int _memoryFeaturesProbed;

    /// <summary><c>KVM_PRE_FAULT_MEMORY</c>; null unless <c>KVM_CHECK_EXTENSION(KVM_CAP_PRE_FAULT_MEMORY)</c> on this VM
    /// is non-zero (6.10+, x86 only with TDP paging).</summary>
    public PreFaultFeature? PreFault
    {
        get
        {
            ProbeMemoryFeatures();
            return _preFault;
        }
    }

    /// <summary>Coalesced MMIO/PIO; null unless <c>KVM_CHECK_EXTENSION(KVM_CAP_COALESCED_MMIO)</c> is non-zero.</summary>
    public CoalescedMmioFeature? CoalescedMmio
    {
        get
        {
            ProbeMemoryFeatures();
            return _coalesced;
        }
    }

    private void ProbeMemoryFeatures()
    {
        if (Volatile.Read(ref _memoryFeaturesProbed) != 0)
            return;
        lock (_vcpus)
        {
            if (_memoryFeaturesProbed != 0)
                return;
            if (Capabilities.Has(KvmCap.KVM_CAP_PRE_FAULT_MEMORY))
                _preFault = new PreFaultFeature(this);
            var page = Capabilities.Check(KvmCap.KVM_CAP_COALESCED_MMIO);
            if (page > 0)
                _coalesced = new CoalescedMmioFeature(this, page, Capabilities.Has(KvmCap.KVM_CAP_COALESCED_PIO));
            Volatile.Write(ref _memoryFeaturesProbed, 1);
        }
    }
}
