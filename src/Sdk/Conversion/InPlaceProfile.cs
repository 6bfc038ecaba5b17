using System.Diagnostics.CodeAnalysis;
using Kvm.Interop;

namespace Kvm;

/// <summary>
/// PROPOSED: which posting of "guest_memfd: In-place conversion support" an ABI table describes, read from the table
/// the caller builds against (an overlay under <c>uapi-headers/proposed/inplace-conversion-v*</c>): the
/// <c>KVM_SET_MEMORY_ATTRIBUTES2</c> request, the <c>KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES</c> number, and the
/// overlay's <c>KVM_SDK_INPLACE_POSTING</c> marker. The numbers are never the SDK's own; the only posting facts the SDK
/// keeps are the opt-in module parameters, which are names, not ABI (v7: <c>kvm.vm_memory_attributes=N</c>; v8:
/// <c>kvm.gmem_in_place_conversion=Y</c>). Creating a profile issues no syscall.
/// </summary>
[Experimental("KVMEXP001", UrlFormat = "docs/diagnostics/{0}.md")]
public sealed class InPlaceProfile
{
    /// <summary>The module parameter of v7 and earlier: in-place conversion is on when it reads <c>N</c>.</summary>
    public const string V7Parameter = "vm_memory_attributes";

    /// <summary>The module parameter of v8: in-place conversion is on when it reads <c>Y</c>.</summary>
    public const string V8Parameter = "gmem_in_place_conversion";

    private InPlaceProfile(string table, int? posting, uint request, int capability)
    {
        Table = table;
        Posting = posting;
        Request = request;
        Capability = capability;
    }

    /// <summary>The ABI table's profile name (e.g. <c>7.3.4+inplace-conversion-v7</c>).</summary>
    public string Table { get; }

    /// <summary>The posting number from the table's <c>KVM_SDK_INPLACE_POSTING</c>; null when the table lacks it (a
    /// header of unknown origin: its module parameter is then unknown and detection uses the kernel's answers only).</summary>
    public int? Posting { get; }

    /// <summary><c>KVM_SET_MEMORY_ATTRIBUTES2</c> as the table defines it.</summary>
    public uint Request { get; }

    /// <summary><c>KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES</c> as the table defines it (249 in v7, 250 in v8: both are
    /// released capabilities of other architectures in 7.3).</summary>
    public int Capability { get; }

    /// <summary>The kvm module parameter that turns this posting on, or null when the posting is unknown.</summary>
    public string? Parameter => Posting switch { <= 7 and >= 1 => V7Parameter, 8 => V8Parameter, _ => null };

    /// <summary>What <see cref="Parameter"/> reads when in-place conversion is on (<c>N</c> for v7, <c>Y</c> for v8).</summary>
    public string? EnabledValue => Posting switch { <= 7 and >= 1 => "N", 8 => "Y", _ => null };

    /// <summary>The in-place profile of <paramref name="abi"/>, or null when the table has no
    /// <c>KVM_SET_MEMORY_ATTRIBUTES2</c> or no <c>KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES</c> (released headers).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="abi"/> is null.</exception>
    /// <exception cref="NotSupportedException">The table's ioctl encodes an argument size other than the 128 bytes of
    /// v7/v8 (another revision of the proposal).</exception>
    public static InPlaceProfile? From(UapiTable abi)
    {
        ArgumentNullException.ThrowIfNull(abi);
        unsafe
        {
            if (ProposedAbi.Ioctl(abi, ProposedAbi.Attributes2Ioctl, sizeof(KvmMemoryAttributes2)) is not { } request ||
                ProposedAbi.Cap(abi, ProposedAbi.Attributes2Cap) is not { } cap)
                return null;
            int? posting = abi.TryGetConstant(ProposedAbi.PostingMarker, out var p) && p is > 0 and < 1000 ? (int)p : null;
            return new InPlaceProfile(abi.Profile, posting, (uint)request, cap);
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Posting is { } p ? $"v{p}" : "unknown posting")} ({Table}): KVM_SET_MEMORY_ATTRIBUTES2 0x{Request:X8}, capability {Capability}" +
        (Parameter is { } n ? $", kvm.{n}={EnabledValue}" : "");
}
