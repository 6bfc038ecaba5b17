using Kvm.Interop;

namespace Kvm;

public sealed partial class SlotHandle
{
    /// <summary>Pages covered.</summary>
    public ulong PageCount => Size / (ulong)Pages.Size;

    /// <summary><c>KVM_GET_DIRTY_LOG</c>: fills <paramref name="bitmap"/> with the pages the guest wrote since the
    /// last call (or since dirty logging began) and resets the kernel's log. Without manual protection the kernel also
    /// write-protects the reported pages again; with <see cref="VmFd.EnableManualDirtyLogProtect"/> it does not, and
    /// <see cref="ClearDirtyLog"/> does that part. No allocation; no capability needed.</summary>
    /// <exception cref="ArgumentException">The slot is not logging (<see cref="SetDirtyLogging"/>; the kernel answers
    /// ENOENT), the bitmap covers fewer pages than the slot, or the VM uses the dirty ring (ENXIO).</exception>
    /// <exception cref="ObjectDisposedException">The slot was deleted.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public unsafe void GetDirtyLog(DirtyBitmap bitmap)
    {
        RequireLogging(bitmap);
        var log = new kvm_dirty_log { slot = Region.slot, dirty_bitmap = (nint)bitmap.WordPointer(0) };
        // SAFETY: `log` is a stack local; its bitmap pointer is the pinned array of `bitmap`, at least ALIGN(npages, 64)/8
        // bytes (checked above), which the kernel writes; `bitmap` stays reachable until the call returns.
        var rc = _table.Vm.VmIoctl(KvmIoctls.KVM_GET_DIRTY_LOG.Value, &log);
        GC.KeepAlive(bitmap);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_GET_DIRTY_LOG.Name, KvmIoctls.KVM_GET_DIRTY_LOG.Value, KvmFdKind.Vm, ToString());
        bitmap.BaseGpa = GuestPhysicalAddress;
    }

    /// <summary><c>KVM_CLEAR_DIRTY_LOG</c>: for each set bit of <paramref name="bitmap"/> in pages
    /// [<paramref name="firstPage"/>, + <paramref name="pageCount"/>) (null: to the end of the slot), clears the page's
    /// dirty bit in the kernel and write-protects it again, so the next write is logged. Pass the bitmap
    /// <see cref="GetDirtyLog"/> filled to re-protect exactly what it reported. Meant for VMs with
    /// <see cref="VmFd.EnableManualDirtyLogProtect"/> (<c>KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2</c>).</summary>
    /// <exception cref="ArgumentException">The kernel's EINVAL rules: <paramref name="firstPage"/> must be a multiple
    /// of 64 and inside the slot, the range must end inside the slot, and a range that stops short of the slot's end
    /// must be a multiple of 64 pages; also a slot without dirty logging (ENOENT) or a VM on the dirty ring (ENXIO).</exception>
    /// <exception cref="ObjectDisposedException">The slot was deleted.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    public unsafe void ClearDirtyLog(DirtyBitmap bitmap, ulong firstPage = 0, ulong? pageCount = null)
    {
        RequireLogging(bitmap);
        var pages = PageCount;
        if (firstPage % 64 != 0)
            Fail.Range(nameof(firstPage), firstPage, "KVM_CLEAR_DIRTY_LOG: first_page must be a multiple of 64 (EINVAL)");
        if (firstPage >= pages)
            Fail.Range(nameof(firstPage), firstPage, $"KVM_CLEAR_DIRTY_LOG: first_page must lie inside the slot's {pages} pages (EINVAL)");
        var count = pageCount ?? pages - firstPage;
        if (count == 0 || count > pages - firstPage)
            Fail.Range(nameof(pageCount), count, $"KVM_CLEAR_DIRTY_LOG: num_pages must be 1 .. {pages - firstPage} (to the slot's end; EINVAL)");
        if (count < pages - firstPage && count % 64 != 0)
            Fail.Range(nameof(pageCount), count, "KVM_CLEAR_DIRTY_LOG: num_pages must be a multiple of 64 unless the range reaches the slot's end (EINVAL)");
        var clear = new kvm_clear_dirty_log
        {
            slot = Region.slot,
            num_pages = (uint)count,
            first_page = firstPage,
            dirty_bitmap = (nint)bitmap.WordPointer((int)(firstPage / 64)),
        };
        // SAFETY: `clear` is a stack local; its bitmap pointer is word firstPage/64 of the pinned array of `bitmap`,
        // which covers the whole slot, so the ALIGN(num_pages, 64)/8 bytes the kernel reads lie inside it.
        var rc = _table.Vm.VmIoctl(KvmIoctls.KVM_CLEAR_DIRTY_LOG.Value, &clear);
        GC.KeepAlive(bitmap);
        if (rc < 0)
            Fail.Ioctl(rc, KvmIoctls.KVM_CLEAR_DIRTY_LOG.Name, KvmIoctls.KVM_CLEAR_DIRTY_LOG.Value, KvmFdKind.Vm,
                $"{this}, pages [{firstPage}, +{count})");
    }

    private void RequireLogging(DirtyBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        if (IsDeleted)
            throw new ObjectDisposedException(nameof(SlotHandle), $"{this} was deleted");
        if (!IsDirtyLogging)
            Fail.Argument(nameof(bitmap), $"{this} does not log dirty pages (KVM_MEM_LOG_DIRTY_PAGES; the kernel answers ENOENT): call SetDirtyLogging(true) first");
        if (bitmap.PageCount < PageCount)
            Fail.Argument(nameof(bitmap), $"the bitmap covers {bitmap.PageCount} pages, the slot {PageCount}");
        if (_table.Vm.DirtyRing is { IsEnabled: true })
            Fail.Argument(nameof(bitmap), "this VM logs dirty pages in per-vCPU dirty rings (KVM_CAP_DIRTY_LOG_RING): the bitmap ioctls answer ENXIO");
    }
}
