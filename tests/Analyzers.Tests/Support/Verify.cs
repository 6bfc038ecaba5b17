using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace Kvm.Analyzers.Tests.Support;

/// <summary>Runs an analyzer (and optionally a code fix) over a snippet compiled against the real Kvm.Sdk.dll, with
/// offline .NET 10 reference assemblies (no package download at test time).</summary>
internal static class Verify
{
    /// <summary>Usings every snippet gets; tests write only the class.</summary>
    public const string Usings = "using System;\nusing Kvm;\nusing Kvm.Interop;\n";

    public const string InPlaceOn = "build_property.KvmInPlaceConversion = true";

    public static ImmutableArray<MetadataReference> References { get; } = Basic.Reference.Assemblies.Net100.References.All
        .Cast<MetadataReference>()
        .Append(MetadataReference.CreateFromFile(typeof(Kvm.VmFd).Assembly.Location))
        .ToImmutableArray();

    public static DiagnosticResult Diagnostic(string id) => new(id, DiagnosticSeverity.Warning);

    /// <summary>Runs the shipped <see cref="KvmAnalyzer"/> with only <typeparamref name="TRule"/>'s diagnostics
    /// enabled, so each rule is tested through the same dispatch the compiler uses.</summary>
    public static Task Analyzer<TRule>(string source, params string[] globalConfig)
        where TRule : KvmRule, new() =>
        RunAnalyzer(source, OtherRulesIds<TRule>(), globalConfig);

    public static async Task Fix<TRule, TFix>(string source, string fixedSource, params string[] globalConfig)
        where TRule : KvmRule, new()
        where TFix : CodeFixProvider, new()
    {
        var test = new CSharpCodeFixTest<KvmAnalyzer, TFix, DefaultVerifier> { ReferenceAssemblies = new ReferenceAssemblies("net10.0") };
        Prepare(test.TestState, Usings + source, globalConfig);
        Prepare(test.FixedState, Usings + fixedSource, globalConfig);
        test.DisabledDiagnostics.AddRange(OtherRulesIds<TRule>());
        test.SolutionTransforms.Add(AllowUnsafe);
        await test.RunAsync();
    }

    /// <summary>Like <see cref="Fix{TRule, TFix}(string, string, string[])"/> over several files of one project (a fix
    /// may edit a file other than the diagnostic's).</summary>
    public static async Task FixFiles<TRule, TFix>(string[] sources, string[] fixedSources)
        where TRule : KvmRule, new()
        where TFix : CodeFixProvider, new()
    {
        var test = new CSharpCodeFixTest<KvmAnalyzer, TFix, DefaultVerifier> { ReferenceAssemblies = new ReferenceAssemblies("net10.0") };
        foreach (var (source, i) in sources.Select((x, i) => (x, i)))
            test.TestState.Sources.Add(($"/0/Test{i}.cs", Usings + source));
        foreach (var (source, i) in fixedSources.Select((x, i) => (x, i)))
            test.FixedState.Sources.Add(($"/0/Test{i}.cs", Usings + source));
        test.TestState.AdditionalReferences.AddRange(References);
        test.FixedState.AdditionalReferences.AddRange(References);
        test.DisabledDiagnostics.AddRange(OtherRulesIds<TRule>());
        test.SolutionTransforms.Add(AllowUnsafe);
        await test.RunAsync();
    }

    /// <summary>Runs the shipped <see cref="KvmAnalyzer"/> with every rule enabled.</summary>
    public static Task AllRules(string source, params string[] globalConfig) => RunAnalyzer(source, [], globalConfig);

    private static async Task RunAnalyzer(string source, IEnumerable<string> disabledIds, string[] globalConfig)
    {
        var test = new CSharpAnalyzerTest<KvmAnalyzer, DefaultVerifier> { ReferenceAssemblies = new ReferenceAssemblies("net10.0") };
        Prepare(test.TestState, Usings + source, globalConfig);
        test.DisabledDiagnostics.AddRange(disabledIds);
        test.SolutionTransforms.Add(AllowUnsafe);
        await test.RunAsync();
    }

    private static IEnumerable<string> OtherRulesIds<TRule>() where TRule : KvmRule, new()
    {
        var mine = new TRule().SupportedDiagnostics.Select(d => d.Id).ToHashSet();
        return new KvmAnalyzer().SupportedDiagnostics.Select(d => d.Id).Where(id => !mine.Contains(id));
    }

    private static Solution AllowUnsafe(Solution solution, ProjectId id) =>
        solution.WithProjectCompilationOptions(id,
            ((Microsoft.CodeAnalysis.CSharp.CSharpCompilationOptions)solution.GetProject(id)!.CompilationOptions!).WithAllowUnsafe(true));

    private static void Prepare(SolutionState state, string source, string[] globalConfig)
    {
        state.Sources.Add(source);
        state.AdditionalReferences.AddRange(References);
        if (globalConfig.Length > 0)
            state.AnalyzerConfigFiles.Add(("/.globalconfig", "is_global = true\n" + string.Join("\n", globalConfig) + "\n"));
    }
}
