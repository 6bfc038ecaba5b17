using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// A shared read/write mapping owned by the SDK: anonymous memory (<see cref="HostMemory"/>) or a guest_memfd file
/// (<see cref="GmemMapping"/>). Host code reaches the bytes only through <see cref="Lease"/> (a span that cannot
/// outlive the lease) or the copying <see cref="Read"/>/<see cref="Write"/>, each checked against the SDK's page
/// state so that private pages are never touched. Disposing unmaps (<c>munmap</c>), deferred while leases are live.
/// </summary>
public abstract unsafe class HostMapping : IDisposable
{
    private readonly IKvmSyscalls _sys;
    private readonly object _gate = new();
    private byte* _address;
    private int _leases;
    private bool _disposed;

    private protected HostMapping(IKvmSyscalls sys, byte* address, ulong length, PageStateMap pages, ulong pageBase)
    {
        _sys = sys;
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
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Pages.AcquireLease(PageBase + offset, (ulong)length, What);
            _leases++;
        }
        // SAFETY: the range was checked to lie inside the live mapping, its pages are shared (checked under the page
        // lock), and the lease keeps the mapping mapped and the pages shared until it is disposed.
        return new MemoryLease(this, offset, new Span<byte>(_address + offset, length));
    }

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

    /// <summary>A memslot uses this mapping as its host memory: keep it mapped until the slot is deleted.</summary>
    internal void AddSlotHold()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _leases++;
        }
    }

    internal void ReleaseSlotHold() => EndHold();

    internal void EndLease(ulong offset, ulong length)
    {
        Pages.ReleaseLease(PageBase + offset, length);
        EndHold();
    }

    private void EndHold()
    {
        lock (_gate)
        {
            _leases--;
            if (_disposed && _leases == 0)
                Unmap();
        }
    }

    private void CheckRange(ulong offset, int length)
    {
        if (length < 0 || offset > Length || (ulong)length > Length - offset)
            Fail.Range(nameof(offset), offset, $"[{offset}, {offset}+{length}) is outside the {Length}-byte mapping");
    }

    /// <summary>Unmaps now, or when the last live lease ends.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
                return;
            _disposed = true;
            if (_leases == 0)
                Unmap();
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Unmaps if the owner forgot to dispose (no lease can be live then: leases are stack-only).</summary>
    ~HostMapping()
    {
        Unmap();
    }

    private void Unmap()
    {
        if (_address != null)
        {
            _sys.Munmap(_address, (nuint)Length);
            _address = null;
        }
    }
}
