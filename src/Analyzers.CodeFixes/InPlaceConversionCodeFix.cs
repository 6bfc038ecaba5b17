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
        var first = host.GetFirstToken();
        var line = text.Lines.GetLineFromPosition(first.SpanStart);
        var indent = new string(' ', first.SpanStart - line.Start);
        var ownLine = string.IsNullOrWhiteSpace(text.ToString(Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(line.Start, first.SpanStart)));
        var leading = host.GetLeadingTrivia();
        if (!ownLine)
        {
            // Start a new line for the directive and indent the statement one level below the line it shared.
            var shared = text.ToString(Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(line.Start, first.SpanStart));
            indent = new string(' ', shared.Length - shared.TrimStart().Length + 4);
            leading = SyntaxFactory.TriviaList(SyntaxFactory.EndOfLine("\n"), SyntaxFactory.Whitespace(indent));
        }
        var disable = SyntaxFactory.ParseLeadingTrivia("#pragma warning disable KVMEXP001\n");
        var restore = SyntaxFactory.ParseLeadingTrivia("#pragma warning restore KVMEXP001\n");
        var trailing = host.GetTrailingTrivia();
        var endsLine = trailing.Any(SyntaxKind.EndOfLineTrivia);
        if (!endsLine)
            trailing = SyntaxFactory.TriviaList(SyntaxFactory.EndOfLine("\n"));
        var beforeIndent = ownLine ? leading : SyntaxFactory.TriviaList(leading[0]);
        var afterIndent = ownLine ? SyntaxFactory.TriviaList() : SyntaxFactory.TriviaList(leading[1]);
        var newLeading = ownLine ? leading.InsertRange(0, disable) : beforeIndent.AddRange(disable).AddRange(afterIndent);
        var wrapped = host.WithLeadingTrivia(newLeading).WithTrailingTrivia(endsLine
            ? trailing.AddRange(restore)
            : trailing.AddRange(restore).Add(SyntaxFactory.Whitespace(ownLine ? indent : indent.Substring(0, indent.Length - 4))));
        return document.WithSyntaxRoot(root.ReplaceNode(host, wrapped));
    }
}
