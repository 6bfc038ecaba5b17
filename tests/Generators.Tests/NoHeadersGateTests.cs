using System.Collections.Immutable;
using Kvm.Generators.Tests.Support;
using Microsoft.CodeAnalysis;

namespace Kvm.Generators.Tests;

/// <summary>#15: a consumer that configures no headers (every project that uses the SDK's own bindings) pays for
/// nothing but the gate: the options are not parsed, no model or emit step runs, nothing is generated.</summary>
public class NoHeadersGateTests
{
    [Theory]
    [InlineData("x86_64|arm64")]
    [InlineData("riscv")] // an unknown architecture is only reported when there is something to generate
    public void Without_headers_the_pipeline_stops_at_the_gate(string architectures)
    {
        var options = GeneratorHarness.OptionsFor(Repo.DefaultVersion, "MyVmm.Interop");
        options["build_property.KvmUapiArchitectures"] = architectures;
        var driver = GeneratorHarness.Driver(ImmutableArray<AdditionalText>.Empty, options)
            .RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class A {}"), out _, out var diagnostics);
        var result = driver.GetRunResult().Results.Single();

        Assert.Empty(diagnostics);
        Assert.Empty(result.GeneratedSources);
        var optionOutputs = result.TrackedSteps[KvmUapiGenerator.OptionsStep].SelectMany(s => s.Outputs).Select(o => o.Value).ToList();
        Assert.All(optionOutputs, Assert.Null);
        Assert.False(result.TrackedSteps.TryGetValue(KvmUapiGenerator.ModelStep, out var models) && models.SelectMany(s => s.Outputs).Any(),
            "the model step ran without headers");
    }

    [Fact]
    public void With_headers_the_gate_opens()
    {
        var driver = GeneratorHarness.Driver(GeneratorHarness.HeaderTexts(Repo.DefaultVersion), GeneratorHarness.OptionsFor(Repo.DefaultVersion, "MyVmm.Interop"))
            .RunGenerators(GeneratorHarness.Compilation("class A {}"));
        var result = driver.GetRunResult().Results.Single();
        Assert.Contains(result.TrackedSteps[KvmUapiGenerator.OptionsStep].SelectMany(s => s.Outputs), o => o.Value is GeneratorOptions);
        Assert.NotEmpty(result.GeneratedSources);
    }
}
