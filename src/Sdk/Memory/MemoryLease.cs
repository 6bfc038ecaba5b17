namespace Kvm;

/// <summary>
/// Host access to a range of a <see cref="HostMapping"/>, as a span that cannot be stored in a field or captured
/// (a <c>ref struct</c>). While the lease lives, the range cannot be converted to private and the mapping is not
/// unmapped (disposing the mapping defers the munmap until the last lease ends). Use it in a <c>using</c>:
/// <code>using (var lease = mapping.Lease(0, 4096)) lease.Span[0] = 0xF4;</code>
/// Do not keep <see cref="Span"/> past <see cref="Dispose"/>: the memory may be converted or unmapped afterwards.
/// </summary>
public ref struct MemoryLease
{
    private HostMapping? _owner;
    private readonly ulong _offset;

    internal MemoryLease(HostMapping owner, ulong offset, Span<byte> span)
    {
        _owner = owner;
        _offset = offset;
        Span = span;
    }

    /// <summary>The leased bytes.</summary>
    public Span<byte> Span { get; private set; }

    /// <summary>The lease's byte offset in the mapping.</summary>
    public readonly ulong Offset => _offset;

    /// <summary>Ends the lease; the span must not be used afterwards.</summary>
    public void Dispose()
    {
        var owner = _owner;
        _owner = null;
        if (owner is not null)
        {
            var length = (ulong)Span.Length;
            Span = default;
            owner.EndLease(_offset, length);
        }
    }
}
