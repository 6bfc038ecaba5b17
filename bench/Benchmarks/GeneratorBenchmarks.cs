using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Kvm.Generators.Emit;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;

namespace Kvm.Benchmarks;

/// <summary>
/// The source generator's work for the newest vendored headers, in-process: preprocess, parse, lay out, evaluate
/// (the model) and emit C#. Headers are read from disk once in setup, as Roslyn hands them over in memory.
/// ColdStart measures the first run in a fresh process (JIT included), Throughput the steady state.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.ColdStart, launchCount: 5, iterationCount: 1, id: "ColdStart")]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 10, id: "Throughput")]
public class GeneratorBenchmarks
{
    private List<HeaderFile> _headers = new();
    private string _root = "";
    private string _version = "";

    [Params("x86_64", "arm64")]
    public string Arch { get; set; } = "x86_64";

    [GlobalSetup]
    public void Setup()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sdk.sln"))) dir = dir.Parent;
        _root = Path.Combine(dir!.FullName, "uapi-headers");
        _version = File.ReadAllText(Path.Combine(_root, "DEFAULT")).Trim();
        _headers = Directory.GetFiles(Path.Combine(_root, _version), "*.h", SearchOption.AllDirectories)
            .Select(f => new HeaderFile(f, File.ReadAllText(f))).ToList();
    }

    private AbiModel Model()
    {
        var arch = TargetArch.Parse(Arch)!;
        var options = new AbiOptions(arch.Name,
            new[] { Path.Combine(_root, _version, arch.Multiarch), Path.Combine(_root, _version) }.ToEquatableArray(),
            new[] { "linux/kvm.h" }.ToEquatableArray(), _version);
        return AbiBuilder.Build(_headers, options);
    }

    [Benchmark(Description = "model (preprocess+parse+layout+evaluate)")]
    public int BuildModel() => Model().Structs.Count;

    [Benchmark(Description = "model + emit C#")]
    public int BuildAndEmit() => CSharpEmitter.Emit(new[] { Model() }, new EmitOptions("Bench.Interop", false)).Sum(s => s.Text.Length);
}
