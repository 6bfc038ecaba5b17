using System.Text;

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

    // Written field by field (no reflection), so the native single-file tool serializes exactly what the JIT'd one does.
    public string ToJson() => JsonText.Write(w =>
    {
        w.WriteString("where", Where);
        w.WriteString("kernel", Kernel);
        w.WriteString("architecture", Architecture);
        w.WriteNumber("apiVersion", ApiVersion);
        w.WriteString("bindings", Bindings);
        JsonText.WriteStrings(w, "vmTypes", VmTypes);
        w.WriteStartArray("capabilities");
        foreach (var c in Capabilities)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            w.WriteNumber("number", c.Number);
            w.WriteNumber("system", c.System);
            w.WriteStartObject("vm");
            foreach (var (type, answer) in c.PerVmType) w.WriteNumber(type, answer);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("checks");
        foreach (var c in Checks)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            w.WriteString("vmType", c.VmType);
            w.WriteString("verdict", c.Verdict.ToString().ToLowerInvariant());
            w.WriteString("detail", c.Detail);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        JsonText.WriteStrings(w, "inPlaceConversion", InPlace);
        w.WriteStartObject("summary");
        w.WriteNumber("pass", Checks.Count(c => c.Verdict == Verdict.Pass));
        w.WriteNumber("fail", Failures);
        w.WriteNumber("unsupported", Checks.Count(c => c.Verdict == Verdict.Unsupported));
        w.WriteEndObject();
    });

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
