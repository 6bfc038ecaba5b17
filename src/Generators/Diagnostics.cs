using System.Collections.Generic;
using Kvm.Generators.Model;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Kvm.Generators;

/// <summary>Roslyn descriptors for the KVM0xxx header diagnostics; each has a help page in docs/diagnostics.</summary>
public static class Diagnostics
{
    public static string HelpBase { get; } = HelpLinks.BaseFor(typeof(Diagnostics).Assembly);

    private static readonly Dictionary<string, (string Title, DiagnosticSeverity Default)> Catalogue = new()
    {
        [DiagnosticIds.IncludeNotFound] = ("Header not found", DiagnosticSeverity.Error),
        [DiagnosticIds.PreprocessorSyntax] = ("Preprocessor input not understood", DiagnosticSeverity.Error),
        [DiagnosticIds.DeclarationNotModelled] = ("Declaration not modelled", DiagnosticSeverity.Error),
        [DiagnosticIds.MacroNotConstant] = ("Macro is not an integer constant here", DiagnosticSeverity.Info),
        [DiagnosticIds.LayoutNotModelled] = ("Layout not modelled", DiagnosticSeverity.Warning),
        [DiagnosticIds.OverlayCollision] = ("Proposed ABI number collides with a released one", DiagnosticSeverity.Warning),
        [DiagnosticIds.NoHeaders] = ("Generator configuration problem", DiagnosticSeverity.Warning),
        [DiagnosticIds.InternalError] = ("Internal generator error", DiagnosticSeverity.Error),
        [DiagnosticIds.ErrorDirective] = ("#error in an active header region", DiagnosticSeverity.Error),
        [DiagnosticIds.NameAdjusted] = ("Generated name adjusted", DiagnosticSeverity.Info),
        [DiagnosticIds.LimitExceeded] = ("Header exceeds a generator limit", DiagnosticSeverity.Error),
    };

    private static readonly Dictionary<(string, DiagnosticSeverity), DiagnosticDescriptor> Descriptors = new();

    public static IEnumerable<DiagnosticDescriptor> All
    {
        get
        {
            foreach (var kv in Catalogue) yield return Descriptor(kv.Key, kv.Value.Default);
        }
    }

    public static DiagnosticDescriptor Descriptor(string id, DiagnosticSeverity severity)
    {
        lock (Descriptors)
        {
            if (!Descriptors.TryGetValue((id, severity), out var d))
            {
                var title = Catalogue.TryGetValue(id, out var c) ? c.Title : id;
                d = new DiagnosticDescriptor(id, title, "{0}", "KvmUapi", severity, isEnabledByDefault: true, helpLinkUri: HelpBase + id + ".md");
                Descriptors[(id, severity)] = d;
            }
            return d;
        }
    }

    public static Diagnostic ToRoslyn(HeaderDiagnostic d)
    {
        var severity = d.Severity switch
        {
            HeaderSeverity.Error => DiagnosticSeverity.Error,
            HeaderSeverity.Warning => DiagnosticSeverity.Warning,
            _ => DiagnosticSeverity.Info,
        };
        var location = d.Line > 0 && !d.File.StartsWith("<", System.StringComparison.Ordinal)
            ? Location.Create(d.File, new TextSpan(0, 0), new LinePositionSpan(new LinePosition(d.Line - 1, System.Math.Max(0, d.Column - 1)), new LinePosition(d.Line - 1, System.Math.Max(0, d.Column - 1))))
            : Location.None;
        return Diagnostic.Create(Descriptor(d.Id, severity), location, d.Message);
    }
}
