using Kvm.Interop;

namespace Kvm;

public sealed partial class VcpuFd
{
    /// <summary><c>KVM_GET_STATS_FD</c> on this vCPU's fd: the new fd or -errno (see <see cref="StatsFeature.Open"/>).</summary>
    internal int GetStatsFd()
    {
        var h = _fd.Enter();
        try
        {
            return _sys.Ioctl(h.Fd, KvmIoctls.KVM_GET_STATS_FD.Value, 0);
        }
        finally
        {
            _fd.Exit();
        }
    }
}
