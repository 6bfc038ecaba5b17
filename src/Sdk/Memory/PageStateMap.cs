namespace Kvm;

/// <summary>
/// The SDK's record of which pages of one memory object (a guest_memfd file, or an anonymous mapping) are private,
/// and which byte ranges are currently leased to host code as spans. Both live under one lock so that a conversion to
/// private and a host access can never overlap: a lease is refused on a private page, and a conversion to private is
/// refused while a lease overlaps it. Private pages are kept as ranges (<see cref="RangeSet"/>): memory grows with the
/// number of conversions, not the file size, so a 2^62-byte guest_memfd costs one range.
/// </summary>
internal sealed class PageStateMap
{
    private readonly RangeSet _private;
    private readonly Dictionary<long, (ulong Start, ulong End)> _leases = new(4);
    private static long s_nextLeaseId;

    public PageStateMap(ulong sizeBytes, PageState initial)
    {
        SizeBytes = sizeBytes;
        _private = initial == PageState.Private ? new RangeSet(0, sizeBytes) : new RangeSet();
    }

    public object Lock => _leases;

    public ulong SizeBytes { get; }

    public PageState Get(ulong offset)
    {
        lock (Lock)
            return _private.Contains(offset) ? PageState.Private : PageState.Shared;
    }

    public bool AnyPrivate(ulong offset, ulong length)
    {
        lock (Lock)
            return AnyPrivateLocked(offset, length);
    }

    /// <summary>Registers a host lease and returns its id (unique in the process); throws when any page of the range
    /// is private.</summary>
    public long AcquireLease(ulong offset, ulong length, string what)
    {
        lock (Lock)
        {
            if (AnyPrivateLocked(offset, length))
                throw new InvalidOperationException(
                    $"{what} [0x{offset:X}, 0x{offset + length:X}) contains private pages: the host must not touch private guest_memfd memory (it would be a SIGBUS)");
            var id = Interlocked.Increment(ref s_nextLeaseId);
            _leases.Add(id, (offset, offset + length));
            return id;
        }
    }

    /// <summary>Ends lease <paramref name="id"/>; false when it had ended already (a copy of the token was disposed).</summary>
    public bool ReleaseLease(long id)
    {
        lock (Lock)
            return _leases.Remove(id);
    }

    /// <summary>True while lease <paramref name="id"/> has not ended.</summary>
    public bool IsLeaseLive(long id)
    {
        lock (Lock)
            return _leases.ContainsKey(id);
    }

    /// <summary>Marks a range private before the conversion ioctl (so no new lease can start); refuses while a lease
    /// overlaps it. Must be called with <see cref="Lock"/> held.</summary>
    public void MarkPrivateLocked(ulong offset, ulong length)
    {
        foreach (var (s, e) in _leases.Values)
            if (s < offset + length && offset < e)
                throw new InvalidOperationException(
                    $"[0x{offset:X}, 0x{offset + length:X}) overlaps a live host span lease [0x{s:X}, 0x{e:X}): dispose the lease before converting the memory to private");
        _private.Add(offset, length);
    }

    /// <summary>Marks a range shared after a successful conversion. Must be called with <see cref="Lock"/> held.</summary>
    public void MarkSharedLocked(ulong offset, ulong length) => _private.Remove(offset, length);

    /// <summary>Number of private ranges (memory use grows with this, not with the size).</summary>
    public int PrivateRangeCount
    {
        get
        {
            lock (Lock)
                return _private.Count;
        }
    }

    private bool AnyPrivateLocked(ulong offset, ulong length) => _private.ContainsAny(offset, length);
}
