using Kvm.Interop;
using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// One vCPU's dirty ring (<see cref="VcpuFd.DirtyRing"/>): an array of <c>struct kvm_dirty_gfn</c> the kernel shares
/// at <c>KVM_DIRTY_LOG_PAGE_OFFSET</c> pages into the vCPU fd. The kernel fills entries and sets
/// <c>KVM_DIRTY_GFN_F_DIRTY</c> (with release order); <see cref="Harvest"/> reads them in order with acquire loads,
/// hands each page to the caller, and marks it <c>KVM_DIRTY_GFN_F_RESET</c> with a release store, so that
/// <see cref="DirtyRingFeature.Reset"/> can give the entries back. The mapping is made like kvm_run's (reserved address
/// space, replaced by zero pages when the vCPU is released, never reused), so the ring can never point at someone
/// else's memory. One harvester at a time per ring (a lock makes concurrent calls take turns).
/// </summary>
public sealed unsafe class DirtyRing
{
    private readonly VcpuFd _vcpu;
    private readonly SafeHandleRef _fd;
    private readonly kvm_dirty_gfn* _entries;
    private readonly uint _mask;
    private readonly object _gate = new();
    private uint _fetch;

    internal DirtyRing(VcpuFd vcpu, SafeHandleRef fd, void* entries, int count)
    {
        _vcpu = vcpu;
        _fd = fd;
        _entries = (kvm_dirty_gfn*)entries;
        _mask = (uint)count - 1;
        Entries = count;
    }

    /// <summary>Entries in the ring.</summary>
    public int Entries { get; }

    /// <summary>Entries harvested since the vCPU was created (the ring's fetch index).</summary>
    public long Harvested { get; private set; }

    /// <summary>Moves up to <c>into.Length</c> dirty entries into <paramref name="into"/>, oldest first, marking each
    /// reset in the ring; returns how many. Each entry's <see cref="DirtyPage.Gpa"/> comes from the VM's memslot table
    /// (slot id + page offset). No allocation, no syscall: call <see cref="DirtyRingFeature.Reset"/> afterwards so the
    /// kernel can reuse the entries (a full ring stops the vCPU with <c>KVM_EXIT_DIRTY_RING_FULL</c>).</summary>
    /// <exception cref="ObjectDisposedException">The vCPU was disposed.</exception>
    public int Harvest(Span<DirtyPage> into)
    {
        _fd.Enter(); // the mapping is retired only when the vCPU fd is released: hold it while reading
        try
        {
            lock (_gate)
            {
                var n = 0;
                while (n < into.Length)
                {
                    // SAFETY: _fetch & _mask < Entries, and the ring maps Entries entries for as long as the fd
                    // reference taken above is held.
                    var e = _entries + (_fetch & _mask);
                    var flags = Volatile.Read(ref e->flags); // acquire: pairs with the kernel's release of DIRTY
                    if ((flags & (uint)KvmConstants.KVM_DIRTY_GFN_F_DIRTY) == 0)
                        break;
                    var slot = e->slot;
                    var offset = e->offset;
                    var gpa = _vcpu.Vm.Memslots.TryTranslate(slot, offset, out var g) ? g : ulong.MaxValue;
                    into[n++] = new DirtyPage((int)(slot & 0xFFFF), (int)(slot >> 16), offset, gpa);
                    Volatile.Write(ref e->flags, (uint)KvmConstants.KVM_DIRTY_GFN_F_RESET); // release: slot/offset read first
                    _fetch++;
                    Harvested++;
                }
                return n;
            }
        }
        finally
        {
            _fd.Exit();
        }
    }
}
