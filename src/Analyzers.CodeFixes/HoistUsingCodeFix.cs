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

namespace Kvm.Analyzers.CodeFixes;

/// <summary>KVM1006 for a handle created inside a larger expression and lost there: passed to a method that does not
/// take ownership (<c>Console.WriteLine(kvm.CreateVm())</c>) or used once as a receiver
/// (<c>KvmSystem.Open().CreateVm()</c>, whose intermediate /dev/kvm handle is dropped). The fix moves the creation
/// into a <c>using var</c> declared just before the statement, so it is disposed at the end of the block, and uses the
/// new local in its place. Offered only when the statement sits directly in a block and is not a loop (whose
/// condition would run the creation once instead of per iteration), and the creation reads nothing declared in
/// the statement itself. The creation then runs before the statement's other sub-expressions.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(HoistUsingCodeFix)), Shared]
public sealed class HoistUsingCodeFix : CodeFixProvider
{
    private const string Title = "Declare it with 'using var' before the statement";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.UndisposedHandleId);

    public override FixAllProvider? GetFixAllProvider() => null; // each hoist picks a fresh name against the current text

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
            return;
        foreach (var d in context.Diagnostics)
        {
            if (root.FindNode(d.Location.SourceSpan, getInnermostNodeForTie: true) is not InvocationExpressionSyntax created ||
                Hoistable(created, model, context.CancellationToken) is not { } statement)
                continue;
            context.RegisterCodeFix(CodeAction.Create(Title, ct => HoistAsync(context.Document, root, model, created, statement, ct),
                equivalenceKey: Descriptors.UndisposedHandleId + ".Hoist"), d);
        }
    }

    private static StatementSyntax? Hoistable(InvocationExpressionSyntax created, SemanticModel model, CancellationToken ct)
    {
        SyntaxNode outer = created;
        while (outer.Parent is ParenthesizedExpressionSyntax p)
            outer = p;
        var lost = outer.Parent is ArgumentSyntax ||
                   outer.Parent is MemberAccessExpressionSyntax m && m.Expression == outer;
        if (!lost)
            return null;
        for (var n = created.Parent; n is not null; n = n.Parent)
        {
            if (n is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)
                return null;
            if (n is StatementSyntax s)
            {
                if (s.Parent is not BlockSyntax || s is WhileStatementSyntax or DoStatementSyntax or ForStatementSyntax or ForEachStatementSyntax)
                    return null;
                foreach (var id in created.DescendantNodes().OfType<IdentifierNameSyntax>())
                    if (model.GetSymbolInfo(id, ct).Symbol is ILocalSymbol local &&
                        local.DeclaringSyntaxReferences.Any(r => s.Span.Contains(r.Span)))
                        return null;
                return s;
            }
        }
        return null;
    }

    private static Task<Document> HoistAsync(Document document, SyntaxNode root, SemanticModel model, InvocationExpressionSyntax created,
        StatementSyntax statement, CancellationToken ct)
    {
        var block = (BlockSyntax)statement.Parent!;
        var name = FreshName(BaseName(model.GetTypeInfo(created, ct).Type), model, block, statement.SpanStart);
        var declaration = SyntaxFactory.LocalDeclarationStatement(
                SyntaxFactory.VariableDeclaration(SyntaxFactory.IdentifierName("var"),
                    SyntaxFactory.SingletonSeparatedList(SyntaxFactory.VariableDeclarator(name)
                        .WithInitializer(SyntaxFactory.EqualsValueClause(created.WithoutTrivia())))))
            .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword))
            .NormalizeWhitespace()
            .WithLeadingTrivia(statement.GetLeadingTrivia())
            .WithTrailingTrivia(statement.GetTrailingTrivia()); // the statement's own end of line
        var rewritten = statement.ReplaceNode(created, SyntaxFactory.IdentifierName(name).WithTriviaFrom(created));
        var newBlock = block.WithStatements(block.Statements.ReplaceRange(statement, new[] { declaration, rewritten }));
        return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(block, newBlock)));
    }

    private static string BaseName(ITypeSymbol? type) => type?.Name switch
    {
        "KvmSystem" => "kvm",
        "VmFd" => "vm",
        "VcpuFd" => "vcpu",
        "GmemFd" => "gmem",
        "GmemMapping" or "HostMapping" => "mapping",
        "HostMemory" => "memory",
        { Length: > 0 } n => char.ToLowerInvariant(n[0]) + n.Substring(1),
        _ => "handle",
    };

    // Unused in the enclosing scopes and anywhere in the block (a later or nested declaration would clash).
    private static string FreshName(string baseName, SemanticModel model, BlockSyntax block, int position)
    {
        var taken = new HashSet<string>(block.DescendantTokens().Where(t => t.IsKind(SyntaxKind.IdentifierToken)).Select(t => t.ValueText));
        for (var i = 1; ; i++)
        {
            var candidate = i == 1 ? baseName : baseName + i;
            if (!taken.Contains(candidate) && model.LookupSymbols(position, name: candidate).IsEmpty &&
                SyntaxFacts.GetKeywordKind(candidate) == SyntaxKind.None)
                return candidate;
        }
    }
}
