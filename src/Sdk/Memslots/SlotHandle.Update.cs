using Kvm.Interop;

namespace Kvm;

public sealed partial class SlotHandle
{
    /// <summary>True while the slot has <c>KVM_MEM_LOG_DIRTY_PAGES</c>: the kernel records guest writes to it for
    /// <see cref="GetDirtyLog"/> (or in the vCPUs' dirty rings, see <see cref="VmFd.DirtyRing"/>).</summary>
    public bool IsDirtyLogging => (Flags & KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES) != 0;

    /// <summary>Turns dirty logging on or off: a flags-only update (<c>KVM_MR_FLAGS_ONLY</c>) of this slot through
    /// <c>KVM_SET_USER_MEMORY_REGION2</c> (v1 on kernels without <c>KVM_CAP_USER_MEMORY2</c>) with the same id,
    /// address, size and <c>userspace_addr</c>. Turning it on starts a new log (empty, or all pages dirty with
    /// <see cref="ManualDirtyLogProtect.InitiallySet"/>);
    /// turning it off drops the log. No capability is needed.</summary>
    /// <exception cref="ArgumentException">A guest_memfd slot: the kernel refuses every change to one but deletion
    /// (EINVAL), and dirty logging of guest_memfd memory is refused too.</exception>
    /// <exception cref="ObjectDisposedException">The slot was deleted.</exception>
    /// <exception cref="KvmException">The kernel refused (e.g. EPERM for a pKVM protected VM that has run).</exception>
    public void SetDirtyLogging(bool enabled) =>
        SetFlags(enabled ? Flags | KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES : Flags & ~KvmMemFlags.KVM_MEM_LOG_DIRTY_PAGES);

    /// <summary>A flags-only update (<c>KVM_SET_USER_MEMORY_REGION2</c> with this slot's id, address and size). The
    /// kernel lets only <c>KVM_MEM_LOG_DIRTY_PAGES</c> change: a change of <c>KVM_MEM_READONLY</c> is EINVAL, so it
    /// is refused here first. Same flags: nothing is called.</summary>
    /// <exception cref="ArgumentException">READONLY changes, unknown flags, or a guest_memfd slot (all EINVAL).</exception>
    /// <exception cref="ObjectDisposedException">The slot was deleted.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void SetFlags(KvmMemFlags flags) => _table.Update(this, GuestPhysicalAddress, flags);

    /// <summary>Moves the slot to <paramref name="gpa"/> (<c>KVM_MR_MOVE</c>): <c>KVM_SET_USER_MEMORY_REGION2</c> with
    /// the same id, size, flags and <c>userspace_addr</c> and the new <c>guest_phys_addr</c>. The guest then sees the
    /// same host memory at the new address and nothing at the old one; a dirty log carries over (the kernel keeps
    /// the slot's bitmap). The kernel refuses
    /// to move guest_memfd slots (EINVAL: they are immutable), which is refused here first.</summary>
    /// <exception cref="ArgumentException">Not page-aligned, overlapping another live slot (EEXIST), beyond the VM's
    /// guest-physical space (EFAULT), or a guest_memfd slot (EINVAL).</exception>
    /// <exception cref="ObjectDisposedException">The slot was deleted.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public void MoveTo(ulong gpa) => _table.Update(this, gpa, Flags);
}
