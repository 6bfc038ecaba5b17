using System.Runtime.InteropServices;
using Kvm.Syscalls;
using Kvm.Interop;

namespace Kvm;

/// <summary>
/// A shared read/write mapping owned by the SDK: anonymous memory, base or hugetlb pages (<see cref="HostMemory"/>), a
/// memfd (<see cref="MemfdMemory"/>), a regular or hugetlbfs file (<see cref="FileMapping"/>), or a guest_memfd file
/// (<see cref="GmemMapping"/>). Host code reaches the bytes only through <see cref="Lease"/> (a span that cannot
/// outlive the lease) or the copying <see cref="Read"/>/<see cref="Write"/>, each checked against the SDK's page
/// state so that private pages are never touched. Disposing unmaps (<c>munmap</c>), deferred while a lease or a
/// memslot holds the mapping; the finalizer of a mapping nobody disposed unmaps under the same rule, so a lease that
/// was never ended keeps the memory mapped rather than let its span reach reused addresses.
/// </summary>
public abstract unsafe class HostMapping : IDisposable
{
    private readonly IKvmSyscalls _sys;
    private readonly object _gate = new();
    private byte* _address;
    private int _holds;      // live leases + memslots using the mapping
    private bool _disposed;
    private bool _abandoned; // finalized without Dispose
    private readonly SafeHandle? _file; // an fd owned beside the memory (a memfd); the mapping itself does not need it

    private protected HostMapping(IKvmSyscalls sys, byte* address, ulong length, PageStateMap pages, ulong pageBase,
        SafeHandle? file = null)
    {
        _sys = sys;
        _file = file;
        _address = address;
        Length = length;
        Pages = pages;
        PageBase = pageBase;
    }

    /// <summary>Bytes mapped.</summary>
    public ulong Length { get; }

    /// <summary>True after <see cref="Dispose"/>.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed);

    internal PageStateMap Pages { get; }

    /// <summary>Offset of byte 0 of this mapping in <see cref="Pages"/>' coordinates.</summary>
    internal ulong PageBase { get; }

    /// <summary>The mapped address, for memslot registration only (the caller holds the mapping alive).</summary>
    internal nint AddressForSlot
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsDisposed, this);
            return (nint)_address;
        }
    }

    private protected virtual string What => "host memory";

    /// <summary>Leases <paramref name="length"/> bytes at <paramref name="offset"/> as a span.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the mapping.</exception>
    /// <exception cref="InvalidOperationException">The range contains pages the SDK knows are private.</exception>
    /// <exception cref="ObjectDisposedException">The mapping was disposed.</exception>
    public MemoryLease Lease(ulong offset, int length)
    {
        CheckRange(offset, length);
        long id;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            id = Pages.AcquireLease(PageBase + offset, (ulong)length, What);
            _holds++;
        }
        // SAFETY: the range was checked to lie inside the live mapping, its pages are shared (checked under the page
        // lock), and the lease keeps the mapping mapped and the pages shared until it is ended; the span it hands out
        // is checked against the lease and scoped to the lease variable (MemoryLease).
        return new MemoryLease(this, id, offset, _address + offset, length);
    }

    internal bool IsLeaseLive(long id) => Pages.IsLeaseLive(id);

    /// <summary>Copies bytes out of the mapping (a lease for the duration of the copy).</summary>
    /// <exception cref="InvalidOperationException">The range contains private pages.</exception>
    public void Read(ulong offset, Span<byte> destination)
    {
        using var lease = Lease(offset, destination.Length);
        lease.Span.CopyTo(destination);
    }

    /// <summary>Copies bytes into the mapping (a lease for the duration of the copy).</summary>
    /// <exception cref="InvalidOperationException">The range contains private pages.</exception>
    public void Write(ulong offset, ReadOnlySpan<byte> source)
    {
        using var lease = Lease(offset, source.Length);
        source.CopyTo(lease.Span);
    }

    /// <summary><c>madvise(MADV_REMOVE)</c> on [<paramref name="offset"/>, +<paramref name="length"/>): frees the
    /// backing pages (a discard after the range went private: the host side is unused). Range checked first.</summary>
    internal KvmResult TryDiscard(ulong offset, ulong length)
    {
        if (offset > Length || length > Length - offset)
            Fail.Range(nameof(offset), offset, $"[{offset}, {offset}+{length}) is outside the {Length}-byte mapping");
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // SAFETY: the range lies inside the live mapping (checked above, under the gate that Unmap takes); MADV_REMOVE
            // only drops the pages' contents, the mapping stays valid and reads back zeroes.
            var rc = _sys.MadviseRemove(_address + offset, (nuint)length);
            return rc < 0 ? new KvmResult((Errno)(-rc)) : KvmResult.Success;
        }
    }

    /// <summary>A memslot uses this mapping as its host memory: keep it mapped until the slot is deleted.</summary>
    internal void AddSlotHold()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _holds++;
        }
    }

    internal void ReleaseSlotHold() => EndHold();

    /// <summary>Ends lease <paramref name="id"/> once; a second end (through a copy of the token) does nothing.</summary>
    internal void EndLease(long id)
    {
        if (Pages.ReleaseLease(id))
            EndHold();
    }

    private void EndHold()
    {
        lock (_gate)
        {
            _holds--;
            if ((_disposed || _abandoned) && _holds == 0)
                Unmap();
        }
    }

    private void CheckRange(ulong offset, int length)
    {
        if (length < 0 || offset > Length || (ulong)length > Length - offset)
            Fail.Range(nameof(offset), offset, $"[{offset}, {offset}+{length}) is outside the {Length}-byte mapping");
    }

    /// <summary>Unmaps now, or when the last live lease ends; an fd owned beside the memory (a memfd) closes now, as the
    /// mapping holds its own reference to the file.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            if (_holds == 0)
                Unmap();
        }
        _file?.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Unmaps if the owner forgot to dispose, unless a lease is still live: a lease that was never ended may
    /// have a span in use on some stack (the lease token itself need not be reachable for that), so the memory stays
    /// mapped. So can a memslot hold when the VM was dropped with this mapping: the slot table releases it later.</summary>
    ~HostMapping()
    {
        lock (_gate)
        {
            _abandoned = true;
            if (_holds == 0)
                Unmap();
        }
    }

    private void Unmap()
    {
        if (_address != null)
        {
            _sys.Munmap(_address, (nuint)Length);
            _address = null;
            OnUnmapped();
        }
    }

    /// <summary>Called once, after the memory is unmapped (from Dispose, the last hold's end, or the finalizer).</summary>
    private protected virtual void OnUnmapped()
    {
    }
}
