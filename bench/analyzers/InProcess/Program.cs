using System.Collections.Immutable;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

// usage: KVM_ANALYZER_BENCH_SRC=<dir with *.cs> dotnet run -c Release --project bench/analyzers/InProcess
// (bench/analyzers/run.sh writes the consumer; default: $TMPDIR/kvm-analyzer-bench/src)
//   --per-rule [rounds]   each rule's callback CPU, the whole analysis's CPU and allocation (PerRule.cs)
//   --share <trace>       the analyzer's share of a sampled csc trace (StackShare.cs; bench/analyzers/profile.sh)
if (args is ["--per-rule", ..])
    return PerRule.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 7);
if (args is ["--share", var trace])
    return StackShare.Run(trace);
BenchmarkRunner.Run<AnalyzerCost>(args: args);
return 0;

/// <summary>
/// What the Kvm.Sdk analyzers add to analysing the generated consumer, in process: the same compilation analysed
/// with a no-op analyzer that registers one Invocation and one SimpleAssignment action (binding, operation trees and
/// the driver: the baseline) and with the shipped analyzers. The analyzers are found by their [DiagnosticAnalyzer]
/// attribute, so the harness measures any version of the assembly unchanged.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 6, iterationCount: 15)]
public class AnalyzerCost
{
    private CSharpCompilation _compilation = null!;
    private ImmutableArray<DiagnosticAnalyzer> _kvm;

    [GlobalSetup]
    public void Setup()
    {
        _compilation = Consumer();
        _kvm = typeof(Kvm.Analyzers.KvmRule).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<DiagnosticAnalyzerAttribute>() is not null)
            .Select(t => (DiagnosticAnalyzer)Activator.CreateInstance(t)!).ToImmutableArray();
        Console.WriteLine($"// {_compilation.SyntaxTrees.Count() - 1} files; analyzers: {string.Join(", ", _kvm.Select(a => a.GetType().Name))}");
    }

    /// <summary>The generated consumer as one compilation (throws when it does not compile).</summary>
    public static CSharpCompilation Consumer()
    {
        var dir = Environment.GetEnvironmentVariable("KVM_ANALYZER_BENCH_SRC") ?? Path.Combine(Path.GetTempPath(), "kvm-analyzer-bench", "src");
        var trees = Directory.GetFiles(dir, "*.cs").Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), path: f)).ToList();
        trees.Add(CSharpSyntaxTree.ParseText("global using System; global using System.Collections.Generic; global using System.Linq;"));
        var refs = Basic.Reference.Assemblies.Net100.References.All.Cast<MetadataReference>()
            .Append(MetadataReference.CreateFromFile(typeof(Kvm.VmFd).Assembly.Location));
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable)
            .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic> { ["KVMEXP001"] = ReportDiagnostic.Suppress });
        var compilation = CSharpCompilation.Create("Consumer", trees, refs, options);
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Take(3).ToList();
        if (errors.Count > 0)
            throw new InvalidOperationException("the consumer does not compile: " + string.Join("; ", errors));
        return compilation;
    }

    [Benchmark(Baseline = true, Description = "no-op analyzer (binding + driver)")]
    public int Driver() => Analyze([new NoOp()]);

    [Benchmark(Description = "Kvm.Sdk.Analyzers")]
    public int Kvm() => Analyze(_kvm);

    private int Analyze(ImmutableArray<DiagnosticAnalyzer> analyzers) => AnalyzeOnce(_compilation, analyzers);

    /// <summary>Runs <paramref name="analyzers"/> over <paramref name="compilation"/> on one thread; throws on a diagnostic.</summary>
    public static int AnalyzeOnce(CSharpCompilation compilation, ImmutableArray<DiagnosticAnalyzer> analyzers)
    {
        var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), null, concurrentAnalysis: false, logAnalyzerExecutionTime: false);
        var diagnostics = compilation.WithAnalyzers(analyzers, options).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        if (diagnostics.Length > 0)
            throw new InvalidOperationException("unexpected diagnostic: " + diagnostics[0]);
        return diagnostics.Length;
    }
}

[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class NoOp : DiagnosticAnalyzer
{
    private static readonly DiagnosticDescriptor D = new("NOOP", "t", "m", "c", DiagnosticSeverity.Warning, true);
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => [D];
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(s =>
        {
            s.RegisterOperationAction(_ => { }, OperationKind.Invocation);
            s.RegisterOperationAction(_ => { }, OperationKind.SimpleAssignment);
        });
    }
}
