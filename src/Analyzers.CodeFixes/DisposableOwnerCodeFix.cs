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
using Microsoft.CodeAnalysis.Text;

namespace Kvm.Analyzers.CodeFixes;

/// <summary>KVM1006 for a handle stored in a field or property of the containing type when that type is not
/// disposable (nothing would ever dispose the member): the fix makes the type implement <c>IDisposable</c> and
/// disposes the member in its <c>Dispose()</c> — a line added to an existing public parameterless <c>void Dispose()</c>,
/// or a new <c>public void Dispose() =&gt; member?.Dispose();</c>. The type's other members assigned straight from an
/// SDK factory are disposed too (once the type is disposable the rule counts their stores as handed on). Not offered when the member is declared in another
/// type, an existing <c>Dispose()</c> could not implement the interface (not public, static, or not void), or the
/// type's <c>Dispose()</c> is in another part of a partial type.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(DisposableOwnerCodeFix)), Shared]
public sealed class DisposableOwnerCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.UndisposedHandleId);

    /// <summary>Fix-all edits each type once with every member its diagnostics name (a batch of one edit per
    /// diagnostic would add <c>IDisposable</c> and <c>Dispose()</c> once per member, and conflict).</summary>
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(FixAllInDocumentAsync);

    private static async Task<Document?> FixAllInDocumentAsync(FixAllContext context, Document document, ImmutableArray<Diagnostic> diagnostics)
    {
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
            return document;
        var byType = new Dictionary<TypeDeclarationSyntax, List<string>>();
        foreach (var d in diagnostics)
        {
            if (Target(d, root, model, context.CancellationToken) is not var (type, member))
                continue;
            if (!byType.TryGetValue(type, out var members))
                byType[type] = members = new List<string>();
            if (!members.Contains(member))
                members.Add(member);
        }
        var text = await document.GetTextAsync(context.CancellationToken).ConfigureAwait(false);
        var changes = new List<TextChange>();
        foreach (var pair in byType)
            changes.AddRange(Changes(text, model, pair.Key, pair.Value, context.CancellationToken));
        return document.WithText(text.WithChanges(changes));
    }

    /// <summary>The type to make disposable and the member to dispose, or null when the fix does not apply.</summary>
    private static (TypeDeclarationSyntax Type, string Member)? Target(Diagnostic d, SyntaxNode root, SemanticModel model, CancellationToken ct)
    {
        if (!d.Properties.TryGetValue(HandleLifetimeRule.StoredInKey, out var member) || member is null ||
            root.FindNode(d.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<TypeDeclarationSyntax>() is not { } type ||
            model.GetDeclaredSymbol(type, ct) is not { } symbol ||
            !symbol.GetMembers(member).Any(m => m is IFieldSymbol or IPropertySymbol) ||
            ExistingDispose(type) is var (found, usable) && found is not null && !usable ||
            found is null && symbol.GetMembers("Dispose").Any(m => m is IMethodSymbol { Parameters.Length: 0 }))
            return null; // a Dispose() in another part of a partial type: adding one here would not compile
        return (type, member);
    }

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null)
            return;
        foreach (var d in context.Diagnostics)
        {
            if (Target(d, root, model, context.CancellationToken) is not var (type, member))
                continue;
            context.RegisterCodeFix(CodeAction.Create($"Make '{type.Identifier.ValueText}' IDisposable and dispose '{member}' in Dispose()",
                ct => RewriteAsync(context.Document, type, member, ct),
                equivalenceKey: Descriptors.UndisposedHandleId + ".DisposableOwner"), d);
        }
    }

    /// <summary>The type's parameterless <c>Dispose()</c> and whether it can implement <c>IDisposable.Dispose</c>.</summary>
    private static (MethodDeclarationSyntax? Method, bool Usable) ExistingDispose(TypeDeclarationSyntax type)
    {
        var m = type.Members.OfType<MethodDeclarationSyntax>()
            .FirstOrDefault(x => x.Identifier.ValueText == "Dispose" && x.ParameterList.Parameters.Count == 0 && x.TypeParameterList is null);
        if (m is null)
            return (null, true);
        var usable = m.Modifiers.Any(SyntaxKind.PublicKeyword) && !m.Modifiers.Any(SyntaxKind.StaticKeyword) &&
                     m.ReturnType is PredefinedTypeSyntax { Keyword.RawKind: (int)SyntaxKind.VoidKeyword } &&
                     (m.Body is not null || m.ExpressionBody is not null);
        return (m, usable);
    }

    private static async Task<Document> RewriteAsync(Document document, TypeDeclarationSyntax type, string member, CancellationToken ct)
    {
        var text = await document.GetTextAsync(ct).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(ct).ConfigureAwait(false);
        return document.WithText(text.WithChanges(Changes(text, model!, type, WithSiblings(type, member, model!, ct), ct)));
    }

    /// <summary><paramref name="member"/> and the type's other members that are assigned a handle straight from an SDK
    /// factory (<c>_vcpu = vm.CreateVcpu(0)</c>): once the type is disposable, such a store counts as handed on and is
    /// no longer reported, so the one fix must dispose them all. A member only ever assigned from elsewhere (a
    /// borrowed VM passed to the constructor) is left alone.</summary>
    private static List<string> WithSiblings(TypeDeclarationSyntax type, string member, SemanticModel model, CancellationToken ct)
    {
        var names = new List<string> { member };
        var sdk = model.Compilation.GetTypeByMetadataName("Kvm.VmFd")?.ContainingAssembly;
        foreach (var a in type.DescendantNodes().OfType<AssignmentExpressionSyntax>())
        {
            if (!a.IsKind(SyntaxKind.SimpleAssignmentExpression) || model.GetSymbolInfo(a.Left, ct).Symbol is not { } target ||
                target is not (IFieldSymbol { IsStatic: false } or IPropertySymbol { IsStatic: false }) ||
                !SymbolEqualityComparer.Default.Equals(target.ContainingType, model.GetDeclaredSymbol(type, ct)) || names.Contains(target.Name))
                continue;
            var value = a.Right;
            while (value is ParenthesizedExpressionSyntax p)
                value = p.Expression;
            if (value is ConditionalAccessExpressionSyntax ca)
                value = ca.WhenNotNull;
            if (value is InvocationExpressionSyntax && model.GetSymbolInfo(value, ct).Symbol is IMethodSymbol m && sdk is not null &&
                SymbolEqualityComparer.Default.Equals(m.ContainingAssembly, sdk) &&
                m.ReturnType.AllInterfaces.Any(i => i.SpecialType == SpecialType.System_IDisposable))
                names.Add(target.Name);
        }
        return names;
    }

    private static List<TextChange> Changes(SourceText text, SemanticModel model, TypeDeclarationSyntax type, IReadOnlyList<string> members, CancellationToken ct)
    {
        var changes = new List<TextChange>();
        var disposable = model is not null && model.LookupNamespacesAndTypes(type.SpanStart, name: "IDisposable")
            .Any(t => t is INamedTypeSymbol { ContainingNamespace.Name: "System", ContainingNamespace.ContainingNamespace.IsGlobalNamespace: true })
            ? "IDisposable"
            : "System.IDisposable";
        if (!model!.GetDeclaredSymbol(type, ct)!.AllInterfaces.Any(i => i.SpecialType == SpecialType.System_IDisposable))
        {
            if (type.BaseList is { } bases)
                changes.Add(new TextChange(new TextSpan(bases.Span.End, 0), ", " + disposable));
            else
            {
                var after = type.ParameterList?.Span.End ?? type.TypeParameterList?.Span.End ?? type.Identifier.Span.End;
                changes.Add(new TextChange(new TextSpan(after, 0), " : " + disposable));
            }
        }
        var call = string.Join(" ", members.Select(m => m + "?.Dispose();"));
        var indent = MemberIndent(type, text);
        var (existing, _) = ExistingDispose(type);
        if (existing?.Body is { } body)
        {
            var closeLine = text.Lines.GetLineFromPosition(body.CloseBraceToken.SpanStart);
            var bodyIndent = LeadingWhitespace(text, body.CloseBraceToken.SpanStart);
            if (body.Statements.Count > 0 && closeLine.Start + bodyIndent.Length == body.CloseBraceToken.SpanStart)
                changes.Add(new TextChange(new TextSpan(closeLine.Start, 0), bodyIndent + "    " + call + "\n"));
            else
                changes.Add(new TextChange(new TextSpan(body.CloseBraceToken.SpanStart, 0), call + " "));
        }
        else if (existing?.ExpressionBody is { } arrow)
        {
            var end = existing.SemicolonToken.Span.End;
            changes.Add(new TextChange(TextSpan.FromBounds(arrow.SpanStart, end), "{ " + arrow.Expression + "; " + call + " }"));
        }
        else
        {
            var closeLine = text.Lines.GetLineFromPosition(type.CloseBraceToken.SpanStart);
            var newBody = members.Count == 1 ? "=> " + call : "{ " + call + " }";
            var line = indent + "public void Dispose() " + newBody + "\n";
            changes.Add(closeLine.Start + LeadingWhitespace(text, type.CloseBraceToken.SpanStart).Length == type.CloseBraceToken.SpanStart
                ? new TextChange(new TextSpan(closeLine.Start, 0), line)
                : new TextChange(new TextSpan(type.CloseBraceToken.SpanStart, 0), "public void Dispose() " + newBody + " "));
        }
        return changes;
    }

    private static string MemberIndent(TypeDeclarationSyntax type, SourceText text) =>
        type.Members.Count > 0
            ? LeadingWhitespace(text, type.Members[0].GetFirstToken().SpanStart)
            : LeadingWhitespace(text, type.SpanStart) + "    ";

    private static string LeadingWhitespace(SourceText text, int position)
    {
        var line = text.Lines.GetLineFromPosition(position);
        var s = line.ToString();
        var n = 0;
        while (n < s.Length && (s[n] == ' ' || s[n] == '\t'))
            n++;
        return s.Substring(0, n);
    }
}
