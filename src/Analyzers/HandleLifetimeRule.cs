using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>
/// KVM1006: an SDK handle (KvmSystem, VmFd, VcpuFd, GmemFd, host mappings) returned by an SDK factory and then neither
/// disposed nor handed on in the same method. The created value is followed through ternaries, <c>?.</c>,
/// <c>??</c>, switch arms, declarations, later assignments (<c>vm = kvm.CreateVm()</c>), <c>is { } x</c> patterns and
/// discards (<c>_ = …</c>). Disposed = <c>using</c>, a <c>Dispose()</c>/<c>DisposeAsync()</c> call, or the
/// <c>Dispose</c> method group (<c>cleanup.Push(vm.Dispose)</c>). Handed on = returned; stored in a field or property of
/// a disposable type, a static member or another object; put in a tuple, array or collection; captured by a lambda;
/// passed to a parameter marked <c>[TakesOwnership]</c>, to a parameter of type <see cref="System.IDisposable"/>, to a
/// System.Collections method, or to a method of this compilation (whose contract the rule cannot see). Passing it to
/// any other library method (<c>Console.WriteLine(vm)</c>, <c>vm.Memslots.Add(0, ram)</c>) is not a hand-off.
/// A local reassigned before its first handle was disposed or handed on is reported at the first creation.
/// SlotHandle is not reported: its VmFd owns every registered memslot and deletes it on Dispose.
/// </summary>
public sealed class HandleLifetimeRule : KvmRule
{
    /// <summary>Diagnostic property: the local is overwritten before this handle was disposed or handed on; the
    /// diagnostic's additional location is the overwriting assignment (the fix disposes the old value before it).</summary>
    public const string OverwrittenKey = "Overwritten";

