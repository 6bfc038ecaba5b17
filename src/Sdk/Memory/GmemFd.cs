using Kvm.Interop;
using Kvm.Syscalls;
using static Tmds.Linux.LibC;

namespace Kvm;

/// <summary>
/// An owned guest_memfd file (<c>KVM_CREATE_GUEST_MEMFD</c>), close-on-exec. Its size is fixed at creation.
/// </summary>
/// <remarks>
/// <para><b>Lifetime.</b> A memslot bound to this guest_memfd (<see cref="SlotHandle"/>) holds a reference to the fd:
/// disposing the <see cref="GmemFd"/> while a slot is bound makes this object unusable
/// (<see cref="ObjectDisposedException"/>) but defers closing the fd until the last such slot is deleted, so the
/// binding never silently dies under a running guest. A <see cref="GmemMapping"/> keeps the fd open the same way until
/// it is unmapped, so a mapping can be bound after its GmemFd was disposed. The guest_memfd holds a kernel reference to its VM, so the VM lives on (and this
/// object stays usable) after <see cref="VmFd.Dispose"/>.</para>
/// <para><b>Page state.</b> The SDK tracks which pages are private, as ranges (a 2^62-byte file costs one): all of
/// them at creation unless <c>GUEST_MEMFD_FLAG_INIT_SHARED</c> was given — or unless the VM has no private memory
/// (<see cref="VmFd.SupportsPrivateMemory"/>) and the file is not mappable, in which case the kernel never lets the
/// guest reach it and every page reads as shared, as the kernel sees it. In-place conversions update the state.</para>
/// </remarks>
public sealed unsafe class GmemFd : IDisposable
{
    private readonly SafeHandleRef _fd;
    private readonly IKvmSyscalls _sys;
    private readonly DisjointRangeMap<SlotHandle> _bindings = new(); // by guest_memfd offset: O(log n) overlap checks

    internal GmemFd(VmFd vm, KvmFdHandle handle, IKvmSyscalls sys, ulong size, GuestMemfdFlags flags)
    {
        Vm = vm;
        _fd = new SafeHandleRef(handle, nameof(GmemFd));
        _sys = sys;
        Size = size;
        Flags = flags;
        PageStates = new PageStateMap(size, InitialState(vm, flags));
    }

