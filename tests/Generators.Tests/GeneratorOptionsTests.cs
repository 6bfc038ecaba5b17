using Kvm.Generators.Tests.Support;
using Microsoft.CodeAnalysis;

namespace Kvm.Generators.Tests;

/// <summary>The MSBuild side of #17 and #16 item 8: an unknown architecture is an error even alone, and a struct the
/// parser cannot read fails the build unless KvmUapiAllowUnreadDeclarations opts out.</summary>
public class GeneratorOptionsTests
{
    private static readonly string Version = Repo.DefaultVersion;

    private static ImmutableDiagnostics Run(Dictionary<string, string> options, Func<string, string>? editKvm = null)
    {
        var texts = GeneratorHarness.HeaderTexts(Version);
        if (editKvm is not null)
        {
            var kvm = texts.First(t => t.Path.EndsWith("/linux/kvm.h", StringComparison.Ordinal));
            texts = texts.Replace(kvm, new GeneratorHarness.Text(kvm.Path, editKvm(kvm.GetText()!.ToString())));
        }
        var driver = GeneratorHarness.Driver(texts, options).RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class A {}"), out _, out var diagnostics);
        return new ImmutableDiagnostics(diagnostics.ToList(), driver.GetRunResult().GeneratedTrees.Length);
    }

    private sealed record ImmutableDiagnostics(List<Diagnostic> Diagnostics, int Files);

    [Theory]
    [InlineData("riscv")]
    [InlineData("x86_64|mips64")]
    public void An_unknown_architecture_is_an_error(string architectures)
    {
        var options = GeneratorHarness.OptionsFor(Version, "MyVmm.Interop");
        options["build_property.KvmUapiArchitectures"] = architectures;
        var result = Run(options);
        Assert.Contains(result.Diagnostics, d => d.Id == "KVM0007" && d.Severity == DiagnosticSeverity.Error && d.GetMessage().Contains("riscv64, s390x, ppc64le, loongarch64"));
    }

    [Theory]
    [InlineData(null, DiagnosticSeverity.Error)]
    [InlineData("true", DiagnosticSeverity.Warning)]
    public void An_unreadable_struct_is_an_error_unless_the_project_opts_out(string? allow, DiagnosticSeverity expected)
    {
        var options = GeneratorHarness.OptionsFor(Version, "MyVmm.Interop");
        if (allow is not null) options["build_property.KvmUapiAllowUnreadDeclarations"] = allow;
        var result = Run(options, text => text.Replace("#endif /* __LINUX_KVM_H */", "struct kvm_broken { __u64 a b; };\n#endif /* __LINUX_KVM_H */"));
        Assert.Contains(result.Diagnostics, d => d.Id == "KVM0003" && d.Severity == expected && d.GetMessage().Contains("kvm_broken"));
    }
}
