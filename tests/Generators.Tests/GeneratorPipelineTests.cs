using System.Collections.Immutable;
using Kvm.Generators.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Kvm.Generators.Tests;

/// <summary>The generator as Roslyn runs it: the output compiles warning-free, repeated runs are cached, and a
/// consumer's regenerated bindings live beside the SDK's own without a clash.</summary>
public class GeneratorPipelineTests
{
    private static readonly string Version = Repo.DefaultVersion;

    [Fact]
    public void Generated_code_compiles_without_warnings_beside_the_SDKs_own_bindings()
    {
        var compilation = GeneratorHarness.Compilation("namespace Consumer; public static class Use { public static uint N => MyVmm.Interop.KvmIoctls.KVM_CREATE_GUEST_MEMFD.Value > 0 ? 1u : 0u; }");
        var driver = GeneratorHarness.Driver(GeneratorHarness.HeaderTexts(Version), GeneratorHarness.OptionsFor(Version, "MyVmm.Interop"));
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
        Assert.DoesNotContain(generatorDiagnostics, d => d.Severity >= DiagnosticSeverity.Warning);
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        var run = driver.GetRunResult();
        Assert.True(run.GeneratedTrees.Length >= 9, $"only {run.GeneratedTrees.Length} files generated");
    }

    [Fact]
    public void An_unrelated_edit_reruns_no_header_step()
    {
        var compilation = GeneratorHarness.Compilation("class A {}");
        var driver = GeneratorHarness.Driver(GeneratorHarness.HeaderTexts(Version), GeneratorHarness.OptionsFor(Version, "MyVmm.Interop"));
        driver = driver.RunGenerators(compilation);
        driver = driver.RunGenerators(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class Unrelated { int X => 1; }", new CSharpParseOptions(LanguageVersion.Preview))));
        var result = driver.GetRunResult().Results.Single();
        foreach (var step in new[] { KvmUapiGenerator.HeadersStep, KvmUapiGenerator.OptionsStep, KvmUapiGenerator.ModelStep, KvmUapiGenerator.EmitStep })
        {
            Assert.True(result.TrackedSteps.ContainsKey(step), $"step {step} not tracked");
            var reasons = result.TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
            Assert.NotEmpty(reasons);
            Assert.All(reasons, r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {r}"));
        }
    }

    [Fact]
    public void A_header_edit_reruns_the_model()
    {
        var texts = GeneratorHarness.HeaderTexts(Version);
        var compilation = GeneratorHarness.Compilation("class A {}");
        var driver = GeneratorHarness.Driver(texts, GeneratorHarness.OptionsFor(Version, "MyVmm.Interop"));
        driver = driver.RunGenerators(compilation);
        var kvm = texts.First(t => t.Path.EndsWith("/linux/kvm.h", StringComparison.Ordinal));
        var edited = new GeneratorHarness.Text(kvm.Path, kvm.GetText()!.ToString() + "\n#define KVM_CAP_TEST_ONLY 4095\n");
        driver = driver.ReplaceAdditionalText(kvm, edited).RunGenerators(compilation);
        var result = driver.GetRunResult().Results.Single();
        Assert.Contains(result.TrackedSteps[KvmUapiGenerator.ModelStep].SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
        Assert.Contains(result.GeneratedSources, s => s.SourceText.ToString().Contains("KVM_CAP_TEST_ONLY = 4095"));
    }

    [Fact]
    public void Overlay_collision_is_reported_at_the_overlay_line()
    {
        var driver = GeneratorHarness.Driver(GeneratorHarness.HeaderTexts(Version, "inplace-conversion-v8"),
            GeneratorHarness.OptionsFor(Version, "MyVmm.Interop", "inplace-conversion-v8"));
        driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class A {}"), out var output, out var diagnostics);
        var collision = Assert.Single(diagnostics, d => d.Id == "KVM0006");
        Assert.Contains("KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES", collision.GetMessage());
        Assert.Contains("KVM_CAP_PPC_COMPAT_CAPS", collision.GetMessage());
        Assert.EndsWith("kvm_proposed.h", collision.Location.GetLineSpan().Path);
        Assert.Equal("docs/diagnostics/KVM0006.md", collision.Descriptor.HelpLinkUri);
        // The proposed ioctl is generated from the overlay, typed by its struct.
        Assert.Contains(output.SyntaxTrees, t => t.ToString().Contains("IoctlReadWrite<global::MyVmm.Interop.kvm_memory_attributes2> KVM_SET_MEMORY_ATTRIBUTES2 = new(0xC080AED2U"));
    }

    [Fact]
    public void V7_overlay_collides_with_s390_hpage_and_names_its_posting()
    {
        var driver = GeneratorHarness.Driver(GeneratorHarness.HeaderTexts(Version, "inplace-conversion-v7"),
            GeneratorHarness.OptionsFor(Version, "MyVmm.Interop", "inplace-conversion-v7"));
        driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class A {}"), out var output, out var diagnostics);
        var collision = Assert.Single(diagnostics, d => d.Id == "KVM0006");
        Assert.Contains("KVM_CAP_S390_HPAGE_2G", collision.GetMessage());
        // The posting marker reaches the run-time table, where the SDK reads it to pick the module parameter.
        Assert.Contains(output.SyntaxTrees, t => t.ToString().Contains("(\"KVM_SDK_INPLACE_POSTING\", 0x7UL)"));
        Assert.Contains(output.SyntaxTrees, t => t.ToString().Contains("(\"KVM_CAP_GUEST_MEMFD_MEMORY_ATTRIBUTES\", 0xF9UL)"));
    }

    [Fact]
    public void Missing_header_is_a_diagnostic_not_an_exception()
    {
        var texts = GeneratorHarness.HeaderTexts(Version).Where(t => !t.Path.EndsWith("asm/kvm.h", StringComparison.Ordinal)).ToImmutableArray();
        var driver = GeneratorHarness.Driver(texts, GeneratorHarness.OptionsFor(Version, "MyVmm.Interop"));
        driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class A {}"), out _, out var diagnostics);
        Assert.Contains(diagnostics, d => d.Id == "KVM0001" && d.GetMessage().Contains("asm/kvm.h"));
        Assert.DoesNotContain(diagnostics, d => d.Id is "CS8784" or "CS8785" or "KVM0008");
    }
}
