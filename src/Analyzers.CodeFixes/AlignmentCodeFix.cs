using System.Collections.Immutable;
using System.Composition;
using System.Globalization;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Kvm.Analyzers.CodeFixes;

/// <summary>KVM1003: replaces the constant with the page-aligned value — sizes and lengths rounded up, addresses and
/// offsets rounded down (the title says which). Keeps hex if the original was hex. A named constant or
/// <c>static readonly</c> field declared in this solution (this file or another, such as a constants file) is fixed at
/// its declaration (so every use agrees), not at the use.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(AlignmentCodeFix)), Shared]
public sealed class AlignmentCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.UnalignedId);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null)
            return;
        foreach (var d in context.Diagnostics)
        {
            if (!d.Properties.TryGetValue(AlignmentRule.AlignedKey, out var alignedText) ||
                !ulong.TryParse(alignedText, NumberStyles.None, CultureInfo.InvariantCulture, out var aligned) ||
                root.FindNode(d.Location.SourceSpan, getInnermostNodeForTie: true) is not ExpressionSyntax expr)
                continue;
            var up = d.Properties.TryGetValue(AlignmentRule.RoundKey, out var round) && round == "up";
            // A named constant declared in this file: fix the constant, not this use of it.
            var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
            var target = expr;
            var where = "";
            var targetDocument = context.Document;
            var symbol = model?.GetSymbolInfo(expr, context.CancellationToken).Symbol;
            if (symbol is IFieldSymbol { IsConst: true } or ILocalSymbol { IsConst: true } or IFieldSymbol { IsStatic: true, IsReadOnly: true } &&
                symbol.DeclaringSyntaxReferences.Length == 1 &&
                context.Document.Project.Solution.GetDocument(symbol.DeclaringSyntaxReferences[0].SyntaxTree) is { } declaringDocument &&
                symbol.DeclaringSyntaxReferences[0].GetSyntax(context.CancellationToken) is VariableDeclaratorSyntax { Initializer.Value: { } init })
            {
                // Declared in this file or another of the solution (a constants file): fix it where it is declared.
                target = init;
                targetDocument = declaringDocument;
                where = symbol is IFieldSymbol { IsConst: false } ? $" in the static readonly field '{symbol.Name}'" : $" in the constant '{symbol.Name}'";
            }
            var hex = target.ToString().TrimStart('(').StartsWith("0x", System.StringComparison.OrdinalIgnoreCase) ||
                      target is not LiteralExpressionSyntax;
            var text = hex ? "0x" + aligned.ToString("X", CultureInfo.InvariantCulture) : aligned.ToString(CultureInfo.InvariantCulture);
            var title = (up
                ? $"Round the size up to the next page boundary ({text})"
                : $"Round the address down to its page boundary ({text})") + where;
            var edit = target;
            var editIn = targetDocument;
            context.RegisterCodeFix(CodeAction.Create(title, async ct =>
            {
                var editRoot = (await editIn.GetSyntaxRootAsync(ct).ConfigureAwait(false))!;
                var literal = SyntaxFactory.ParseExpression(text).WithTriviaFrom(edit);
                return editIn.WithSyntaxRoot(editRoot.ReplaceNode(edit, literal)).Project.Solution;
            }, equivalenceKey: Descriptors.UnalignedId), d);
        }
    }
}
