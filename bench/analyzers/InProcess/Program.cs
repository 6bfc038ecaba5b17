using System.Collections.Immutable;
using System.Diagnostics;
using Kvm.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

// usage: InProcess <dir with *.cs> [rounds=5]
var dir = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "kvm-analyzer-bench", "src");
var rounds = args.Length > 1 ? int.Parse(args[1]) : 5;
var trees = Directory.GetFiles(dir, "*.cs").Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), path: f)).ToList();
trees.Add(CSharpSyntaxTree.ParseText("global using System; global using System.Collections.Generic; global using System.Linq;"));
var refs = Basic.Reference.Assemblies.Net100.References.All.Cast<MetadataReference>()
    .Append(MetadataReference.CreateFromFile(typeof(Kvm.VmFd).Assembly.Location)).ToList();
var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable)
    .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic> { ["KVMEXP001"] = ReportDiagnostic.Suppress });
ImmutableArray<DiagnosticAnalyzer> kvm = [new KvmAnalyzer()];

Console.WriteLine($"{trees.Count - 1} files; {rounds} rounds; each round: a fresh compilation, full compile (emit) timed, then the analyzers");
var results = new Dictionary<string, List<double>>();
void Add(string k, double v) { if (!results.TryGetValue(k, out var l)) results[k] = l = new(); l.Add(v); }
for (var r = 0; r < rounds; r++)
{
    var proc = Process.GetCurrentProcess();
    TimeSpan Cpu() { proc.Refresh(); return proc.TotalProcessorTime; }
    var cpu0 = Cpu();
    var sw = Stopwatch.StartNew();
    var c = CSharpCompilation.Create("Consumer" + r, trees, refs, options);
    using (var pe = new MemoryStream())
    {
        var emit = c.Emit(pe);
        if (!emit.Success) throw new Exception(string.Join("\n", emit.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Take(5)));
    }
    Add("compile+emit (no analyzers)", sw.Elapsed.TotalMilliseconds);
    Add("compile+emit (no analyzers), CPU", (Cpu() - cpu0).TotalMilliseconds);

    foreach (var (name, set) in new[] { ("Kvm.Sdk.Analyzers", kvm), ("no-op analyzer, same callbacks", [new NoOp()]) })
    {
        var cwa = c.WithAnalyzers(set, new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), null, concurrentAnalysis: false, logAnalyzerExecutionTime: true));
        var cpuA = Cpu();
        sw.Restart();
        var diags = await cwa.GetAnalyzerDiagnosticsAsync();
        var wall = sw.Elapsed.TotalMilliseconds;
        Add(name + " (CPU, incl. driver)", (Cpu() - cpuA).TotalMilliseconds);
        if (diags.Length > 0 && name.StartsWith("Kvm")) throw new Exception("unexpected diagnostics: " + diags[0]);
        double total = 0;
        foreach (var a in set)
        {
            var t = (await cwa.GetAnalyzerTelemetryInfoAsync(a, default)).ExecutionTime.TotalMilliseconds;
            total += t;
            if (set.Length > 1) Add("  " + a.GetType().Name, t);
        }
        Add(name + " (execution time)", total);
        Add(name + " (wall, incl. driver)", wall);
    }
}
foreach (var (k, v) in results)
    Console.WriteLine($"{k,-45} median {v.Order().ElementAt(v.Count / 2),8:F1} ms   (min {v.Min():F1})");

[DiagnosticAnalyzer(LanguageNames.CSharp)]
sealed class NoOp : DiagnosticAnalyzer
{
    private static readonly DiagnosticDescriptor D = new("NOOP", "t", "m", "c", DiagnosticSeverity.Warning, true);
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => [D];
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(s =>
        {
            // What KvmAnalyzer registers: one Invocation and one SimpleAssignment action.
            s.RegisterOperationAction(_ => { }, OperationKind.Invocation);
            s.RegisterOperationAction(_ => { }, OperationKind.SimpleAssignment);
        });
    }
}