    // Which side backs a page at first, as the kernel sees it: INIT_SHARED pages are shared; a guest_memfd that cannot
    // be mapped, on a VM without private memory, is never what the guest accesses (its slots' shared side is).
    private static PageState InitialState(VmFd vm, GuestMemfdFlags flags) =>
        flags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_INIT_SHARED) ||
        (!flags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP) && !vm.SupportsPrivateMemory)
            ? PageState.Shared
            : PageState.Private;

    /// <summary>The VM the guest_memfd belongs to (it can be bound only to that VM's memslots).</summary>
    public VmFd Vm { get; }

    /// <summary>The file size in bytes (<c>kvm_create_guest_memfd.size</c>).</summary>
    public ulong Size { get; }

    /// <summary>The creation flags.</summary>
    public GuestMemfdFlags Flags { get; }

    /// <summary>True when created with <c>GUEST_MEMFD_FLAG_MMAP</c>: <see cref="Map()"/> is allowed.</summary>
    public bool IsMappable => Flags.HasFlag(GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP);

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => _fd.IsClosed;

    internal PageStateMap PageStates { get; }

    internal SafeHandleRef Fd => _fd;

    /// <summary>Lends this guest_memfd fd for raw <c>Kvm.Interop</c> calls without giving up ownership: the returned
    /// <see cref="FdBorrow"/> holds a reference that keeps the number open (and not reused) until it is disposed,
    /// even across a concurrent Dispose of this object.</summary>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public FdBorrow BorrowFd() => _fd.Borrow();

    /// <summary>The SDK's view of the page at <paramref name="offset"/>: private or shared.</summary>
    public PageState GetState(ulong offset)
    {
        if (offset >= Size)
            Fail.Range(nameof(offset), offset, $"offset must be below the guest_memfd size {Size}");
        return PageStates.Get(offset);
    }

    /// <summary><c>fallocate(FALLOC_FL_KEEP_SIZE)</c>: allocates backing pages for the range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Offset or length not page-aligned, length 0, or the range passes
    /// the end of the file (the kernel's EINVAL, "immutable size").</exception>
    /// <exception cref="KvmException">fallocate failed (ENOMEM, ENOSPC, EINTR).</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void Allocate(ulong offset, ulong length)
    {
        var r = TryAllocate(offset, length);
        if (!r.IsSuccess)
            Fail.Syscall(-(int)r.Errno, "fallocate(FALLOC_FL_KEEP_SIZE)", KvmFdKind.GuestMemfd);
    }

    /// <summary><see cref="Allocate"/>, returning the errno as a value (arguments still checked first).</summary>
    public KvmResult TryAllocate(ulong offset, ulong length)
    {
        CheckRange(offset, length, allowPastEnd: false);
        return Fallocate(FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /// <summary><c>fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)</c>: frees the range's pages (they read back as
    /// zero). A range at or after the end of the file is accepted and does nothing, as in the kernel.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Offset or length not page-aligned, or length 0.</exception>
    /// <exception cref="KvmException">fallocate failed.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public void PunchHole(ulong offset, ulong length)
    {
        var r = TryPunchHole(offset, length);
        if (!r.IsSuccess)
            Fail.Syscall(-(int)r.Errno, "fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)", KvmFdKind.GuestMemfd);
    }

    /// <summary><see cref="PunchHole"/>, returning the errno as a value.</summary>
    public KvmResult TryPunchHole(ulong offset, ulong length)
    {
        CheckRange(offset, length, allowPastEnd: true);
        return Fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
    }

    /// <summary>Maps the whole file shared read/write (<c>mmap(MAP_SHARED)</c>; Linux 6.18+).</summary>
    /// <exception cref="InvalidOperationException">The guest_memfd was not created with <c>GUEST_MEMFD_FLAG_MMAP</c>
    /// (the kernel would answer ENODEV); checked before mmap.</exception>
    /// <exception cref="KvmException">mmap failed (ENOMEM for a file larger than the address space can hold: map a
    /// window instead).</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public GmemMapping Map() => Map(0, Size);

    /// <summary>Maps <paramref name="length"/> bytes of the file from <paramref name="offset"/>, shared read/write
    /// (<c>mmap(MAP_SHARED)</c> at that file offset; Linux 6.18+): a window, for files too large to map whole. Leases
    /// and page states use the mapping's own offsets; memslots take guest_memfd offsets inside the window.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Offset or length not page-aligned, length 0, or the window
    /// passes the end of the file.</exception>
    /// <exception cref="InvalidOperationException">Not created with <c>GUEST_MEMFD_FLAG_MMAP</c> (ENODEV).</exception>
    /// <exception cref="KvmException">mmap failed.</exception>
    /// <exception cref="ObjectDisposedException">Disposed.</exception>
    public GmemMapping Map(ulong offset, ulong length)
    {
        if (!IsMappable)
            throw new InvalidOperationException(
                "only a guest_memfd created with GUEST_MEMFD_FLAG_MMAP can be mapped (the kernel answers ENODEV otherwise)");
        CheckRange(offset, length, allowPastEnd: false);
        if (length > (ulong)nint.MaxValue)
            Fail.Range(nameof(length), length, "the window must fit in the address space");
        var h = _fd.Enter();   // this reference becomes the mapping's: it keeps the fd open until the unmap
        try
        {
            var p = _sys.MmapShared((nuint)length, h.Fd, (long)offset, out var errno);
            if (p == null)
                Fail.Syscall(-errno, "mmap", KvmFdKind.GuestMemfd, $"window [0x{offset:X}, +0x{length:X})");
            return new GmemMapping(_sys, (byte*)p, this, offset, length);
        }
        catch
        {
            _fd.Exit();
            throw;
        }
    }

    /// <summary>Memslots currently bound to this guest_memfd.</summary>
    public int BoundSlotCount
    {
        get
        {
            lock (_bindings)
                return _bindings.Count;
        }
    }

    /// <summary>Marks this object disposed. The fd closes now, or when the last memslot bound to it is deleted.</summary>
    public void Dispose() => _fd.Dispose();

    internal SlotHandle? FindBindingOverlap(ulong offset, ulong length)
    {
        lock (_bindings)
            return _bindings.FindOverlap(offset, offset + length);
    }

    internal void AddBinding(ulong offset, ulong length, SlotHandle slot)
    {
        lock (_bindings)
            _bindings.Add(offset, offset + length, slot);
    }

    internal void RemoveBinding(SlotHandle slot)
    {
        lock (_bindings)
            _bindings.Remove(slot.GuestMemfdOffset, slot);
    }

    private void CheckRange(ulong offset, ulong length, bool allowPastEnd)
    {
        Pages.RequireAligned(offset, nameof(offset), "guest_memfd offset");
        Pages.RequireNonZeroAligned(length, nameof(length), "guest_memfd range length");
        Pages.RequireNoWrap(offset, length, nameof(length), "guest_memfd range");
        if (!allowPastEnd && offset + length > Size)
            Fail.Range(nameof(length), length,
                $"[0x{offset:X}, 0x{offset + length:X}) passes the end of the {Size}-byte guest_memfd (its size is immutable)");
        if (offset + length > long.MaxValue)
            Fail.Range(nameof(length), length, "the range must fit in a signed 64-bit file offset");
    }

    private KvmResult Fallocate(int mode, ulong offset, ulong length)
    {
        var h = _fd.Enter();
        try
        {
            var rc = _sys.Fallocate(h.Fd, mode, (long)offset, (long)length);
            return rc < 0 ? new KvmResult((Errno)(-rc)) : KvmResult.Success;
        }
        finally
        {
            _fd.Exit();
        }
    }
}
