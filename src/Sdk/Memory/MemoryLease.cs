using System.Diagnostics.CodeAnalysis;

namespace Kvm;

/// <summary>
/// Host access to a range of a <see cref="HostMapping"/>: a single-use token with a span. While the lease lives, the
/// range cannot be converted to private and the mapping is not unmapped (disposing the mapping defers the munmap until
/// the last lease ends). Use it in a <c>using</c>:
/// <code>using (var lease = mapping.Lease(0, 4096)) lease.Span[0] = 0xF4;</code>
/// </summary>
/// <remarks>
/// <para><b>What the compiler enforces.</b> <see cref="Span"/> cannot leave the block that declares the lease variable:
/// it cannot be returned, stored in a field, or assigned to a variable of an enclosing block (the compiler reports
/// CS8168/CS8352 "may expose referenced variables outside of their declaration scope"). So a span cannot outlive the
/// <c>using</c> that ends its lease.</para>
/// <para><b>What the SDK enforces.</b> A lease is ended exactly once, whichever copy of the struct is disposed; ending
/// it again (through another copy) does nothing. <see cref="Span"/> of an ended lease is empty. A mapping is unmapped
/// only when it was disposed (or finalized) and no lease is live; a lease that is never disposed keeps its mapping
/// mapped for the life of the process (a leak, never a hazard).</para>
/// <para><b>What is left to you.</b> A span already taken from a lease must not be used after that lease (or a copy
/// of it) was disposed in the same block; unsafe code can of course defeat all of the above.</para>
/// </remarks>
public readonly unsafe ref struct MemoryLease
{
    private readonly HostMapping? _owner;
    private readonly long _id;
    private readonly byte* _address;
    private readonly int _length;

    internal MemoryLease(HostMapping owner, long id, ulong offset, byte* address, int length)
    {
        _owner = owner;
        _id = id;
        Offset = offset;
        _address = address;
        _length = length;
    }

    /// <summary>The leased bytes; empty once the lease was ended (through any copy). The span is scoped to the
    /// lease variable's block (see the remarks).</summary>
    [UnscopedRef]
    public Span<byte> Span => _owner is not null && _owner.IsLeaseLive(_id) ? Scoped(in this, _address, _length) : default;

    /// <summary>The lease's byte offset in the mapping.</summary>
    public ulong Offset { get; }

    /// <summary>True until the lease is ended through this or any copy.</summary>
    public bool IsLive => _owner is not null && _owner.IsLeaseLive(_id);

    /// <summary>Ends the lease (once: later calls, on this or any copy, do nothing).</summary>
    public void Dispose() => _owner?.EndLease(_id);

    // The `in` parameter ties the returned span's lifetime to the lease variable it was called on.
    // SAFETY: the caller checked that the lease is live, so [address, +length) lies in a mapping that stays mapped, with
    // shared pages, until this lease ends.
    private static Span<byte> Scoped(in MemoryLease owner, byte* address, int length) => new(address, length);
}
