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
using Microsoft.CodeAnalysis.Simplification;

namespace Kvm.Analyzers.CodeFixes;

/// <summary>KVM1005 and KVM1013: adds <c>GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP</c> to the <c>GuestMemfd.Create</c>
/// call that made the guest_memfd which is later mapped, or bound to an arm64 memslot (the diagnostic's additional
/// location).</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MmapFlagCodeFix)), Shared]
public sealed class MmapFlagCodeFix : CodeFixProvider
{
    private const string Title = "Create the guest_memfd with GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.MapWithoutMmapFlagId, Arm64GmemMmapRule.Id);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var d in context.Diagnostics)
        {
            if (d.AdditionalLocations.Count == 0)
                continue;
            var createSpan = d.AdditionalLocations[0].SourceSpan;
            context.RegisterCodeFix(CodeAction.Create(Title, ct => AddFlagAsync(context.Document, createSpan, ct), equivalenceKey: d.Id), d);
        }
        return Task.CompletedTask;
    }

    private static async Task<Document> AddFlagAsync(Document document, Microsoft.CodeAnalysis.Text.TextSpan createSpan, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        if (root?.FindNode(createSpan, getInnermostNodeForTie: true) is not InvocationExpressionSyntax call || model is null ||
            model.GetOperation(call, ct) is not IInvocationOperation inv)
            return document;
        var mmap = SyntaxFactory.ParseExpression("global::Kvm.Interop.GuestMemfdFlags.GUEST_MEMFD_FLAG_MMAP")
            .WithAdditionalAnnotations(Simplifier.Annotation, Simplifier.AddImportsAnnotation);
        var flags = inv.Arguments.FirstOrDefault(a => a.Parameter?.Name == "flags");
        ArgumentListSyntax newArgs;
        if (flags is not null && Ops.IsExplicit(flags) && flags.Syntax is ArgumentSyntax arg)
        {
            var e = arg.Expression;
            ExpressionSyntax value = Constants.Of(flags.Value) == 0
                ? mmap.WithTriviaFrom(e)
                : SyntaxFactory.BinaryExpression(SyntaxKind.BitwiseOrExpression,
                    e is BinaryExpressionSyntax or MemberAccessExpressionSyntax or IdentifierNameSyntax or CastExpressionSyntax or ParenthesizedExpressionSyntax
                        ? e.WithoutTrivia()
                        : SyntaxFactory.ParenthesizedExpression(e.WithoutTrivia()),
                    mmap).WithTriviaFrom(e);
            newArgs = call.ArgumentList.ReplaceNode(arg, arg.WithExpression(value));
        }
        else
        {
            var positional = call.ArgumentList.Arguments.All(a => a.NameColon is null) &&
                             call.ArgumentList.Arguments.Count == (flags?.Parameter?.Ordinal ?? 1);
            var newArg = positional
                ? SyntaxFactory.Argument(mmap)
                : SyntaxFactory.Argument(SyntaxFactory.NameColon("flags"), default, mmap);
            newArgs = call.ArgumentList.AddArguments(newArg);
        }
        return document.WithSyntaxRoot(root.ReplaceNode(call.ArgumentList, newArgs));
    }
}
