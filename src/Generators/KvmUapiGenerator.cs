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

        var options = context.AnalyzerConfigOptionsProvider
            .Select(static (o, _) => GeneratorOptions.From(o.GlobalOptions))
            .WithTrackingName(OptionsStep);

        var models = options
            .Combine(headers)
            .SelectMany(static (p, _) => p.Left.Architectures
                .Select(a => TargetArch.Parse(a))
                .Where(a => a is not null)
                .Select(a => (Options: p.Left.ForArch(a!), Headers: p.Right, Active: p.Right.Count > 0)))
            .Select(static (p, ct) => p.Active ? AbiBuilder.Build(p.Headers, p.Options) : null)
            .WithTrackingName(ModelStep);

        var emitted = models.Collect()
            .Combine(options)
            .Select(static (p, _) => Emit(p.Left, p.Right))
            .WithTrackingName(EmitStep);

        context.RegisterSourceOutput(emitted, static (spc, result) =>
        {
            foreach (var d in result.Diagnostics) spc.ReportDiagnostic(Diagnostics.ToRoslyn(d));
            foreach (var s in result.Sources) spc.AddSource(s.HintName, SourceText.From(s.Text, Encoding.UTF8));
        });
    }

    /// <summary>The emit step's value: sources and diagnostics, value-equal.</summary>
    public sealed record EmitResult(EquatableArray<GeneratedSource> Sources, EquatableArray<HeaderDiagnostic> Diagnostics);

    private static EmitResult Emit(ImmutableArray<AbiModel?> models, GeneratorOptions options)
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
