using System.Collections.Immutable;
using System.Composition;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kvm.Analyzers.CodeFixes;

/// <summary>KVM1006: turns <c>var x = sdk.Create...();</c> into <c>using var x = ...;</c> (disposed at the end of the
/// enclosing block). Offered only for a single-variable local declaration directly in a block or at top level.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UsingCodeFix)), Shared]
public sealed class UsingCodeFix : CodeFixProvider
{
    private const string Title = "Dispose it at the end of the scope ('using var')";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.UndisposedHandleId);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    private static (ExpressionStatementSyntax, InvocationExpressionSyntax)? DroppedStatement(SyntaxNode node)
    {
        if (node is not InvocationExpressionSyntax created)
            return null;
        return created.Parent switch
        {
            ExpressionStatementSyntax s => (s, created),
            AssignmentExpressionSyntax { Left: IdentifierNameSyntax { Identifier.ValueText: "_" }, Parent: ExpressionStatementSyntax s } a
                when a.Right == created => (s, created),
            _ => null,
        };
    }

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return;
        foreach (var d in context.Diagnostics)
        {
            var node = root.FindNode(d.Location.SourceSpan, getInnermostNodeForTie: true);
            if (DroppedStatement(node) is { } dropped)
            {
                // `sdk.Create(...);` or `_ = sdk.Create(...);`: dispose what was created right there.
                var (statement, created) = dropped;
                context.RegisterCodeFix(CodeAction.Create("Dispose it right away ('.Dispose()')", _ =>
                {
                    var call = SyntaxFactory.InvocationExpression(SyntaxFactory.MemberAccessExpression(
                        SyntaxKind.SimpleMemberAccessExpression, created.WithoutTrivia(), SyntaxFactory.IdentifierName("Dispose")));
                    var updated = statement.WithExpression(call).WithTriviaFrom(statement);
                    return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(statement, updated)));
                }, equivalenceKey: Descriptors.UndisposedHandleId + ".Dispose"), d);
                continue;
            }
            var decl = node.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>();
            if (decl is null || decl.UsingKeyword != default || decl.IsConst || decl.Declaration.Variables.Count != 1 ||
                decl.Declaration.Variables[0].Initializer?.Value is not { } value || !value.Span.Contains(node.Span) ||
                decl.Parent is not (BlockSyntax or GlobalStatementSyntax))
                continue;
            context.RegisterCodeFix(CodeAction.Create(Title, _ =>
            {
                var leading = decl.GetLeadingTrivia();
                var updated = decl.WithoutLeadingTrivia()
                    .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithTrailingTrivia(SyntaxFactory.Space))
                    .WithLeadingTrivia(leading);
                return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(decl, updated)));
            }, equivalenceKey: Descriptors.UndisposedHandleId), d);
        }
    }
}
