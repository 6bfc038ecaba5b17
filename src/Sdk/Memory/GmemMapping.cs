using Kvm.Syscalls;

namespace Kvm;

/// <summary>
/// A host mapping (<c>mmap(MAP_SHARED)</c>) of a guest_memfd created with <c>GUEST_MEMFD_FLAG_MMAP</c> (Linux 6.18+):
/// the whole file, or a window of it (<see cref="GmemFd.Map(ulong, ulong)"/>). Host access goes through <see cref="HostMapping.Lease"/>, which refuses pages the SDK knows are
/// private: pages start private unless the guest_memfd was created with <c>GUEST_MEMFD_FLAG_INIT_SHARED</c>, and
/// conversions through the SDK update the state. (The kernel answers a host touch of a private page with SIGBUS, which
/// kills a .NET process.) The mapping keeps the guest_memfd's fd open until it is unmapped, so it stays valid — and
/// can still be bound to a memslot — after the <see cref="GmemFd"/> is disposed.
/// </summary>
public sealed unsafe class GmemMapping : HostMapping
{
    // The caller took a reference on gmem's fd handle for this mapping; OnUnmapped gives it back.
    internal GmemMapping(IKvmSyscalls sys, byte* address, GmemFd gmem, ulong offset, ulong length)
        : base(sys, address, length, gmem.PageStates, offset)
    {
        GuestMemfd = gmem;
    }

    private protected override void OnUnmapped() => GuestMemfd.Fd.Handle.DangerousRelease();

    /// <summary>The guest_memfd this maps.</summary>
    public GmemFd GuestMemfd { get; }

    /// <summary>Offset in the guest_memfd of the mapping's first byte (0 for a whole-file mapping).</summary>
    public ulong GuestMemfdOffset => PageBase;

    /// <summary>The SDK's view of the state of the page at <paramref name="offset"/> (in the mapping).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="offset"/> is not below <see cref="HostMapping.Length"/>.</exception>
    public PageState GetState(ulong offset)
    {
        if (offset >= Length)
            Fail.Range(nameof(offset), offset, $"offset must be below the mapping's length {Length}");
        return Pages.Get(PageBase + offset);
    }

    private protected override string What => "guest_memfd range";
}
