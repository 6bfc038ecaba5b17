using Kvm.Generators.Layout;
using Kvm.Generators.Tests.Support;
using Microsoft.CodeAnalysis;

namespace Kvm.Generators.Tests;

/// <summary>#17: <c>KvmUapiArchitectures</c> naming every architecture KVM runs on, over each vendored header version,
/// generates bindings that compile without warnings, with one namespace per architecture holding that architecture's
/// own asm/kvm.h types. An architecture a version does not carry (loongarch64 in 6.1: no KVM there) is left out.</summary>
public class AllArchitecturesGeneratorTests
{
    public static TheoryData<string> Versions() => new(Repo.Versions);

    /// <summary>A struct this architecture's asm/kvm.h defines in its own layout, by the C# name the generator gives it.</summary>
    private static readonly Dictionary<string, string> OwnType = new()
    {
        ["x86_64"] = "kvm_regs", ["arm64"] = "kvm_regs", ["riscv64"] = "kvm_riscv_config",
        ["s390x"] = "kvm_s390_io_adapter", ["ppc64le"] = "kvm_regs", ["loongarch64"] = "kvm_fpu",
    };

    [Theory]
    [MemberData(nameof(Versions))]
    public void Every_architecture_the_version_carries_generates_and_compiles(string version)
    {
        var archs = TargetArch.All.Where(a => File.Exists(Path.Combine(Repo.Headers, version, a.Multiarch, "asm", "kvm.h"))).ToList();
        Assert.True(archs.Count >= 5, $"{version} carries only {string.Join(", ", archs)}");
        var options = GeneratorHarness.OptionsFor(version, "AllArch.Interop");
        options["build_property.KvmUapiArchitectures"] = string.Join("|", archs.Select(a => a.Name));
        var driver = GeneratorHarness.Driver(GeneratorHarness.HeaderTexts(version), options);
        driver.RunGeneratorsAndUpdateCompilation(GeneratorHarness.Compilation("class A {}"), out var output, out var diagnostics);

        Assert.True(!diagnostics.Any(d => d.Severity >= DiagnosticSeverity.Warning), string.Join("\n", diagnostics.Take(20)));
        var problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Take(20)));
        foreach (var arch in archs)
        {
            var type = output.GetTypeByMetadataName($"AllArch.Interop.{arch.NamespaceSuffix}.{OwnType[arch.Name]}");
            Assert.True(type is not null, $"{version}: no AllArch.Interop.{arch.NamespaceSuffix}.{OwnType[arch.Name]}");
        }
    }
}