    /// <summary>Diagnostic property: the handle is stored in this member of the containing type, which is not
    /// disposable (the fix makes the type <c>IDisposable</c> and disposes the member).</summary>
    public const string StoredInKey = "StoredIn";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.UndisposedHandle);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        var sdk = s.VmFd.ContainingAssembly;
        var disposable = s.Compilation.GetSpecialType(SpecialType.System_IDisposable);
        // From the core library first (one assembly), every reference only where it is not there (netstandard2.0).
        var asyncDisposable = s.Compilation.ObjectType.ContainingAssembly.GetTypeByMetadataName("System.IAsyncDisposable")
            ?? s.Compilation.GetTypeByMetadataName("System.IAsyncDisposable");
        registry.OnInvocation(new[] { "Open", "CreateVm", "CreateVcpu", "Create", "Map", "AllocateHostMemory", "AllocateMemfd", "MapFile" }, (ctx, inv) =>
        {
            if (!SymbolEqualityComparer.Default.Equals(inv.TargetMethod.ContainingAssembly, sdk) ||
                !s.IsSdkHandle(inv.Type, out var resource))
                return;
            var ctxt = new Context(disposable, asyncDisposable);
            var finding = new Finding();
            if (!Leaks(inv, ctxt, finding))
                return;
            var props = ImmutableDictionary<string, string?>.Empty;
            var extra = new List<Location>();
            if (finding.Overwrite is { } w)
            {
                props = props.Add(OverwrittenKey, "true");
                extra.Add(w.Syntax.GetLocation());
            }
            if (finding.StoredIn is { } member)
                props = props.Add(StoredInKey, member.Name);
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedHandle, inv.Syntax.GetLocation(), extra, props, inv.Type!.Name, resource));
        });
    }

    private readonly struct Context
    {
        public Context(INamedTypeSymbol disposable, INamedTypeSymbol? asyncDisposable)
        {
            Disposable = disposable;
            AsyncDisposable = asyncDisposable;
        }

        public INamedTypeSymbol Disposable { get; }
        public INamedTypeSymbol? AsyncDisposable { get; }
    }

    /// <summary>What the code fixes need to know about a leak: the assignment that overwrote the local first, or the
    /// member of a non-disposable containing type the handle was stored in.</summary>
    private sealed class Finding
    {
        public IOperation? Overwrite;
        public ISymbol? StoredIn;
    }

    private static bool Leaks(IInvocationOperation created, Context c, Finding f)
    {
        // Climb to where the created value lands: through conversions, choices and null-conditional access.
        IOperation node = created;
        while (node.Parent is { } up)
        {
            if (up is IConversionOperation or IParenthesizedOperation ||
                up is IConditionalOperation cond && !ReferenceEquals(cond.Condition, node) ||
                up is IConditionalAccessOperation ca && ReferenceEquals(ca.WhenNotNull, node) ||
                up is ICoalesceOperation ||
                up is ISwitchExpressionArmOperation && ReferenceEquals(((ISwitchExpressionArmOperation)up).Value, node))
            {
                node = up;
                continue;
            }
            if (up is ISwitchExpressionOperation sw && !ReferenceEquals(sw.Value, node))
            {
                node = up;
                continue;
            }
            break;
        }
        var root = Ops.Root(created);
        switch (node.Parent)
        {
            case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation d }:
                return !IsUsingDeclaration(d) && !Handled(root, d.Symbol, d, c, f);
            case ISimpleAssignmentOperation a when ReferenceEquals(a.Value, node):
                return Ops.Unwrap(a.Target) switch
                {
                    IDiscardOperation => true,
                    ILocalReferenceOperation l => !Handled(root, l.Local, a, c, f),
                    IFieldReferenceOperation fr => !StoreHandsOn(fr.Field, fr.Instance, c) && Stored(f, fr.Field),
                    IPropertyReferenceOperation p => !StoreHandsOn(p.Property, p.Instance, c) && Stored(f, p.Property),
                    _ => false,
                };
            case IIsPatternOperation ip when ReferenceEquals(ip.Value, node):
                return ip.Pattern switch
                {
                    IDeclarationPatternOperation { DeclaredSymbol: ILocalSymbol l } => !Handled(root, l, ip, c, f),
                    IRecursivePatternOperation { DeclaredSymbol: ILocalSymbol l } => !Handled(root, l, ip, c, f),
                    _ => true,
                };
            case IExpressionStatementOperation:
                return true;
            case IInvocationOperation outer when outer.Instance is not null && ReferenceEquals(Ops.Unwrap(outer.Instance), node):
                return outer.TargetMethod.Name is not ("Dispose" or "DisposeAsync");
            case IPropertyReferenceOperation pr when pr.Instance is not null && ReferenceEquals(Ops.Unwrap(pr.Instance), node):
            case IFieldReferenceOperation fr when fr.Instance is not null && ReferenceEquals(Ops.Unwrap(fr.Instance), node):
                return true; // `KvmSystem.Open().CreateVm()`: the intermediate handle is dropped on the floor.
            case IArgumentOperation arg:
                return !ArgumentHandsOn(arg, c);
            default:
                return false;
        }
    }

    /// <summary>True when <paramref name="local"/>'s value written at <paramref name="definition"/> is disposed or
    /// handed on, and not overwritten first.</summary>
    private static bool Handled(IOperation root, ILocalSymbol local, IOperation definition, Context c, Finding f)
    {
        var at = definition.Syntax.SpanStart;
        var escapedAt = int.MaxValue;
        var overwrittenAt = int.MaxValue;
        IOperation? overwrite = null;
        ISymbol? storedIn = null;
        foreach (var op in LocalIndex.Of(root, local))
        {
            switch (op)
            {
                case ILocalReferenceOperation { IsDeclaration: false } r when SymbolEqualityComparer.Default.Equals(r.Local, local):
                    if (ValueFlow.Contains(definition, r))
                        break;
                    if (r.Parent is ISimpleAssignmentOperation w && ReferenceEquals(w.Target, r))
                    {
                        if (w.Syntax.SpanStart > at && w.Syntax.SpanStart < overwrittenAt && !ReferenceEquals(w, definition) &&
                            !Exclusive(definition, w))
                        {
                            overwrittenAt = w.Syntax.SpanStart;
                            overwrite = w;
                        }
                        break;
                    }
                    if (Escapes(r, c) && r.Syntax.SpanStart < escapedAt)
                        escapedAt = r.Syntax.SpanStart;
                    else
                        storedIn ??= NonOwningStore(r, c);
                    break;
            }
        }
        if (escapedAt != int.MaxValue && (overwrittenAt == int.MaxValue || escapedAt < overwrittenAt))
            return true;
        f.Overwrite = overwrite;
        f.StoredIn = overwrite is null ? storedIn : null;
        return false;
    }

    private static bool Stored(Finding f, ISymbol member)
    {
        f.StoredIn = member;
        return true;
    }

    /// <summary>The member of this object's non-disposable type that <paramref name="r"/> is stored in, or null.</summary>
    private static ISymbol? NonOwningStore(ILocalReferenceOperation r, Context c)
    {
        IOperation child = r;
        var p = r.Parent;
        while (p is IConversionOperation or IParenthesizedOperation)
        {
            child = p;
            p = p.Parent;
        }
        if (p is not ISimpleAssignmentOperation a || !ReferenceEquals(a.Value, child))
            return null;
        return Ops.Unwrap(a.Target) switch
        {
            IFieldReferenceOperation fr when !StoreHandsOn(fr.Field, fr.Instance, c) => fr.Field,
            IPropertyReferenceOperation pr when !StoreHandsOn(pr.Property, pr.Instance, c) => pr.Property,
            _ => null,
        };
    }

    /// <summary>True when <paramref name="a"/> and <paramref name="b"/> sit in different branches of one
    /// <c>if</c>/<c>?:</c> or in different switch sections: one cannot follow the other.</summary>
    private static bool Exclusive(IOperation a, IOperation b)
    {
        for (IOperation? child = a, p = a.Parent; p is not null; child = p, p = p.Parent)
        {
            if (!ValueFlow.Contains(p, b))
                continue;
            if (p is IConditionalOperation c && !ReferenceEquals(child, c.Condition))
                return !ValueFlow.Contains(child, b) && !ValueFlow.Contains(c.Condition, b);
            if (p is ISwitchOperation && child is ISwitchCaseOperation)
                return !ValueFlow.Contains(child, b);
            return false;
        }
        return false;
    }

    private static bool IsUsingDeclaration(IVariableDeclaratorOperation d)
    {
        for (IOperation? p = d.Parent; p is not null; p = p.Parent)
        {
            switch (p)
            {
                case IUsingDeclarationOperation:
                case IUsingOperation:
                    return true;
                case IVariableDeclarationOperation:
                case IVariableDeclarationGroupOperation:
                    continue;
                default:
                    return false;
            }
        }
        return false;
    }

    /// <summary>True when this use of the local disposes it or hands it on.</summary>
    private static bool Escapes(ILocalReferenceOperation r, Context c)
    {
        // Captured by a lambda or local function: its lifetime is no longer this method's.
        for (var q = r.Parent; q is not null; q = q.Parent)
            if (q is IAnonymousFunctionOperation or ILocalFunctionOperation)
            {
                if (!SymbolEqualityComparer.Default.Equals(r.Local.ContainingSymbol, Owner(q)))
                    return true;
                break;
            }
        IOperation child = r;
        var p = r.Parent;
        while (p is IConversionOperation or IParenthesizedOperation)
        {
            child = p;
            p = p.Parent;
        }
        switch (p)
        {
            case IInvocationOperation inv when ReferenceEquals(inv.Instance, child):
                return inv.TargetMethod.Name is "Dispose" or "DisposeAsync";
            case IMethodReferenceOperation mr when ReferenceEquals(mr.Instance, child):
                return mr.Method.Name is "Dispose" or "DisposeAsync"; // `cleanup.Push(vm.Dispose)`
            case IConditionalAccessOperation ca when ReferenceEquals(ca.Operation, child):
                return ca.WhenNotNull is IInvocationOperation { TargetMethod.Name: "Dispose" or "DisposeAsync" };
            case IArgumentOperation arg:
                return ArgumentHandsOn(arg, c);
            case IReturnOperation:
            case IUsingOperation:
            case IArrayInitializerOperation:
            case ITupleOperation:
            case ISpreadOperation:
            case ICollectionExpressionOperation:
            case IAnonymousObjectCreationOperation:
                return true;
            case ISimpleAssignmentOperation a when ReferenceEquals(a.Value, child):
                return Ops.Unwrap(a.Target) switch
                {
                    IDiscardOperation => false,
                    IFieldReferenceOperation f => StoreHandsOn(f.Field, f.Instance, c),
                    IPropertyReferenceOperation pr => StoreHandsOn(pr.Property, pr.Instance, c),
                    _ => true, // copied into another variable or an out/ref parameter
                };
            case IVariableInitializerOperation:
                return true; // copied into another variable: treat as handed on
            case ICoalesceOperation or IConditionalOperation or ISwitchExpressionArmOperation:
                return true; // flows into a larger expression we do not follow
            case IDeconstructionAssignmentOperation:
                return true;
        }
        return false;
    }

    /// <summary>A store into a member hands the handle on unless it is an instance member of this object whose type
    /// is not disposable (nothing would ever dispose it).</summary>
    private static bool StoreHandsOn(ISymbol member, IOperation? instance, Context c)
    {
        if (member.IsStatic)
            return true;
        if (instance is not null && instance is not IInstanceReferenceOperation)
            return true;
        return Implements(member.ContainingType, c);
    }

    private static bool ArgumentHandsOn(IArgumentOperation arg, Context c)
    {
        if (arg.Parameter is not { } p)
            return true;
        if (p.RefKind is RefKind.Out or RefKind.Ref)
            return true;
        foreach (var a in p.GetAttributes())
            if (a.AttributeClass?.Name == "TakesOwnershipAttribute")
                return true;
        var method = p.ContainingSymbol;
        if (!method.Locations.IsEmpty && method.Locations[0].IsInSource)
            return KeepsParameter(p); // this compilation's own method: does its body keep or pass on the parameter?
        if (p.OriginalDefinition.Type is ITypeParameterSymbol || p.Type.TypeKind == TypeKind.Interface)
        {
            if (SymbolEqualityComparer.Default.Equals(p.Type, c.Disposable) || SymbolEqualityComparer.Default.Equals(p.Type, c.AsyncDisposable))
                return true;
        }
        return InSystemNamespace(method.ContainingNamespace, "Collections") || InSystemNamespace(method.ContainingNamespace, "Reactive");
    }

    /// <summary>The namespace's display name starts with <c>System.</c><paramref name="prefix"/>, read from the symbols
    /// (this runs for every argument a handle is passed as; ToDisplayString allocated a string each time).</summary>
    private static bool InSystemNamespace(INamespaceSymbol? ns, string prefix)
    {
        INamespaceSymbol? second = null;
        for (; ns is { IsGlobalNamespace: false }; ns = ns.ContainingNamespace)
        {
            if (ns.ContainingNamespace is { IsGlobalNamespace: true })
                return ns.Name == "System" && second is not null && second.Name.StartsWith(prefix, System.StringComparison.Ordinal);
            second = ns;
        }
        return false;
    }

    /// <summary>Syntax only (another method's body has no operation tree here): the parameter is assigned to something,
    /// returned, passed on, captured in an initializer or disposed by the callee. An unmarked parameter the callee only
    /// reads is not a hand-off.</summary>
    private static bool KeepsParameter(IParameterSymbol p)
    {
        if (p.ContainingSymbol.DeclaringSyntaxReferences.IsEmpty)
            return true;
        foreach (var r in p.ContainingSymbol.DeclaringSyntaxReferences)
        {
            foreach (var id in r.GetSyntax().DescendantNodes())
            {
                if (id is not Microsoft.CodeAnalysis.CSharp.Syntax.IdentifierNameSyntax name || name.Identifier.ValueText != p.Name)
                    continue;
                var parent = name.Parent;
                while (parent is Microsoft.CodeAnalysis.CSharp.Syntax.PostfixUnaryExpressionSyntax or Microsoft.CodeAnalysis.CSharp.Syntax.ParenthesizedExpressionSyntax or
                       Microsoft.CodeAnalysis.CSharp.Syntax.CastExpressionSyntax or Microsoft.CodeAnalysis.CSharp.Syntax.BinaryExpressionSyntax { RawKind: (int)Microsoft.CodeAnalysis.CSharp.SyntaxKind.CoalesceExpression })
                    parent = parent.Parent;
                switch (parent)
                {
                    case Microsoft.CodeAnalysis.CSharp.Syntax.AssignmentExpressionSyntax a when a.Right.Span.Contains(name.Span):
                    case Microsoft.CodeAnalysis.CSharp.Syntax.ReturnStatementSyntax:
                    case Microsoft.CodeAnalysis.CSharp.Syntax.ArrowExpressionClauseSyntax:
                    case Microsoft.CodeAnalysis.CSharp.Syntax.ArgumentSyntax:
                    case Microsoft.CodeAnalysis.CSharp.Syntax.EqualsValueClauseSyntax:
                    case Microsoft.CodeAnalysis.CSharp.Syntax.UsingStatementSyntax:
                    case Microsoft.CodeAnalysis.CSharp.Syntax.InitializerExpressionSyntax:
                    case Microsoft.CodeAnalysis.CSharp.Syntax.MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Dispose" or "DisposeAsync" } m when m.Expression == name:
                        return true;
                }
            }
        }
        return false;
    }

    private static bool Implements(INamedTypeSymbol? type, Context c)
    {
        if (type is null)
            return false;
        foreach (var i in type.AllInterfaces)
            if (SymbolEqualityComparer.Default.Equals(i, c.Disposable) || SymbolEqualityComparer.Default.Equals(i, c.AsyncDisposable))
                return true;
        return false;
    }

    private static ISymbol? Owner(IOperation fn) => fn switch
    {
        IAnonymousFunctionOperation a => a.Symbol,
        ILocalFunctionOperation l => l.Symbol,
        _ => null,
    };
}
