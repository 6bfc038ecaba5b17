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
/// take ownership (<c>Console.WriteLine(kvm.CreateVm())</c>), used once as a receiver
/// (<c>KvmSystem.Open().CreateVm()</c>, whose intermediate /dev/kvm handle is dropped), tested by a pattern
/// (<c>if (kvm.CreateVm() is { } vm)</c>), or assigned to an existing local that is used only inside the block of
/// the assignment (<c>vm = kvm.CreateVm();</c>). The fix moves the creation (or a choice between two factories,
/// <c>b ? x.Create() : y.Create()</c>, or a <c>?.Create</c>) into a <c>using var</c> declared just before the
/// statement, so it is disposed at the end of the block, and uses the new local in its place; a statement embedded
/// in an <c>if</c>/<c>else</c>, a loop body, <c>using</c>, <c>lock</c> or <c>fixed</c> gets braces around the two.
/// In an expression-bodied lambda, method or local function the body becomes a block holding the <c>using var</c>. Offered only when the
/// statement is not a loop (whose condition would run the creation once instead of per iteration) and the creation
/// reads nothing declared in the statement itself. The creation then runs before the statement's other
/// sub-expressions.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(HoistUsingCodeFix)), Shared]
public sealed class HoistUsingCodeFix : CodeFixProvider
{
    private const string Title = "Declare it with 'using var' before the statement";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.UndisposedHandleId);

    /// <summary>Fix-all hoists one creation at a time against the current text of the document (each hoist picks a
    /// fresh name, and two diagnostics in one choice between factories share one hoist).</summary>
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(FixAllInDocumentAsync);

    private static async Task<Document?> FixAllInDocumentAsync(FixAllContext context, Document document, ImmutableArray<Diagnostic> diagnostics)
    {
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return document;
        var marks = new List<SyntaxAnnotation>();
        var marked = new Dictionary<SyntaxNode, SyntaxAnnotation>();
        foreach (var d in diagnostics.OrderBy(d => d.Location.SourceSpan.Start))
            if (root.FindNode(d.Location.SourceSpan, getInnermostNodeForTie: true) is InvocationExpressionSyntax created && !marked.ContainsKey(created))
                marked[created] = new SyntaxAnnotation();
        root = root.ReplaceNodes(marked.Keys, (old, now) => now.WithAdditionalAnnotations(marked[old]));
        document = document.WithSyntaxRoot(root);
        foreach (var mark in marked.Values)
        {
            root = (await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false))!;
            var model = await document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
            if (model is null || root.GetAnnotatedNodes(mark).FirstOrDefault() is not InvocationExpressionSyntax created ||
                Hoistable(created, model, context.CancellationToken) is not { } target)
                continue;
            document = await HoistAsync(document, root, model, target.Value, target.Statement, context.CancellationToken).ConfigureAwait(false);
        }
        return document;
    }

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
            return;
        foreach (var d in context.Diagnostics)
        {
            if (root.FindNode(d.Location.SourceSpan, getInnermostNodeForTie: true) is not InvocationExpressionSyntax created ||
                Hoistable(created, model, context.CancellationToken) is not { } target)
                continue;
            context.RegisterCodeFix(CodeAction.Create(Title, ct => HoistAsync(context.Document, root, model, target.Value, target.Statement, ct),
                equivalenceKey: Descriptors.UndisposedHandleId + ".Hoist"), d);
        }
    }

    /// <summary>The value to hoist (the creation, or the choice or <c>?.</c> it sits in) and the statement to put the
    /// <c>using var</c> before, or null when no hoist is right.</summary>
    private static (ExpressionSyntax Value, SyntaxNode Statement)? Hoistable(InvocationExpressionSyntax created, SemanticModel model, CancellationToken ct)
    {
        ExpressionSyntax outer = created;
        while (true)
        {
            if (outer.Parent is ParenthesizedExpressionSyntax p)
                outer = p;
            else if (outer.Parent is ConditionalAccessExpressionSyntax ca && ca.WhenNotNull == outer)
                outer = ca;
            else if (outer.Parent is ConditionalExpressionSyntax c && c.Condition != outer &&
                     (c.WhenTrue == outer ? c.WhenFalse : c.WhenTrue) is var other &&
                     (Unparen(other) is InvocationExpressionSyntax or ConditionalAccessExpressionSyntax || Unparen(other).IsKind(SyntaxKind.NullLiteralExpression)))
                outer = c; // both arms create (or one is null): the using owns whichever ran
            else
                break;
        }
        var lost = outer.Parent is ArgumentSyntax ||
                   outer.Parent is MemberAccessExpressionSyntax m && m.Expression == outer ||
                   outer.Parent is IsPatternExpressionSyntax ip && ip.Expression == outer ||
                   outer.Parent is AssignmentExpressionSyntax { Parent: ExpressionStatementSyntax { Parent: BlockSyntax block } } a && a.Right == outer &&
                   a.IsKind(SyntaxKind.SimpleAssignmentExpression) && UsedOnlyIn(a.Left, block, model, ct);
        if (!lost)
            return null;
        for (var n = outer.Parent; n is not null; n = n.Parent)
        {
            // An expression-bodied lambda: its body becomes a block holding the using.
            if (n is LambdaExpressionSyntax { ExpressionBody: { } body } lambda && body.Span.Contains(outer.Span))
                return (outer, lambda);
            // An expression-bodied method or local function (`int Slots(KvmSystem kvm) => kvm.CreateVm().Memslots.MaxSlots;`).
            if (n is ArrowExpressionClauseSyntax { Parent: MethodDeclarationSyntax or LocalFunctionStatementSyntax } arrow)
                return (outer, arrow);
            if (n is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax)
                return null;
            if (n is StatementSyntax s)
            {
                if (s is WhileStatementSyntax or DoStatementSyntax or ForStatementSyntax or ForEachStatementSyntax ||
                    s.Parent is not (BlockSyntax or IfStatementSyntax or ElseClauseSyntax or WhileStatementSyntax or DoStatementSyntax or
                        ForStatementSyntax or ForEachStatementSyntax or UsingStatementSyntax or LockStatementSyntax or FixedStatementSyntax))
                    return null;
                foreach (var id in outer.DescendantNodes().OfType<IdentifierNameSyntax>())
                    if (model.GetSymbolInfo(id, ct).Symbol is ILocalSymbol local &&
                        local.DeclaringSyntaxReferences.Any(r => s.Span.Contains(r.Span)))
                        return null;
                return (outer, s);
            }
        }
        return null;
    }

    private static ExpressionSyntax Unparen(ExpressionSyntax e)
    {
        while (e is ParenthesizedExpressionSyntax p)
            e = p.Expression;
        return e;
    }

    /// <summary>True when <paramref name="target"/> is a local whose every mention lies inside <paramref name="block"/>
    /// (then disposing its value at the end of that block cannot be early).</summary>
    private static bool UsedOnlyIn(ExpressionSyntax target, BlockSyntax block, SemanticModel model, CancellationToken ct)
    {
        if (model.GetSymbolInfo(target, ct).Symbol is not ILocalSymbol local || local.DeclaringSyntaxReferences.Length != 1)
            return false;
        var scope = local.DeclaringSyntaxReferences[0].GetSyntax(ct).FirstAncestorOrSelf<BlockSyntax>();
        if (scope is null)
            return false;
        foreach (var id in scope.DescendantNodes().OfType<IdentifierNameSyntax>())
            if (id.Identifier.ValueText == local.Name && !block.Span.Contains(id.Span) &&
                SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(id, ct).Symbol, local))
                return false;
        return true;
    }

    private static Task<Document> HoistAsync(Document document, SyntaxNode root, SemanticModel model, ExpressionSyntax created,
        SyntaxNode host, CancellationToken ct)
    {
        if (host is LambdaExpressionSyntax lambda)
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(lambda, HoistInLambda(lambda, model, created, ct))));
        if (host is ArrowExpressionClauseSyntax arrow)
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(arrow.Parent!, HoistInArrowMember(arrow, model, created, ct))));
        var statement = (StatementSyntax)host;
        var scope = (SyntaxNode?)(statement.Parent as BlockSyntax) ?? statement.FirstAncestorOrSelf<BlockSyntax>() ?? (SyntaxNode)statement;
        var name = FreshName(BaseName(model.GetTypeInfo(created, ct).Type), model, scope, statement.SpanStart);
        var declaration = SyntaxFactory.LocalDeclarationStatement(
                SyntaxFactory.VariableDeclaration(SyntaxFactory.IdentifierName("var"),
                    SyntaxFactory.SingletonSeparatedList(SyntaxFactory.VariableDeclarator(name)
                        .WithInitializer(SyntaxFactory.EqualsValueClause(created.WithoutTrivia())))))
            .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword))
            .NormalizeWhitespace()
            .WithLeadingTrivia(statement.GetLeadingTrivia())
            .WithTrailingTrivia(statement.GetTrailingTrivia()); // the statement's own end of line
        var rewritten = statement.ReplaceNode(created, SyntaxFactory.IdentifierName(name).WithTriviaFrom(created));
        if (statement.Parent is not BlockSyntax block)
        {
            // An embedded statement (`if (b) Console.WriteLine(kvm.CreateVm());`, a loop body, an `else if`): both go
            // into a new block in its place, so the handle lives (and is created) exactly as often as the statement runs.
            var wrapped = SyntaxFactory.Block(declaration.WithoutLeadingTrivia(), rewritten.WithoutLeadingTrivia())
                .WithLeadingTrivia(statement.GetLeadingTrivia()).WithTrailingTrivia(statement.GetTrailingTrivia())
                .WithAdditionalAnnotations(Microsoft.CodeAnalysis.Formatting.Formatter.Annotation);
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(statement, wrapped)));
        }
        var newBlock = block.WithStatements(block.Statements.ReplaceRange(statement, new[] { declaration, rewritten }));
        return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(block, newBlock)));
    }

    /// <summary><c>() =&gt; Use(kvm.CreateVm())</c> becomes <c>() =&gt; { using var vm = kvm.CreateVm(); Use(vm); }</c>
    /// (<c>return Use(vm);</c> when the lambda returns a value, also <c>return await …</c> from an async lambda returning
    /// <c>Task&lt;T&gt;</c>).</summary>
    private static LambdaExpressionSyntax HoistInLambda(LambdaExpressionSyntax lambda, SemanticModel model, ExpressionSyntax created, CancellationToken ct)
    {
        var body = lambda.ExpressionBody!;
        var name = FreshName(BaseName(model.GetTypeInfo(created, ct).Type), model, lambda, body.SpanStart);
        var declaration = SyntaxFactory.ParseStatement($"using var {name} = {created.WithoutTrivia().ToFullString()};");
        var rewritten = body.ReplaceNode(created, SyntaxFactory.IdentifierName(name).WithTriviaFrom(created)).WithoutTrivia();
        // A value lambda returns the body's value; a void one, or an async one returning a bare Task/ValueTask, runs it.
        var noValue = model.GetSymbolInfo(lambda, ct).Symbol is IMethodSymbol m &&
                      (m.ReturnsVoid || m.IsAsync && m.ReturnType is INamedTypeSymbol { IsGenericType: false });
        StatementSyntax use = noValue ? SyntaxFactory.ExpressionStatement(rewritten) : SyntaxFactory.ReturnStatement(rewritten);
        var block = SyntaxFactory.Block(declaration, use.NormalizeWhitespace()).NormalizeWhitespace(indentation: "", eol: " ", elasticTrivia: false)
            .WithTriviaFrom(body);
        return lambda.WithExpressionBody(null).WithBody(block);
    }

    /// <summary><c>int Slots(KvmSystem kvm) =&gt; kvm.CreateVm().Memslots.MaxSlots;</c> becomes a block body
    /// <c>{ using var vm = kvm.CreateVm(); return vm.Memslots.MaxSlots; }</c>.</summary>
    private static SyntaxNode HoistInArrowMember(ArrowExpressionClauseSyntax arrow, SemanticModel model, ExpressionSyntax created, CancellationToken ct)
    {
        var member = arrow.Parent!;
        var name = FreshName(BaseName(model.GetTypeInfo(created, ct).Type), model, member, arrow.Expression.SpanStart);
        var declaration = SyntaxFactory.ParseStatement($"using var {name} = {created.WithoutTrivia().ToFullString()};");
        var rewritten = arrow.Expression.ReplaceNode(created, SyntaxFactory.IdentifierName(name).WithTriviaFrom(created)).WithoutTrivia();
        var method = model.GetDeclaredSymbol(member, ct) as IMethodSymbol;
        var noValue = method is not null && (method.ReturnsVoid || method.IsAsync && method.ReturnType is INamedTypeSymbol { IsGenericType: false });
        StatementSyntax use = noValue ? SyntaxFactory.ExpressionStatement(rewritten) : SyntaxFactory.ReturnStatement(rewritten);
        var block = SyntaxFactory.Block(declaration, use.NormalizeWhitespace()).NormalizeWhitespace(indentation: "", eol: " ", elasticTrivia: false)
            .WithLeadingTrivia(SyntaxFactory.Space);
        return member switch
        {
            MethodDeclarationSyntax m => m.WithExpressionBody(null).WithSemicolonToken(default)
                .WithParameterList(m.ParameterList.WithoutTrailingTrivia()).WithBody(block.WithTrailingTrivia(m.SemicolonToken.TrailingTrivia)),
            LocalFunctionStatementSyntax l => l.WithExpressionBody(null).WithSemicolonToken(default)
                .WithParameterList(l.ParameterList.WithoutTrailingTrivia()).WithBody(block.WithTrailingTrivia(l.SemicolonToken.TrailingTrivia)),
            _ => member,
        };
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
    private static string FreshName(string baseName, SemanticModel model, SyntaxNode block, int position)
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
