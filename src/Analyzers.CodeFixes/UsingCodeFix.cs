using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kvm.Analyzers.CodeFixes;

/// <summary>KVM1006: turns <c>var x = sdk.Create...();</c> into <c>using var x = ...;</c> (disposed at the end of the
/// enclosing block); a declaration of several variables is split first, so only the leaked one becomes a using, and a
/// declaration in a switch section gets braces. Offered for a local declaration in a block, at top level or in a switch section whose
/// local is never written again (a <c>using</c> local is read-only: <see cref="DisposeBeforeOverwriteCodeFix"/> covers
/// a reassigned local) and not stored in a member of a non-disposable type (<see cref="DisposableOwnerCodeFix"/>).
/// A handle dropped where it is created (an expression statement, <c>_ = …</c>, a void lambda or expression-bodied
/// member, also through <c>?:</c>, <c>??</c>, switch arms and <c>?.</c>) is disposed right there instead.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(UsingCodeFix)), Shared]
public sealed class UsingCodeFix : CodeFixProvider
{
    private const string Title = "Dispose it at the end of the scope ('using var')";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.UndisposedHandleId);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <summary>The expression a created handle lands in (through parentheses, <c>?:</c>, <c>??</c>, switch arms and
    /// <c>?.</c>) when that expression's value is dropped: an expression statement, <c>_ = …</c>, the body of a
    /// void lambda or of an expression-bodied void member. Returns the node to replace and the landing expression.</summary>
    private static (SyntaxNode Replace, ExpressionSyntax Landing)? Dropped(SyntaxNode node)
    {
        if (Landing(node) is not { } landing)
            return null;
        if (!Choices.OnlyCreatedOrNull(landing))
            return null;
        return landing.Parent switch
        {
            ExpressionStatementSyntax => (landing, landing),
            AssignmentExpressionSyntax { Left: IdentifierNameSyntax { Identifier.ValueText: "_" }, Parent: ExpressionStatementSyntax } a
                when a.Right == landing => (a, landing),
            LambdaExpressionSyntax l when l.ExpressionBody == landing => (landing, landing),
            ArrowExpressionClauseSyntax => (landing, landing),
            _ => null,
        };
    }

    /// <summary>The expression the created value lands in: the creation itself, or the choice or <c>?.</c> around it.</summary>
    private static ExpressionSyntax? Landing(SyntaxNode node)
    {
        if (node is not InvocationExpressionSyntax created)
            return null;
        ExpressionSyntax landing = created;
        while (true)
        {
            switch (landing.Parent)
            {
                case ParenthesizedExpressionSyntax p:
                    landing = p;
                    continue;
                case ConditionalExpressionSyntax c when c.Condition != landing:
                    landing = c;
                    continue;
                case BinaryExpressionSyntax b when b.IsKind(SyntaxKind.CoalesceExpression):
                    landing = b;
                    continue;
                case SwitchExpressionArmSyntax arm when arm.Expression == landing && arm.Parent?.Parent is SwitchExpressionSyntax sw:
                    landing = sw;
                    continue;
                case ConditionalAccessExpressionSyntax ca when ca.WhenNotNull == landing:
                    landing = ca;
                    continue;
            }
            break;
        }
        return landing;
    }

    /// <summary><c>x.Dispose()</c> for a plain call, <c>a?.Create(…).Dispose()</c> inside a null-conditional access,
    /// and <c>(…)?.Dispose()</c> for a choice between factories (one arm may be null).</summary>
    private static ExpressionSyntax DisposeCall(ExpressionSyntax landing)
    {
        var bare = landing.WithoutTrivia();
        if (bare is InvocationExpressionSyntax or ConditionalAccessExpressionSyntax)
            return SyntaxFactory.ParseExpression(bare.ToFullString() + ".Dispose()");
        return SyntaxFactory.ParseExpression("(" + bare.ToFullString() + ")?.Dispose()");
    }

    /// <summary>The <c>for</c> loop whose single-variable initializer is the creation, when the variable is never
    /// written again (a using statement's variable is read-only).</summary>
    private static ForStatementSyntax? ForInitializer(SyntaxNode node) =>
        Landing(node) is { Parent: EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax v } } value &&
        v.Initializer!.Value == value && Choices.OnlyCreatedOrNull(value) &&
        v.Parent is VariableDeclarationSyntax { Variables.Count: 1, Parent: ForStatementSyntax loop } decl && loop.Declaration == decl &&
        !WrittenLater(loop, v.Identifier.ValueText)
            ? loop
            : null;

    private static bool MentionedOutside(SwitchSectionSyntax section, string name) =>
        section.Parent is SwitchStatementSyntax sw && sw.Sections.Where(x => x != section)
            .Any(x => x.DescendantNodes().OfType<IdentifierNameSyntax>().Any(i => i.Identifier.ValueText == name));

    /// <summary>True when the local is written or passed by reference anywhere in <paramref name="scope"/>: a
    /// <c>using</c> local is read-only, so the declaration fix would not compile.</summary>
    private static bool WrittenLater(SyntaxNode scope, string name)
    {
        foreach (var id in scope.DescendantNodes().OfType<IdentifierNameSyntax>())
        {
            if (id.Identifier.ValueText != name)
                continue;
            switch (id.Parent)
            {
                case AssignmentExpressionSyntax a when a.Left == id:
                case ArgumentSyntax arg when !arg.RefKindKeyword.IsKind(SyntaxKind.None):
                case RefExpressionSyntax:
                case PrefixUnaryExpressionSyntax:
                case PostfixUnaryExpressionSyntax:
                    return true;
            }
        }
        return false;
    }

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return;
        foreach (var d in context.Diagnostics)
        {
            var node = root.FindNode(d.Location.SourceSpan, getInnermostNodeForTie: true);
            if (Dropped(node) is { } dropped)
            {
                // `sdk.Create(...);`, `_ = b ? x.Create() : y.Create();`, `f?.Create(...);`, `() => sdk.Create()`:
                // dispose what was created right there.
                var (replace, landing) = dropped;
                context.RegisterCodeFix(CodeAction.Create("Dispose it right away ('.Dispose()')", _ =>
                {
                    var updated = DisposeCall(landing).WithTriviaFrom(replace);
                    return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(replace, updated)));
                }, equivalenceKey: Descriptors.UndisposedHandleId + ".Dispose"), d);
                continue;
            }
            if (ForInitializer(node) is { } loop)
            {
                // `for (var vm = kvm.CreateVm(); …; …)`: the same scope as a using statement around the loop.
                context.RegisterCodeFix(CodeAction.Create(Title, _ =>
                {
                    var indent = loop.GetLeadingTrivia().Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia));
                    var resource = loop.Declaration!.WithoutTrivia();
                    var bare = loop.WithDeclaration(null).WithLeadingTrivia(indent);
                    // Stacked-using style (the loop keeps its indentation); tokens without elastic trivia, so the
                    // formatter leaves the loop alone.
                    var none = SyntaxFactory.TriviaList();
                    var stacked = SyntaxFactory.UsingStatement(default, default,
                        SyntaxFactory.Token(loop.GetLeadingTrivia(), SyntaxKind.UsingKeyword, SyntaxFactory.TriviaList(SyntaxFactory.Space)),
                        SyntaxFactory.Token(none, SyntaxKind.OpenParenToken, none), resource, null,
                        SyntaxFactory.Token(none, SyntaxKind.CloseParenToken, SyntaxFactory.TriviaList(SyntaxFactory.EndOfLine("\n"))), bare);
                    return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(loop, stacked)));
                }, equivalenceKey: Descriptors.UndisposedHandleId + ".ForUsing"), d);
                continue;
            }
            var decl = node.FirstAncestorOrSelf<LocalDeclarationStatementSyntax>();
            var declarator = node.FirstAncestorOrSelf<VariableDeclaratorSyntax>();
            if (decl is null || declarator is null || decl.UsingKeyword != default || decl.IsConst ||
                declarator.Initializer?.Value is not { } value || Landing(node) != value ||
                !Choices.OnlyCreatedOrNull(value) ||
                decl.Parent is not (BlockSyntax or GlobalStatementSyntax or SwitchSectionSyntax) || d.Properties.ContainsKey(HandleLifetimeRule.OverwrittenKey) ||
                d.Properties.ContainsKey(HandleLifetimeRule.StoredInKey) ||
                WrittenLater(decl.Parent.Parent ?? decl.Parent, declarator.Identifier.ValueText))
                continue;
            if (decl.Declaration.Variables.Count > 1)
            {
                if (decl.Parent is not BlockSyntax block)
                    continue;
                // `VmFd a = kvm.CreateVm(), b = Other();`: one declaration per variable, in order, and only the leaked one
                // becomes a using (a using of the whole list would also dispose what the others hold).
                context.RegisterCodeFix(CodeAction.Create(Title, _ =>
                {
                    var indent = decl.GetLeadingTrivia().Where(t => t.IsKind(SyntaxKind.WhitespaceTrivia));
                    var split = decl.Declaration.Variables.Select((v, i) =>
                    {
                        var one = decl.WithDeclaration(decl.Declaration.WithVariables(SyntaxFactory.SingletonSeparatedList(v.WithoutTrivia())))
                            .WithLeadingTrivia(i == 0 ? decl.GetLeadingTrivia() : SyntaxFactory.TriviaList(indent))
                            .WithTrailingTrivia(decl.GetTrailingTrivia());
                        return v == declarator
                            ? one.WithoutLeadingTrivia().WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithTrailingTrivia(SyntaxFactory.Space))
                                .WithLeadingTrivia(one.GetLeadingTrivia())
                            : one;
                    });
                    var newBlock = block.WithStatements(block.Statements.ReplaceRange(decl, split));
                    return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(block, newBlock)));
                }, equivalenceKey: Descriptors.UndisposedHandleId), d);
                continue;
            }
            if (decl.Parent is SwitchSectionSyntax section && MentionedOutside(section, declarator.Identifier.ValueText))
                continue; // a switch section's local is in scope in every section: braces would hide it from the others
            context.RegisterCodeFix(CodeAction.Create(Title, _ =>
            {
                var leading = decl.GetLeadingTrivia();
                var updated = decl.WithoutLeadingTrivia()
                    .WithUsingKeyword(SyntaxFactory.Token(SyntaxKind.UsingKeyword).WithTrailingTrivia(SyntaxFactory.Space))
                    .WithLeadingTrivia(leading);
                if (decl.Parent is SwitchSectionSyntax sec)
                {
                    // `using var` may not stand directly in a switch section (CS8647): the section's statements get braces.
                    var statements = sec.Statements.Replace(decl, updated);
                    var lastTrivia = statements.Last().GetTrailingTrivia();
                    statements = statements.Replace(statements.Last(), statements.Last().WithoutTrailingTrivia());
                    var block = SyntaxFactory.Block(statements).WithTrailingTrivia(lastTrivia)
                        .WithAdditionalAnnotations(Microsoft.CodeAnalysis.Formatting.Formatter.Annotation);
                    return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(sec, sec.WithStatements(SyntaxFactory.SingletonList<StatementSyntax>(block)))));
                }
                return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(decl, updated)));
            }, equivalenceKey: Descriptors.UndisposedHandleId), d);
        }
    }
}
