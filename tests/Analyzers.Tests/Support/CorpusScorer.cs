using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Kvm.Analyzers.Tests.Support;

/// <summary>Compiles each corpus case on its own against the real Kvm.Sdk.dll, runs the shipped analyzer, and
/// compares what it reports (id and line) with what the case expects.</summary>
internal static class CorpusScorer
{
    public sealed record Outcome(CorpusCase Case, IReadOnlyList<string> CompileErrors,
        IReadOnlySet<(int Line, string Id)> Reported);

    public static Outcome Run(CorpusCase c)
    {
        var tree = CSharpSyntaxTree.ParseText(c.Source, new CSharpParseOptions(LanguageVersion.Preview), path: c.File + "/" + c.Name + ".cs");
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true,
                nullableContextOptions: NullableContextOptions.Enable)
            // The corpus opts in to the proposed ABIs where it uses them; the opt-in is not what is scored.
            .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
            {
                ["KVMEXP001"] = ReportDiagnostic.Suppress,
                ["KVMEXP002"] = ReportDiagnostic.Suppress,
            });
        var compilation = CSharpCompilation.Create("corpus_" + Guid.NewGuid().ToString("N"), [tree], Verify.References, options);
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => $"{d.Id} line {d.Location.GetLineSpan().StartLinePosition.Line}: {d.GetMessage()}").ToList();
        var analyzerOptions = new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new ConfigProvider(c.Config));
        var diagnostics = compilation.WithAnalyzers([new KvmAnalyzer()], analyzerOptions)
            .GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
        var reported = diagnostics.Where(d => d.Id.StartsWith("KVM", StringComparison.Ordinal) && !d.Id.StartsWith("KVMEXP", StringComparison.Ordinal))
            .Select(d => (d.Location.GetLineSpan().StartLinePosition.Line, d.Id)).ToHashSet();
        return new Outcome(c, errors, reported);
    }

    private sealed class ConfigProvider(IReadOnlyList<string> lines) : AnalyzerConfigOptionsProvider
    {
        private readonly Options _options = new(lines.Select(l => l.Split('=', 2, StringSplitOptions.TrimEntries))
            .ToDictionary(p => p[0], p => p[1]));

        public override AnalyzerConfigOptions GlobalOptions => _options;
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => _options;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _options;

        private sealed class Options(Dictionary<string, string> values) : AnalyzerConfigOptions
        {
            public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
        }
    }
}
