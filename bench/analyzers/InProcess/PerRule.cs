using System.Collections.Immutable;
using System.Diagnostics;
using Kvm.Analyzers;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

/// <summary>
/// <c>--per-rule [rounds]</c>: where the analyzers' time goes. Each round analyses the consumer once with
/// <see cref="TimedRules"/>: every <see cref="KvmRule"/> behind its own copy of <see cref="KvmAnalyzer"/>'s dispatch,
/// each rule's callbacks timed with the thread's CPU clock (less sensitive to a loaded machine than wall time; the
/// times include what a rule makes the compiler bind lazily, and the per-body caches — flattened tree, local index —
/// are charged to the first rule that asks). Rows are medians over the rounds; the whole analysis's process CPU time
/// with the no-op analyzer and with <see cref="KvmAnalyzer"/> is printed too.
/// </summary>
internal static class PerRule
{
    public static int Run(int rounds)
    {
        var compilation = AnalyzerCost.Consumer();
        var timed = new TimedRules();
        AnalyzerCost.AnalyzeOnce(compilation, [timed]); // warm-up: JIT and metadata
        AnalyzerCost.AnalyzeOnce(compilation, [new NoOp()]);
        AnalyzerCost.AnalyzeOnce(compilation, [new KvmAnalyzer()]);
        var perRule = KvmAnalyzer.Rules.ToDictionary(r => r.GetType().Name, _ => new List<double>());
        var start = new List<double>();
        var noop = new List<double>();
        var all = new List<double>();
        var noopBytes = new List<double>();
        var allBytes = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            timed.Reset();
            AnalyzerCost.AnalyzeOnce(compilation, [timed]);
            foreach (var (name, ticks) in timed.Ticks)
                perRule[name].Add(ticks / 1e6);
            start.Add(timed.StartTicks * 1000.0 / Stopwatch.Frequency);
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var bytes = GC.GetTotalAllocatedBytes(precise: true);
            AnalyzerCost.AnalyzeOnce(compilation, [new NoOp()]);
            noop.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
            noopBytes.Add(GC.GetTotalAllocatedBytes(precise: true) - bytes);
            cpu = Process.GetCurrentProcess().TotalProcessorTime;
            bytes = GC.GetTotalAllocatedBytes(precise: true);
            AnalyzerCost.AnalyzeOnce(compilation, [new KvmAnalyzer()]);
            all.Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds);
            allBytes.Add(GC.GetTotalAllocatedBytes(precise: true) - bytes);
        }
        // What the compiler itself reports (logAnalyzerExecutionTime: wall time inside the analyzer's actions, as
        // -p:ReportAnalyzer=true shows it), single-threaded so that no other analyzer's thread is counted.
        var reported = new List<double>();
        for (var r = 0; r < rounds; r++)
        {
            var analyzer = new KvmAnalyzer();
            var cwa = compilation.WithAnalyzers([analyzer], new CompilationWithAnalyzersOptions(new AnalyzerOptions([]), null,
                concurrentAnalysis: false, logAnalyzerExecutionTime: true));
            cwa.GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
            reported.Add(cwa.GetAnalyzerTelemetryInfoAsync(analyzer, CancellationToken.None).GetAwaiter().GetResult().ExecutionTime.TotalMilliseconds);
        }
        Console.WriteLine($"{compilation.SyntaxTrees.Count() - 1} files, {rounds} rounds, load {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine($"  {"rule",-24} {"ms (median)",12} {"min",8} {"max",8}");
        foreach (var (name, xs) in perRule.OrderByDescending(p => Median(p.Value)))
            Console.WriteLine($"  {name,-24} {Median(xs),12:F1} {xs.Min(),8:F1} {xs.Max(),8:F1}");
        Console.WriteLine($"  {"sum of the rules",-24} {perRule.Values.Sum(Median),12:F1}");
        Console.WriteLine($"  {"symbols (compilation start)",-24} {Median(start),12:F1}");
        Console.WriteLine($"whole analysis, process CPU time: no-op analyzer {Median(noop):F0} ms, KvmAnalyzer {Median(all):F0} ms (difference {Median(all) - Median(noop):F0} ms, {100 * (Median(all) - Median(noop)) / Median(noop):F1} %)");
        // Allocation is the one cost a sampled profile does not show in the analyzer's frames: the GC it causes runs on
        // the GC's threads while every other thread waits. Both runs allocate in one thread, so the difference is exact.
        Console.WriteLine($"whole analysis, allocated: no-op analyzer {Median(noopBytes) / 1048576:F1} MiB, KvmAnalyzer {Median(allBytes) / 1048576:F1} MiB (difference {(Median(allBytes) - Median(noopBytes)) / 1048576:F1} MiB, {100 * (Median(allBytes) - Median(noopBytes)) / Median(noopBytes):F1} %)");
        Console.WriteLine($"KvmAnalyzer execution time as the compiler logs it (single thread): median {Median(reported):F0} ms (min {reported.Min():F0}, max {reported.Max():F0})");
        return 0;
    }

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToList();
        return s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }
}

/// <summary>Every rule behind its own <see cref="RuleRegistry"/>, each registry's dispatch timed.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
#pragma warning disable RS1036 // a bench probe, never shipped
internal sealed class TimedRules : DiagnosticAnalyzer
#pragma warning restore RS1036
{
    private readonly long[] _ticks = new long[KvmAnalyzer.Rules.Length];

    public long StartTicks { get; private set; }

    public IEnumerable<(string Name, long Ticks)> Ticks => KvmAnalyzer.Rules.Select((r, i) => (r.GetType().Name, _ticks[i]));

    public void Reset()
    {
        Array.Clear(_ticks);
        StartTicks = 0;
    }

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        KvmAnalyzer.Rules.SelectMany(r => r.SupportedDiagnostics).ToImmutableArray();

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.RegisterCompilationStartAction(start =>
        {
            var t0 = Stopwatch.GetTimestamp();
            if (KvmSymbols.TryCreate(start.Compilation) is not { } s)
                return;
            var registries = new RuleRegistry[KvmAnalyzer.Rules.Length];
            for (var i = 0; i < registries.Length; i++)
            {
                registries[i] = new RuleRegistry();
                KvmAnalyzer.Rules[i].Start(s, registries[i]);
            }
            StartTicks += Stopwatch.GetTimestamp() - t0;
            start.RegisterOperationAction(ctx =>
            {
                for (var i = 0; i < registries.Length; i++)
                {
                    var t = ThreadCpu.Now();
                    registries[i].Invocation(ctx);
                    _ticks[i] += ThreadCpu.Now() - t;
                }
            }, OperationKind.Invocation);
            start.RegisterOperationAction(ctx =>
            {
                for (var i = 0; i < registries.Length; i++)
                {
                    if (!registries[i].HasFieldAssignments)
                        continue;
                    var t = ThreadCpu.Now();
                    registries[i].Assignment(ctx);
                    _ticks[i] += ThreadCpu.Now() - t;
                }
            }, OperationKind.SimpleAssignment);
        });
    }
}

/// <summary>CLOCK_THREAD_CPUTIME_ID in nanoseconds.</summary>
internal static class ThreadCpu
{
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Sec;
        public long Nsec;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGettime(int clock, out Timespec ts);

    public static long Now()
    {
        ClockGettime(3, out var ts); // CLOCK_THREAD_CPUTIME_ID
        return ts.Sec * 1_000_000_000 + ts.Nsec;
    }
}
