#pragma warning disable KVMEXP001 // the experimental profile types refer to each other
using System.Diagnostics.CodeAnalysis;

namespace Kvm;

public sealed unsafe partial class VmFd
{
    private readonly object _inPlaceLock = new();
    private InPlaceDetection? _inPlaceDetection;
    private bool _inPlaceDetected;
    private IGuestMemoryConversion? _inPlace;

    /// <summary>
    /// PROPOSED: asks the running kernel, on this VM, whether it implements <paramref name="profile"/> (default: the
    /// profile of the ABI table passed to <see cref="KvmSystem.Open"/>). Reads <c>/sys/module/kvm/parameters/</c>
    /// (<c>vm_memory_attributes</c>, <c>gmem_in_place_conversion</c>), asks <c>KVM_CHECK_EXTENSION</c> with the
    /// profile's <c>KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES</c> number, issues <c>KVM_SET_MEMORY_ATTRIBUTES2</c> with size 0
    /// on a new one-page guest_memfd (EINVAL = the ioctl exists, ENOTTY = it does not), and
    /// <c>KVM_SET_MEMORY_ATTRIBUTES</c> with size 0 on the VM fd (ENOTTY = no VM-level attributes). Nothing is
    /// converted. Errnos are answers here, never exceptions.
    /// </summary>
    /// <returns>The verdict and every signal; null when no profile was given and the table has none (released headers).</returns>
    /// <exception cref="NotSupportedException">The table's ioctl encodes a struct size other than 128 bytes.</exception>
    /// <exception cref="ObjectDisposedException">The VM was disposed.</exception>
    [Experimental("KVMEXP001", UrlFormat = "docs/diagnostics/{0}.md")]
    public InPlaceDetection? DetectInPlace(InPlaceProfile? profile = null)
    {
        profile ??= InPlaceProfile.From(System.Abi);
        return profile is null ? null : InPlaceDetector.Detect(this, _sys, profile);
    }

    /// <summary>
    /// PROPOSED: in-place conversion (<c>KVM_SET_MEMORY_ATTRIBUTES2</c> on the guest_memfd fd) by the numbers of the ABI
    /// table passed to <see cref="KvmSystem.Open"/> — v7 or v8 or any later overlay with the 128-byte struct. Non-null
    /// only when <see cref="DetectInPlace"/> (run once, on first use) says <see cref="InPlaceVerdict.Matches"/>: every
    /// signal agrees, so a colliding capability number on a released kernel cannot turn it on. Errors follow the
    /// postings: EAGAIN with <c>error_offset</c> when a page is still referenced, EINVAL for bad ranges.
    /// </summary>
    /// <exception cref="NotSupportedException">The table's ioctl encodes a struct size other than 128 bytes.</exception>
    [Experimental("KVMEXP001", UrlFormat = "docs/diagnostics/{0}.md")]
    public IGuestMemoryConversion? InPlaceConversion
    {
        get
        {
            lock (_inPlaceLock)
            {
                if (!_inPlaceDetected)
                {
                    _inPlaceDetection = DetectInPlace();
                    if (_inPlaceDetection is { Verdict: InPlaceVerdict.Matches } d)
                        _inPlace = new Attributes2Conversion(this, _sys, d.Profile.Request);
                    _inPlaceDetected = true;
                }
                return _inPlace;
            }
        }
    }

    /// <summary>PROPOSED: the detection behind <see cref="InPlaceConversion"/> (null before its first use, or when the
    /// ABI table has no in-place profile). Read it to learn why <see cref="InPlaceConversion"/> is null.</summary>
    [Experimental("KVMEXP001", UrlFormat = "docs/diagnostics/{0}.md")]
    public InPlaceDetection? InPlaceDetectionResult
    {
        get
        {
            lock (_inPlaceLock)
                return _inPlaceDetection;
        }
    }
}
