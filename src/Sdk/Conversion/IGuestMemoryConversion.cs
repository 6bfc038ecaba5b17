namespace Kvm;

/// <summary>
/// Converts guest memory between private and shared, over whichever backend the kernel and the caller's ABI offer:
/// the mainline VM-level <c>KVM_SET_MEMORY_ATTRIBUTES</c> (<see cref="VmFd.Conversion"/>), or in-place conversion on
/// the guest_memfd (proposed ABIs: <see cref="VmFd.InPlaceConversion"/>, driven by the in-place profile the caller builds
/// against and the run-time detection, and the older <see cref="VmFd.InPlaceConversionV8"/> and
/// <see cref="VmFd.InPlaceConversionRfcV2"/>, all <c>[Experimental]</c>). Ranges spanning memslots: <see cref="GuestRangeConverter"/>. Ranges are guest-physical; the SDK records the state of every page it converted, and
/// for in-place backends updates the guest_memfd's page state so that <see cref="GmemMapping"/> refuses host access to
/// private pages (a host touch of a private guest_memfd page is a SIGBUS).
/// </summary>
public interface IGuestMemoryConversion
{
    /// <summary>Which kernel interface the conversions use.</summary>
    ConversionBackend Backend { get; }

    /// <summary>Makes the range private. Allocation-free on success.</summary>
    /// <exception cref="ArgumentException">Unaligned, empty or wrapping range; for in-place backends a range not
    /// covered by one guest_memfd memslot; or a host span lease on that memory is still active.</exception>
    /// <exception cref="KvmException">The kernel refused (EINVAL, ENOMEM; EAGAIN with <see cref="KvmException.ErrorOffset"/>
    /// for in-place conversion when a page is still referenced).</exception>
    void ToPrivate(ulong gpa, ulong size);

    /// <summary>Makes the range shared. Contents of converted pages are not guaranteed to be preserved.</summary>
    /// <exception cref="ArgumentException">As <see cref="ToPrivate"/>.</exception>
    /// <exception cref="KvmException">The kernel refused.</exception>
    void ToShared(ulong gpa, ulong size);

    /// <summary><see cref="ToPrivate"/>, returning the kernel's refusal (e.g. EAGAIN + error offset) as a value.</summary>
    KvmResult TryToPrivate(ulong gpa, ulong size);

    /// <summary><see cref="ToShared"/>, returning the kernel's refusal as a value.</summary>
    KvmResult TryToShared(ulong gpa, ulong size);

    /// <summary>The state the SDK last set (or the initial state) for the page containing <paramref name="gpa"/>.</summary>
    PageState GetState(ulong gpa);
}

/// <summary>The interface a conversion goes through.</summary>
public enum ConversionBackend
{
    /// <summary>Mainline (6.8+): VM-fd <c>KVM_SET_MEMORY_ATTRIBUTES</c>, gated by <c>KVM_CAP_MEMORY_ATTRIBUTES</c>.</summary>
    VmMemoryAttributes,
    /// <summary>PROPOSED (in-place conversion v8): guest_memfd-fd <c>KVM_SET_MEMORY_ATTRIBUTES2</c>, gated by
    /// <c>KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES</c>; numbers from the caller's ABI table.</summary>
    GuestMemfdAttributes2,
    /// <summary>PROPOSED, ABANDONED (1G-page RFC v2): guest_memfd-fd <c>KVM_GMEM_CONVERT_SHARED/PRIVATE</c>, gated by
    /// <c>KVM_CAP_GMEM_CONVERSION</c>; numbers from the caller's ABI table.</summary>
    GuestMemfdConvertRfcV2,
}

/// <summary>Private/shared state of one guest page as the SDK knows it.</summary>
public enum PageState : byte
{
    /// <summary>Shared: host-accessible.</summary>
    Shared = 0,
    /// <summary>Private: guest-only; host access through a guest_memfd mapping would SIGBUS.</summary>
    Private = 1,
}
