using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text;
using Kvm.Generators.Emit;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Kvm.Generators;

/// <summary>
/// Reads the kernel uAPI headers given as <c>AdditionalFiles</c> (metadata <c>KvmUapiHeader=true</c>, set by the
/// package's targets from <c>&lt;KvmUapiHeader Include="..."/&gt;</c> items) and emits exact-layout structs,
/// constants, enums and typed ioctl requests. Every step carries value-equal models only, so an edit that does not
/// touch the headers or the options re-runs nothing.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class KvmUapiGenerator : IIncrementalGenerator
{
    public const string HeadersStep = "KvmUapi.Headers";
    public const string OptionsStep = "KvmUapi.Options";
    public const string ModelStep = "KvmUapi.Model";
    public const string EmitStep = "KvmUapi.Emit";

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var headers = context.AdditionalTextsProvider
            .Combine(context.AnalyzerConfigOptionsProvider)
            .Where(static p => p.Right.GetOptions(p.Left).TryGetValue("build_metadata.AdditionalFiles.KvmUapiHeader", out var v) &&
                               string.Equals(v, "true", StringComparison.OrdinalIgnoreCase))
            .Select(static (p, ct) => new HeaderFile(p.Left.Path, p.Left.GetText(ct)?.ToString() ?? ""))
            .Collect()
            .Select(static (files, _) => files.OrderBy(f => f.Path, StringComparer.Ordinal).ToEquatableArray())
            .WithTrackingName(HeadersStep);

        // The gate: a project without KvmUapiHeader items (every consumer that uses the SDK's own bindings) stops
        // here. Its options are never parsed, no architecture is looked up, no model or emit step runs: the steps
        // below see a null option set and pass it through without touching the generator's other types.
        var hasHeaders = headers.Select(static (h, _) => h.Count > 0);

        var options = context.AnalyzerConfigOptionsProvider
            .Combine(hasHeaders)
            .Select(static (p, _) => p.Right ? GeneratorOptions.From(p.Left.GlobalOptions) : null)
            .WithTrackingName(OptionsStep);

        var models = options
            .Combine(headers)
            .SelectMany(static (p, _) => p.Left is null ? ImmutableArray<(AbiOptions, EquatableArray<HeaderFile>)>.Empty : Targets(p.Left, p.Right))
            .Select(static (p, ct) => AbiBuilder.Build(p.Item2, p.Item1))
            .WithTrackingName(ModelStep);

        var emitted = models.Collect()
            .Combine(options)
            .Select(static (p, _) => p.Right is null ? null : Emit(p.Left, p.Right))
            .WithTrackingName(EmitStep);

        context.RegisterSourceOutput(emitted, static (spc, result) =>
        {
            if (result is null)
                return;
            foreach (var d in result.Diagnostics) spc.ReportDiagnostic(Diagnostics.ToRoslyn(d));
            foreach (var s in result.Sources) spc.AddSource(s.HintName, SourceText.From(s.Text, Encoding.UTF8));
        });
    }

    private static ImmutableArray<(AbiOptions, EquatableArray<HeaderFile>)> Targets(GeneratorOptions options, EquatableArray<HeaderFile> headers) =>
        options.Architectures
            .Select(a => TargetArch.Parse(a))
            .Where(a => a is not null)
            .Select(a => (options.ForArch(a!), headers))
            .ToImmutableArray();

    /// <summary>The emit step's value: sources and diagnostics, value-equal.</summary>
    public sealed record EmitResult(EquatableArray<GeneratedSource> Sources, EquatableArray<HeaderDiagnostic> Diagnostics);

    private static EmitResult Emit(ImmutableArray<AbiModel> models, GeneratorOptions options)
    {
        var present = models.Where(m => m is not null).Select(m => m!).ToList();
        var diagnostics = new List<HeaderDiagnostic>();
        // An unknown architecture is an error, also when it is the only one named (then no model was built).
        foreach (var a in options.Architectures.Where(a => TargetArch.Parse(a) is null))
            diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.NoHeaders, HeaderSeverity.Error, $"KvmUapiArchitectures names '{a}'; use one of {string.Join(", ", TargetArch.All.Select(t => t.Name))}", "<options>", 0, 0));
        if (present.Count == 0)
            return new EmitResult(EquatableArray<GeneratedSource>.Empty, diagnostics.ToEquatableArray());
        // The same header problem is usually found once per architecture: report it once.
        diagnostics.AddRange(present.SelectMany(m => m.Diagnostics).Distinct());
        try
        {
            var sources = CSharpEmitter.Emit(present, new EmitOptions(options.Namespace, options.Internal));
            return new EmitResult(sources.ToEquatableArray(), diagnostics.ToEquatableArray());
        }
        catch (Exception ex)
        {
            diagnostics.Add(new HeaderDiagnostic(DiagnosticIds.InternalError, HeaderSeverity.Error, $"internal error while emitting C#: {ex.GetType().Name}: {ex.Message}", "<generator>", 0, 0));
            return new EmitResult(EquatableArray<GeneratedSource>.Empty, diagnostics.ToEquatableArray());
        }
    }
}
