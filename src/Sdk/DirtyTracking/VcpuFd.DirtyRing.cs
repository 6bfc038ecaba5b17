namespace Kvm;

public sealed unsafe partial class VcpuFd
{
    /// <summary>This vCPU's dirty ring; null unless <see cref="DirtyRingFeature.Enable"/> ran on the VM before the
    /// vCPU was created (<c>KVM_CAP_DIRTY_LOG_RING[_ACQ_REL]</c>).</summary>
    public DirtyRing? DirtyRing { get; private set; }

    internal void AttachDirtyRing(byte* ring, int entries) => DirtyRing = new DirtyRing(this, _fd, ring, entries);
}
