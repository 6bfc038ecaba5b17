#pragma warning disable KVMEXP001 // the experimental profile types refer to each other
using System.Diagnostics.CodeAnalysis;

namespace Kvm;

/// <summary>What a running kernel says about one in-place conversion profile.</summary>
public enum InPlaceVerdict
{
    /// <summary>No signal says this posting is in the kernel (no module parameter, capability 0, the ioctl ENOTTY on
    /// the guest_memfd fd): a released kernel.</summary>
    NotInKernel,
    /// <summary>The posting's module parameter exists but reads "off", and the kernel's answers agree.</summary>
    Disabled,
    /// <summary>Every signal says this posting is in the kernel and on: the profile's numbers are safe to use.</summary>
    Matches,
    /// <summary>The signals contradict each other (for example the capability number answers as a released
    /// capability, or the kernel carries another posting's parameter): the SDK refuses to guess.</summary>
    SignalsDisagree,
}

/// <summary>What the VM-level <c>KVM_SET_MEMORY_ATTRIBUTES</c> (mainline, 6.8+) will do with PRIVATE.</summary>
public enum LegacyAttributesOutcome
{
    /// <summary>The ioctl exists and <c>KVM_CAP_MEMORY_ATTRIBUTES</c> on the VM reports PRIVATE: it works.</summary>
    Works,
    /// <summary>The ioctl exists but the VM's <c>KVM_CAP_MEMORY_ATTRIBUTES</c> lacks PRIVATE: EINVAL for PRIVATE (a VM
    /// without private memory, or in-place conversion on).</summary>
    EinvalForPrivate,
    /// <summary>The ioctl does not exist on this kernel (ENOTTY): before 6.8, or built without VM-level attributes.</summary>
    Enotty,
    /// <summary>The kernel answered the probe with an errno the SDK did not expect (see the signal's text).</summary>
    Unknown,
}

/// <summary>One answer the kernel gave. <paramref name="SaysOn"/>: true = this profile is in the kernel and on, false =
/// it is not (or off), null = no opinion.</summary>
/// <param name="Source">Where the answer came from (a module parameter path, a capability, an ioctl).</param>
/// <param name="Answer">The raw answer as text.</param>
/// <param name="SaysOn">What the answer means for the profile.</param>
public sealed record InPlaceSignal(string Source, string Answer, bool? SaysOn);

/// <summary>
/// PROPOSED: the result of <see cref="VmFd.DetectInPlace"/>: which of the kernel's signals say that the profile the
/// caller builds against is the one the running kernel implements, and what the legacy VM-level path will do.
/// </summary>
[Experimental("KVMEXP001", UrlFormat = "docs/diagnostics/{0}.md")]
public sealed class InPlaceDetection
{
    internal InPlaceDetection(InPlaceProfile profile, InPlaceVerdict verdict, IReadOnlyList<InPlaceSignal> signals, LegacyAttributesOutcome legacy)
    {
        Profile = profile;
        Verdict = verdict;
        Signals = signals;
        Legacy = legacy;
    }

    /// <summary>The profile that was asked about.</summary>
    public InPlaceProfile Profile { get; }

    /// <summary>The combined verdict.</summary>
    public InPlaceVerdict Verdict { get; }

    /// <summary>Every signal, in the order asked.</summary>
    public IReadOnlyList<InPlaceSignal> Signals { get; }

    /// <summary>What the VM-level <c>KVM_SET_MEMORY_ATTRIBUTES</c> will do with PRIVATE on this VM.</summary>
    public LegacyAttributesOutcome Legacy { get; }

    /// <summary>One line for people: the verdict and the signals behind it.</summary>
    public override string ToString()
    {
        var verdict = Verdict switch
        {
            InPlaceVerdict.Matches => $"in-place conversion {ProfileName} answers",
            InPlaceVerdict.Disabled => $"in-place conversion {ProfileName} is in this kernel but off",
            InPlaceVerdict.NotInKernel => $"in-place conversion {ProfileName} is not in this kernel",
            _ => $"signals disagree about in-place conversion {ProfileName}: not guessing",
        };
        return $"{verdict} ({string.Join("; ", Signals.Select(s => $"{s.Source} = {s.Answer}"))}); legacy KVM_SET_MEMORY_ATTRIBUTES: {LegacyText(Legacy)}";
    }

    private string ProfileName => Profile.Posting is { } p ? $"v{p}" : $"'{Profile.Table}'";

    /// <summary>The legacy outcome as the probe prints it.</summary>
    public static string LegacyText(LegacyAttributesOutcome o) => o switch
    {
        LegacyAttributesOutcome.Works => "works",
        LegacyAttributesOutcome.EinvalForPrivate => "EINVAL for PRIVATE",
        LegacyAttributesOutcome.Enotty => "ENOTTY",
        _ => "unexpected errno",
    };
}
