using Kvm.Interop;

namespace Kvm;

public sealed partial class VmFd
{
    private DirtyRingFeature? _dirtyRing;
    private bool _dirtyRingProbed;

    /// <summary>The per-vCPU dirty ring; null unless <c>KVM_CHECK_EXTENSION</c> on this VM answers
    /// <c>KVM_CAP_DIRTY_LOG_RING_ACQ_REL</c> or <c>KVM_CAP_DIRTY_LOG_RING</c> &gt; 0 (x86 since 5.11, arm64 since 6.1
    /// with ACQ_REL only).</summary>
    public DirtyRingFeature? DirtyRing
    {
        get
        {
            if (!Volatile.Read(ref _dirtyRingProbed))
            {
                var acqRel = Capabilities.Check(KvmCap.KVM_CAP_DIRTY_LOG_RING_ACQ_REL);
                var plain = Capabilities.Check(KvmCap.KVM_CAP_DIRTY_LOG_RING);
                if (acqRel > 0 || plain > 0)   // first probe wins: Enable's state lives on one object
                    Interlocked.CompareExchange(ref _dirtyRing, new DirtyRingFeature(this, Math.Max(acqRel, plain), acqRel > 0), null);
                Volatile.Write(ref _dirtyRingProbed, true);
            }
            return Volatile.Read(ref _dirtyRing);
        }
    }
}
