using System.Collections.Immutable;
using Kvm.Generators.Layout;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Text;

namespace Kvm.Generators.Tests.Support;

/// <summary>Runs the real incremental generator in-process, as a build would, with headers as AdditionalFiles.</summary>
internal static class GeneratorHarness
{
    public sealed class Text : AdditionalText
    {
        private readonly string _text;
        public Text(string path, string text) { Path = path; _text = text; }
        public override string Path { get; }
        public override SourceText GetText(CancellationToken cancellationToken = default) => SourceText.From(_text);
    }

    private sealed class Options : AnalyzerConfigOptions
    {
        private readonly Dictionary<string, string> _values;
        public Options(Dictionary<string, string> values) => _values = values;
        public override bool TryGetValue(string key, out string value) => _values.TryGetValue(key, out value!);
    }

    private sealed class Provider : AnalyzerConfigOptionsProvider
    {
        private readonly Options _global;
        private readonly Options _header = new(new() { ["build_metadata.AdditionalFiles.KvmUapiHeader"] = "true" });
        private readonly Options _none = new(new());
        public Provider(Dictionary<string, string> global) => _global = new Options(global);
        public override AnalyzerConfigOptions GlobalOptions => _global;
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => _none;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => textFile.Path.EndsWith(".h", StringComparison.Ordinal) ? _header : _none;
    }

    public static Dictionary<string, string> OptionsFor(string version, string ns, params string[] overlays)
    {
        var roots = overlays.Select(o => Path.Combine(Repo.Headers, "proposed", o))
            .Concat(new[] { Path.Combine(Repo.Headers, version, "{multiarch}"), Path.Combine(Repo.Headers, version) });
        return new()
        {
            ["build_property.KvmUapiIncludeRoots"] = string.Join("|", roots),
            ["build_property.KvmUapiArchitectures"] = "x86_64|arm64",
            ["build_property.KvmUapiEntries"] = overlays.Length > 0 ? "linux/kvm_proposed.h" : "linux/kvm.h",
            ["build_property.KvmUapiNamespace"] = ns,
            ["build_property.KvmUapiProfile"] = version + string.Concat(overlays.Select(o => "+" + o)),
        };
    }

    public static ImmutableArray<AdditionalText> HeaderTexts(string version, params string[] overlays) =>
        Repo.Load(Path.Combine(Repo.Headers, version))
            .Concat(overlays.SelectMany(o => Repo.Load(Path.Combine(Repo.Headers, "proposed", o))))
            .Select(h => (AdditionalText)new Text(h.Path, h.Text)).ToImmutableArray();

    public static CSharpCompilation Compilation(params string[] sources) =>
        CSharpCompilation.Create("Consumer",
            sources.Select(s => CSharpSyntaxTree.ParseText(s, new CSharpParseOptions(LanguageVersion.Preview))),
            Basic.Reference.Assemblies.Net100.References.All.Append(MetadataReference.CreateFromFile(typeof(Kvm.Interop.Sys).Assembly.Location)),
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true, nullableContextOptions: NullableContextOptions.Enable));

    public static GeneratorDriver Driver(ImmutableArray<AdditionalText> texts, Dictionary<string, string> options) =>
        CSharpGeneratorDriver.Create(new[] { new KvmUapiGenerator().AsSourceGenerator() }, texts,
            new CSharpParseOptions(LanguageVersion.Preview), new Provider(options),
            new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
}
