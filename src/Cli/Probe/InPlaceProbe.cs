#pragma warning disable KVMEXP001 // the probe reports the experimental in-place profiles
using Kvm.Generators.Layout;
using Kvm.Interop;

namespace Kvm.Cli.Probe;

/// <summary>
/// The probe's in-place conversion report: the kvm module parameters of every known posting, which in-place profile
/// (each embedded <c>inplace-conversion-v*</c> overlay, parsed by the generator core into an ABI table) the running
/// kernel answers, and what the VM-level <c>KVM_SET_MEMORY_ATTRIBUTES</c> will do — per VM type, since the answers are
/// per VM (a VM without private memory says 0 even where in-place conversion is on).
/// </summary>
internal static class InPlaceProbe
{
    public static void Run(IReadOnlyDictionary<string, VmFd> vms, ProbeReport report, bool arm64)
    {
        foreach (var name in new[] { InPlaceProfile.V7Parameter, InPlaceProfile.V8Parameter })
        {
            var path = $"/sys/module/kvm/parameters/{name}";
            string value;
            try { value = File.Exists(path) ? File.ReadAllText(path).Trim() : "absent"; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { value = "unreadable"; }
            report.InPlace.Add($"kvm.{name} = {value}");
        }
        var profiles = Profiles(arm64 ? TargetArch.Arm64 : TargetArch.X86_64, report);
        foreach (var (type, vm) in vms)
        {
            foreach (var profile in profiles)
            {
                var check = $"in-place conversion {(profile.Posting is { } p ? $"v{p}" : profile.Table)} (KVM_SET_MEMORY_ATTRIBUTES2, capability {profile.Capability})";
                try
                {
                    var d = vm.DetectInPlace(profile)!;
                    var verdict = d.Verdict == InPlaceVerdict.Matches ? Verdict.Pass : Verdict.Unsupported;
                    var signals = string.Join("; ", d.Signals.Select(s => $"{s.Source} = {s.Answer}"));
                    report.Checks.Add(new ProbeCheck(check, type, verdict, $"{Text(d.Verdict)} ({signals})"));
                }
                catch (Exception e) when (e is KvmException or NotSupportedException or InvalidOperationException)
                {
                    report.Checks.Add(new ProbeCheck(check, type, Verdict.Fail, e.Message));
                }
            }
            var legacy = Legacy(vm, profiles);
            report.Checks.Add(new ProbeCheck("legacy KVM_SET_MEMORY_ATTRIBUTES with PRIVATE", type,
                legacy == LegacyAttributesOutcome.Works ? Verdict.Pass : Verdict.Unsupported, InPlaceDetection.LegacyText(legacy)));
        }
    }

    private static LegacyAttributesOutcome Legacy(VmFd vm, IReadOnlyList<InPlaceProfile> profiles) =>
        profiles.Count > 0 ? vm.DetectInPlace(profiles[0])!.Legacy : LegacyAttributesOutcome.Unknown;

    private static string Text(InPlaceVerdict v) => v switch
    {
        InPlaceVerdict.Matches => "this kernel answers this profile",
        InPlaceVerdict.Disabled => "in this kernel but off (module parameter)",
        InPlaceVerdict.NotInKernel => "not in this kernel",
        _ => "signals disagree: not guessing",
    };

    /// <summary>Every embedded in-place overlay as an ABI table, as a program built against it would have.</summary>
    private static IReadOnlyList<InPlaceProfile> Profiles(TargetArch arch, ProbeReport report)
    {
        var list = new List<InPlaceProfile>();
        var baseVersion = HeaderSource.VendoredVersions().OrderBy(v => Version.TryParse(v, out var p) ? p : new Version(0, 0)).Last();
        foreach (var overlay in HeaderSource.Overlays().Where(o => o.StartsWith("inplace-conversion-", StringComparison.Ordinal)))
        {
            var source = HeaderSource.FromVendored($"{baseVersion}+{overlay}", out var error);
            if (source is null)
            {
                report.InPlace.Add($"{overlay}: {error}");
                continue;
            }
            var model = source.Build(arch);
            var table = new UapiTable($"{baseVersion}+{overlay}", arch.Name,
                model.Constants.Select(c => (c.Name, c.Bits)).ToArray(),
                model.Ioctls.Select(i => (i.Name, (uint)i.Value)).ToArray());
            if (InPlaceProfile.From(table) is { } profile)
            {
                list.Add(profile);
                report.InPlace.Add($"profile {profile}");
            }
        }
        return list;
    }
}
