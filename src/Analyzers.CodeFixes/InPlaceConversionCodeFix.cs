using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers.CodeFixes;

/// <summary>KVM1001: rewrites <c>vm.MemoryAttributes.Set(gpa, size, PRIVATE)</c> into
/// <c>vm.InPlaceConversionV8!.ToPrivate(gpa, size)</c> (<c>TrySet</c> → <c>TryToPrivate</c>), the conversion that runs
/// <c>KVM_SET_MEMORY_ATTRIBUTES2</c> on the guest_memfd backing the range. Offered only when the analyzer saw a
/// guest_memfd memslot of the same VM added in the method (the in-place backend resolves the range through it).
/// The result uses the experimental KVMEXP001 API.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InPlaceConversionCodeFix)), Shared]
public sealed class InPlaceConversionCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.PrivateThroughVmId);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var d in context.Diagnostics)
        {
            if (!d.Properties.ContainsKey(MemoryAttributesRule.FixableKey))
                continue;
            context.RegisterCodeFix(CodeAction.Create(
                "Convert on the guest_memfd (InPlaceConversionV8.ToPrivate, experimental KVMEXP001)",
                ct => RewriteAsync(context.Document, d.Location.SourceSpan, ct),
                equivalenceKey: Descriptors.PrivateThroughVmId), d);
        }
        return Task.CompletedTask;
    }

    private static async Task<Document> RewriteAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan span, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        if (root?.FindNode(span, getInnermostNodeForTie: true) is not InvocationExpressionSyntax call || model is null ||
            model.GetOperation(call, ct) is not IInvocationOperation inv ||
            Ops.Receiver(inv) is not { } receiver || Ops.Unwrap(receiver) is not IPropertyReferenceOperation { Instance: { } vm } ||
            inv.Arguments.FirstOrDefault(a => a.Parameter?.Name == "gpa")?.Syntax is not ArgumentSyntax gpa ||
            inv.Arguments.FirstOrDefault(a => a.Parameter?.Name == "size")?.Syntax is not ArgumentSyntax size)
            return document;
        var method = inv.TargetMethod.Name == "TrySet" ? "TryToPrivate" : "ToPrivate";
        // vm.MemoryAttributes?.Set(...) is a conditional access: replace the whole expression.
        SyntaxNode target = call.Parent is ConditionalAccessExpressionSyntax ca && ca.WhenNotNull == call ? ca : call;
        var replacement = SyntaxFactory.ParseExpression(
                $"{vm.Syntax.WithoutTrivia()}.InPlaceConversionV8!.{method}({gpa.Expression.WithoutTrivia()}, {size.Expression.WithoutTrivia()})")
            .WithTriviaFrom(target);
        var annotation = new SyntaxAnnotation();
        var statement = target.FirstAncestorOrSelf<StatementSyntax>();
        SyntaxNode newRoot;
        if (statement is not null)
            newRoot = root.ReplaceNode(statement, statement.ReplaceNode(target, replacement).WithAdditionalAnnotations(annotation));
        else
            newRoot = root.ReplaceNode(target, replacement.WithAdditionalAnnotations(annotation));
        var updated = document.WithSyntaxRoot(newRoot);
        return await OptInAsync(updated, annotation, ct).ConfigureAwait(false);
    }

    /// <summary>The result uses the experimental in-place API: unless the project already opted in (KVMEXP001
    /// suppressed), wrap the rewritten statement (or, where there is none, its member) in
    /// <c>#pragma warning disable/restore KVMEXP001</c> so the fixed code compiles. A directive must start its own
    /// line: a statement that shares its line (<c>if (ok) vm.MemoryAttributes!.Set(…);</c>) is moved to a line of its
    /// own first.</summary>
    private static async Task<Document> OptInAsync(Document document, SyntaxAnnotation annotation, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        if (root is null || model is null || root.GetAnnotatedNodes(annotation).FirstOrDefault() is not { } node ||
            !model.GetDiagnostics(node.Span, ct).Any(d => d.Id == "KVMEXP001" && d.Severity == DiagnosticSeverity.Error))
            return document;
        SyntaxNode? host = node as StatementSyntax ?? node.FirstAncestorOrSelf<StatementSyntax>() ?? (SyntaxNode?)node.FirstAncestorOrSelf<MemberDeclarationSyntax>();
        if (host is null)
            return document;
        var text = await document.GetTextAsync(ct).ConfigureAwait(false);
        const string Disable = "#pragma warning disable KVMEXP001\n", Restore = "#pragma warning restore KVMEXP001\n";
        var first = host.GetFirstToken();
        var last = host.GetLastToken();
        var line = text.Lines.GetLineFromPosition(first.SpanStart);
        var before = text.ToString(Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(line.Start, first.SpanStart));
        var outer = before.Substring(0, before.Length - before.TrimStart().Length);
        var changes = new List<Microsoft.CodeAnalysis.Text.TextChange>();
        var ownLine = before.Trim().Length == 0;
        if (ownLine)
            changes.Add(new Microsoft.CodeAnalysis.Text.TextChange(new Microsoft.CodeAnalysis.Text.TextSpan(line.Start, 0), Disable));
        else
        {
            // The statement shares its line (`if (ok) vm.MemoryAttributes!.Set(…);`): break the line after what precedes
            // it, put the directive on a line of its own and indent the statement one level further.
            var prev = first.GetPreviousToken();
            changes.Add(new Microsoft.CodeAnalysis.Text.TextChange(Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(prev.Span.End, first.SpanStart),
                "\n" + Disable + outer + "    "));
        }
        var lastLine = text.Lines.GetLineFromPosition(last.Span.End);
        var rest = text.ToString(Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(last.Span.End, lastLine.End));
        if (rest.Trim().Length == 0)
            changes.Add(new Microsoft.CodeAnalysis.Text.TextChange(
                Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(last.Span.End, lastLine.EndIncludingLineBreak), "\n" + Restore));
        else
            changes.Add(new Microsoft.CodeAnalysis.Text.TextChange(
                Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(last.Span.End, last.Span.End + rest.Length - rest.TrimStart().Length),
                "\n" + Restore + outer));
        return document.WithText(text.WithChanges(changes));
    }
}
