using System.Text;
using System.Text.Json;

namespace Kvm.Cli.Probe;

/// <summary>Verdicts: pass, fail (the kernel or the SDK misbehaved), unsupported (the kernel said no, cleanly).</summary>
internal enum Verdict { Pass, Fail, Unsupported, Skipped }

/// <summary>One capability's answers; a negative value is the errno with which the kernel refused the question.</summary>
internal sealed record CapabilityAnswer(string Name, int Number, int System, IReadOnlyDictionary<string, int> PerVmType);

internal sealed record ProbeCheck(string Name, string VmType, Verdict Verdict, string Detail);

/// <summary>What `kvmsdk probe` found: the kernel, every capability the bindings know at system and VM scope
/// per VM type, and end-to-end checks each with a verdict.</summary>
internal sealed class ProbeReport
{
    public string Where { get; set; } = "host";
    public string Kernel { get; set; } = "";
    public string Architecture { get; set; } = "";
    public int ApiVersion { get; set; }
    public string Bindings { get; set; } = "";
    public List<string> VmTypes { get; } = new();
    public List<CapabilityAnswer> Capabilities { get; } = new();
    public List<ProbeCheck> Checks { get; } = new();
    /// <summary>In-place conversion: module parameters and the profiles asked about (InPlaceProbe).</summary>
    public List<string> InPlace { get; } = new();

    public int Failures => Checks.Count(c => c.Verdict == Verdict.Fail);

    public string ToJson() => JsonSerializer.Serialize(new
    {
        where = Where,
        kernel = Kernel,
        architecture = Architecture,
        apiVersion = ApiVersion,
        bindings = Bindings,
        vmTypes = VmTypes,
        capabilities = Capabilities.Select(c => new { name = c.Name, number = c.Number, system = c.System, vm = c.PerVmType }),
        checks = Checks.Select(c => new { name = c.Name, vmType = c.VmType, verdict = c.Verdict.ToString().ToLowerInvariant(), detail = c.Detail }),
        summary = new { pass = Checks.Count(c => c.Verdict == Verdict.Pass), fail = Failures, unsupported = Checks.Count(c => c.Verdict == Verdict.Unsupported) },
    }, new JsonSerializerOptions { WriteIndented = true }) + "\n";

    public string ToText(bool allCapabilities)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"kvmsdk probe ({Where}): kernel {Kernel}, {Architecture}, KVM API {ApiVersion}, bindings {Bindings}");
        sb.AppendLine($"VM types: {string.Join(", ", VmTypes)}");
        sb.AppendLine();
        var shown = allCapabilities ? Capabilities : Capabilities.Where(c => c.System != 0 || c.PerVmType.Values.Any(v => v != 0)).ToList();
        sb.AppendLine($"capabilities ({shown.Count} of {Capabilities.Count} the bindings know{(allCapabilities ? "" : " are non-zero; --all-caps lists every one")}):");
        sb.AppendLine($"  {"capability",-44} {"system",8}  " + string.Join("  ", VmTypes.Select(t => $"{Short(t),10}")));
        foreach (var c in shown)
            sb.AppendLine($"  {c.Name + $" ({c.Number})",-44} {Value(c.System),8}  " + string.Join("  ", VmTypes.Select(t => $"{(c.PerVmType.TryGetValue(t, out var v) ? Value(v) : "-"),10}")));
        sb.AppendLine();
        if (InPlace.Count > 0)
        {
            sb.AppendLine("in-place conversion (the verdicts per VM type are under end to end):");
            foreach (var line in InPlace)
                sb.AppendLine($"  {line}");
            sb.AppendLine();
        }
        sb.AppendLine("end to end:");
        foreach (var c in Checks)
            sb.AppendLine($"  {Tag(c.Verdict),-12} {c.VmType,-26} {c.Name}{(c.Detail.Length > 0 ? ": " + c.Detail : "")}");
        sb.AppendLine();
        sb.AppendLine($"{Checks.Count(c => c.Verdict == Verdict.Pass)} pass, {Failures} fail, {Checks.Count(c => c.Verdict == Verdict.Unsupported)} unsupported");
        return sb.ToString();
    }

    private static string Value(int answer) => answer < 0 ? Kvm.Interop.ErrnoText.Name(-answer) : answer.ToString();

    private static string Tag(Verdict v) => v switch { Verdict.Pass => "PASS", Verdict.Fail => "FAIL", Verdict.Skipped => "skipped", _ => "unsupported" };

    private static string Short(string vmType) => vmType.Replace("KVM_X86_", "").Replace("_VM", "");
}
