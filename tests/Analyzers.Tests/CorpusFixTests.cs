using System.Collections.Immutable;
using System.Text;
using Kvm.Analyzers.CodeFixes;
using Kvm.Analyzers.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Kvm.Analyzers.Tests;

/// <summary>Issue #15's "code fixes that always leave compiling code", checked on programs the fix tests did not
/// shape: for every diagnostic the analyzers report in the scoring corpus, every code action any of the shipped fix
/// providers offers for it is applied on its own; the result must have no compiler error and fewer diagnostics of
/// that id.</summary>
public class CorpusFixTests
{
    private static readonly CodeFixProvider[] Providers =
    [
        new UsingCodeFix(), new HoistUsingCodeFix(), new DisposeBeforeOverwriteCodeFix(), new DisposableOwnerCodeFix(),
        new AlignmentCodeFix(), new MmapFlagCodeFix(), new InPlaceConversionCodeFix(),
    ];

    [Fact]
    public async Task Every_fix_offered_on_the_corpus_compiles_and_removes_its_diagnostic()
    {
        var failures = new StringBuilder();
        var applied = 0;
        var fixedIds = new HashSet<string>();
        foreach (var c in CorpusCase.LoadAll())
        {
            using var workspace = new AdhocWorkspace();
            var document = Document(workspace, c);
            var before = await Analyze(document, c);
            if (before.Errors.Count > 0)
                continue; // the corpus test reports cases that do not compile
            foreach (var d in before.Diagnostics)
            {
                foreach (var provider in Providers.Where(p => p.FixableDiagnosticIds.Contains(d.Id)))
                {
                    var actions = new List<CodeAction>();
                    await provider.RegisterCodeFixesAsync(new CodeFixContext(document, d, (a, _) => actions.Add(a), CancellationToken.None));
                    foreach (var action in actions)
                    {
                        var changed = (await action.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>().Single()
                            .ChangedSolution.GetDocument(document.Id)!;
                        var after = await Analyze(changed, c);
                        applied++;
                        fixedIds.Add(d.Id);
                        var where = $"{c.File}/{c.Name} line {d.Location.GetLineSpan().StartLinePosition.Line} {d.Id} '{action.Title}'";
                        if (after.Errors.Count > 0)
                            failures.AppendLine($"{where}: {string.Join("; ", after.Errors.Take(3))}\n{await changed.GetTextAsync()}");
                        if (after.Diagnostics.Count(x => x.Id == d.Id) >= before.Diagnostics.Count(x => x.Id == d.Id))
                            failures.AppendLine($"{where}: {d.Id} still reported as often\n{await changed.GetTextAsync()}");
                    }
                }
            }
        }
        Assert.True(failures.Length == 0, failures.ToString());
        // The check must have had something to check: the corpus has KVM1006 in many shapes, KVM1003 and KVM1005.
        Assert.True(applied >= 20, $"only {applied} fixes applied");
        Assert.Contains("KVM1006", fixedIds);
    }

    private static Document Document(AdhocWorkspace workspace, CorpusCase c)
    {
        var options = new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, allowUnsafe: true,
                nullableContextOptions: NullableContextOptions.Enable)
            .WithSpecificDiagnosticOptions(new Dictionary<string, ReportDiagnostic>
            {
                ["KVMEXP001"] = ReportDiagnostic.Suppress,
                ["KVMEXP002"] = ReportDiagnostic.Suppress,
            });
        var project = workspace.AddProject(ProjectInfo.Create(ProjectId.CreateNewId(), VersionStamp.Default, "corpus", "corpus", LanguageNames.CSharp,
            compilationOptions: options, parseOptions: new CSharpParseOptions(LanguageVersion.Preview), metadataReferences: Verify.References));
        return workspace.AddDocument(project.Id, c.Name + ".cs", Microsoft.CodeAnalysis.Text.SourceText.From(c.Source));
    }

    private static async Task<(IReadOnlyList<string> Errors, ImmutableArray<Diagnostic> Diagnostics)> Analyze(Document document, CorpusCase c)
    {
        var compilation = (await document.Project.GetCompilationAsync())!;
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error)
            .Select(d => $"{d.Id} line {d.Location.GetLineSpan().StartLinePosition.Line}: {d.GetMessage()}").ToList();
        var analyzerOptions = new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty, new Config(c.Config));
        var diagnostics = await compilation.WithAnalyzers([new KvmAnalyzer()], analyzerOptions).GetAnalyzerDiagnosticsAsync();
        return (errors, diagnostics.Where(d => d.Id.StartsWith("KVM", StringComparison.Ordinal)).ToImmutableArray());
    }

    private sealed class Config(IReadOnlyList<string> lines) : AnalyzerConfigOptionsProvider
    {
        private readonly Values _values = new(lines.Select(l => l.Split('=', 2, StringSplitOptions.TrimEntries)).ToDictionary(p => p[0], p => p[1]));

        public override AnalyzerConfigOptions GlobalOptions => _values;
        public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => _values;
        public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => _values;

        private sealed class Values(Dictionary<string, string> values) : AnalyzerConfigOptions
        {
            public override bool TryGetValue(string key, out string value) => values.TryGetValue(key, out value!);
        }
    }
}
