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

namespace Kvm.Analyzers.CodeFixes;

/// <summary>KVM1006 for a handle kept in a local that is written again (a <c>using</c> local would be read-only):
/// <list type="bullet">
/// <item>the local is overwritten before the handle was disposed (<c>var vm = kvm.CreateVm(); … vm = kvm.CreateVm();</c>):
/// the fix disposes the old value just before the overwriting statement (wrapping an embedded statement in a block);
/// not offered when the new value is computed from the old one or the overwrite is not a statement of its own;</item>
/// <item>the handle is assigned to an existing local (<c>vm = kvm.CreateVm();</c>) and never overwritten again: the fix
/// disposes the local after the last statement of its declaring block that mentions it, or, when that statement
/// returns or throws, wraps it in <c>using (vm)</c> (not offered when it returns the local itself). <see cref="HoistUsingCodeFix"/> offers a <c>using</c> instead when the local is
/// used only in the assignment's block.</item>
/// </list>
/// Neither is offered where the inserted code would not compile (the local is not definitely assigned there).
/// The call is <c>x.Dispose()</c>, or <c>x?.Dispose()</c> where the creation can yield null (<c>?.Create</c>, a choice
/// with a null arm) or the compiler's null-state says the local may be null.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DisposeBeforeOverwriteCodeFix)), Shared]
public sealed class DisposeBeforeOverwriteCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.UndisposedHandleId);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
            return;
        foreach (var d in context.Diagnostics)
        {
            if (root.FindNode(d.Location.SourceSpan, getInnermostNodeForTie: true) is not InvocationExpressionSyntax created)
                continue;
            if (d.Properties.ContainsKey(HandleLifetimeRule.OverwrittenKey))
            {
                if (d.AdditionalLocations.Count == 0 ||
                    root.FindNode(d.AdditionalLocations[0].SourceSpan, getInnermostNodeForTie: true) is not AssignmentExpressionSyntax
                    {
                        Parent: ExpressionStatementSyntax statement, Left: IdentifierNameSyntax local,
                    } overwrite ||
                    overwrite.Right.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(i => i.Identifier.ValueText == local.Identifier.ValueText))
                    continue;
                var name = local.Identifier.ValueText;
                if (await CompilingAsync(context.Document, statement, name, before: true, MayBeNull(created), context.CancellationToken).ConfigureAwait(false)
                    is not { } disposedFirst)
                    continue;
                context.RegisterCodeFix(CodeAction.Create($"Dispose the previous value of '{name}' before it is overwritten",
                    _ => Task.FromResult(disposedFirst),
                    equivalenceKey: Descriptors.UndisposedHandleId + ".DisposeBeforeOverwrite"), d);
                continue;
            }
            if (d.Properties.ContainsKey(HandleLifetimeRule.StoredInKey) ||
                Unparen(created).Parent is not AssignmentExpressionSyntax { Left: IdentifierNameSyntax target } ||
                model.GetSymbolInfo(target, context.CancellationToken).Symbol is not ILocalSymbol symbol ||
                LastUse(symbol, model, context.CancellationToken) is not { } last ||
                await CompilingAsync(context.Document, last, symbol.Name, before: false, MayBeNull(created), context.CancellationToken).ConfigureAwait(false)
                    is not { } disposedAfter)
                continue;
            context.RegisterCodeFix(CodeAction.Create($"Dispose '{symbol.Name}' after its last use",
                _ => Task.FromResult(disposedAfter),
                equivalenceKey: Descriptors.UndisposedHandleId + ".DisposeAfterLastUse"), d);
        }
    }

    /// <summary>The creation sits in a <c>?.</c> or a choice (one arm may be null): dispose with <c>?.</c>.</summary>
    private static bool MayBeNull(SyntaxNode created) =>
        created.Ancestors().TakeWhile(a => a is ExpressionSyntax).Any(a => a is ConditionalAccessExpressionSyntax or ConditionalExpressionSyntax ||
                                                                           a.IsKind(SyntaxKind.CoalesceExpression));

    private static SyntaxNode Unparen(SyntaxNode e)
    {
        while (e.Parent is ParenthesizedExpressionSyntax or ConditionalExpressionSyntax or ConditionalAccessExpressionSyntax or
               BinaryExpressionSyntax { RawKind: (int)SyntaxKind.CoalesceExpression })
            e = e.Parent;
        return e;
    }

    /// <summary>The statement of the local's declaring block that mentions it last, when the dispose can follow it.</summary>
    private static StatementSyntax? LastUse(ILocalSymbol local, SemanticModel model, CancellationToken ct)
    {
        if (local.DeclaringSyntaxReferences.Length != 1 ||
            local.DeclaringSyntaxReferences[0].GetSyntax(ct).FirstAncestorOrSelf<StatementSyntax>() is not { Parent: BlockSyntax block })
            return null;
        StatementSyntax? last = null;
        foreach (var s in block.Statements)
            if (s.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(i => i.Identifier.ValueText == local.Name &&
                    SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(i, ct).Symbol, local)))
                last = s;
        return last is YieldStatementSyntax or GotoStatementSyntax or ReturnStatementSyntax { Expression: IdentifierNameSyntax } ? null : last;
    }

    /// <summary>The fixed document, or null when the inserted code would not compile: the local is not definitely
    /// assigned there (<c>VmFd vm; if (b) vm = kvm.CreateVm();</c> then an overwrite or the end of the block).</summary>
    private static async Task<Document?> CompilingAsync(Document document, StatementSyntax anchor, string name, bool before, bool mayBeNull,
        CancellationToken ct)
    {
        var (result, mark) = await InsertAsync(document, anchor, name, before, mayBeNull, ct).ConfigureAwait(false);
        var model = await result.GetSemanticModelAsync(ct).ConfigureAwait(false);
        var root = await result.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (model is null || root?.GetAnnotatedNodes(mark).FirstOrDefault() is not { } inserted ||
            model.GetDiagnostics(inserted.Span, ct).Any(x => x.Severity == DiagnosticSeverity.Error))
            return null;
        return result;
    }

    private static async Task<(Document Document, SyntaxAnnotation Mark)> InsertAsync(Document document, StatementSyntax anchor, string name,
        bool before, bool mayBeNull, CancellationToken ct)
    {
        if (!before && anchor is ReturnStatementSyntax or ThrowStatementSyntax)
        {
            // Nothing runs after a return: `using (vm) return vm.Type;` reads, then disposes, then returns.
            var original = (await document.GetSyntaxRootAsync(ct).ConfigureAwait(false))!;
            var none = SyntaxFactory.TriviaList();
            var wrapped = SyntaxFactory.UsingStatement(default, default,
                SyntaxFactory.Token(anchor.GetLeadingTrivia(), SyntaxKind.UsingKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space)),
                SyntaxFactory.Token(none, SyntaxKind.OpenParenToken, none), null, SyntaxFactory.IdentifierName(name),
                SyntaxFactory.Token(none, SyntaxKind.CloseParenToken, SyntaxFactory.TriviaList(SyntaxFactory.Space)), anchor.WithoutLeadingTrivia());
            var usingMark = new SyntaxAnnotation();
            return (document.WithSyntaxRoot(original.ReplaceNode(anchor, wrapped.WithAdditionalAnnotations(usingMark))), usingMark);
        }
        var plain = await InsertCallAsync(document, anchor, name, before, conditional: mayBeNull, ct).ConfigureAwait(false);
        if (mayBeNull)
            return plain;
        // Where the null-state says the local may be null (a `?.Create`, a `T?` local), `x.Dispose()` warns CS8602.
        var model = await plain.Document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        var root = await plain.Document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (model is null || root?.GetAnnotatedNodes(plain.Mark).FirstOrDefault() is not { } call ||
            !model.GetDiagnostics(call.Span, ct).Any(x => x.Id == "CS8602"))
            return plain;
        return await InsertCallAsync(document, anchor, name, before, conditional: true, ct).ConfigureAwait(false);
    }

    private static async Task<(Document Document, SyntaxAnnotation Mark)> InsertCallAsync(Document document, StatementSyntax anchor, string name,
        bool before, bool conditional, CancellationToken ct)
    {
        var root = (await document.GetSyntaxRootAsync(ct).ConfigureAwait(false))!;
        var mark = new SyntaxAnnotation();
        var dispose = SyntaxFactory.ParseStatement(name + (conditional ? "?" : "") + ".Dispose();")
            .WithAdditionalAnnotations(mark);
        SyntaxNode newRoot;
        if (anchor.Parent is BlockSyntax block)
        {
            var indented = dispose.WithLeadingTrivia(anchor.GetLeadingTrivia().Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia)))
                .WithTrailingTrivia(anchor.GetTrailingTrivia().Where(t => t.IsKind(SyntaxKind.EndOfLineTrivia)));
            var index = block.Statements.IndexOf(anchor) + (before ? 0 : 1);
            newRoot = root.ReplaceNode(block, block.WithStatements(block.Statements.Insert(index, indented)));
        }
        else
        {
            // An embedded statement (`if (c) vm = kvm.CreateVm();`): both go into a new block.
            var statements = before
                ? new[] { dispose, anchor.WithoutTrivia().WithLeadingTrivia(SyntaxFactory.Space) }
                : new[] { anchor.WithoutTrivia(), dispose.WithLeadingTrivia(SyntaxFactory.Space) };
            var replacement = SyntaxFactory.Block(
                    SyntaxFactory.Token(SyntaxKind.OpenBraceToken).WithTrailingTrivia(SyntaxFactory.Space),
                    SyntaxFactory.List(statements),
                    SyntaxFactory.Token(SyntaxKind.CloseBraceToken).WithLeadingTrivia(SyntaxFactory.Space))
                .WithTriviaFrom(anchor);
            newRoot = root.ReplaceNode(anchor, replacement);
        }
        return (document.WithSyntaxRoot(newRoot), mark);
    }
}
