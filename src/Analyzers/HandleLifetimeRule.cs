using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>
/// KVM1006: an SDK handle (KvmSystem, VmFd, VcpuFd, GmemFd, host mappings) returned by an SDK factory and then neither
/// disposed nor handed on in the same method. Handed on = returned, assigned to anything but a fresh local chain,
/// passed as an argument, put in a collection/array/tuple, captured by a lambda or local function. Any
/// <c>Dispose()</c> call or <c>using</c> counts as disposed (paths are not checked). SlotHandle is not reported: its
/// VmFd owns every registered memslot and deletes it on Dispose, so dropping the handle is the documented
/// "keep it until the VM goes" idiom.
/// </summary>
public sealed class HandleLifetimeRule : KvmRule
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.UndisposedHandle);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        var sdk = s.VmFd.ContainingAssembly;
        registry.OnInvocation(new[] { "Open", "CreateVm", "CreateVcpu", "Create", "Map", "AllocateHostMemory" }, (ctx, inv) =>
        {
            if (!SymbolEqualityComparer.Default.Equals(inv.TargetMethod.ContainingAssembly, sdk) ||
                !s.IsSdkHandle(inv.Type, out var resource))
                return;
            switch (Ops.ParentSkippingConversions(inv))
            {
                case IVariableInitializerOperation { Parent: IVariableDeclaratorOperation d }:
                    if (!IsUsingDeclaration(d) && !EscapesAnywhere(Ops.Root(inv), d.Symbol))
                        ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedHandle, inv.Syntax.GetLocation(), inv.Type!.Name, resource));
                    break;
                case IExpressionStatementOperation:
                    ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedHandle, inv.Syntax.GetLocation(), inv.Type!.Name, resource));
                    break;
                case IInvocationOperation outer when outer.Instance is not null && ReferenceEquals(Ops.Unwrap(outer.Instance), inv) && outer.TargetMethod.Name != "Dispose":
                case IPropertyReferenceOperation pr when pr.Instance is not null && ReferenceEquals(Ops.Unwrap(pr.Instance), inv):
                case IFieldReferenceOperation fr when fr.Instance is not null && ReferenceEquals(Ops.Unwrap(fr.Instance), inv):
                    // `KvmSystem.Open().CreateVm()`: the intermediate handle is dropped on the floor.
                    ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.UndisposedHandle, inv.Syntax.GetLocation(), inv.Type!.Name, resource));
                    break;
            }
        });
    }

    private static bool EscapesAnywhere(IOperation root, ILocalSymbol local)
    {
        foreach (var op in root.Descendants())
            if (op is ILocalReferenceOperation { IsDeclaration: false } r && SymbolEqualityComparer.Default.Equals(r.Local, local) && Escapes(r))
                return true;
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
    private static bool Escapes(ILocalReferenceOperation r)
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
            case IConditionalAccessOperation ca when ReferenceEquals(ca.Operation, child):
                return ca.WhenNotNull is IInvocationOperation { TargetMethod.Name: "Dispose" or "DisposeAsync" };
            case IArgumentOperation:
            case IReturnOperation:
            case IUsingOperation:
            case IArrayInitializerOperation:
            case ITupleOperation:
            case ICollectionExpressionOperation:
            case ISpreadOperation:
            case IAnonymousObjectCreationOperation:
            case IInterpolationOperation:
                return p is not IInterpolationOperation;
            case ISimpleAssignmentOperation a when ReferenceEquals(a.Value, child):
                return true;
            case IVariableInitializerOperation:
                return true; // copied into another variable: treat as handed on
            case ICoalesceOperation or IConditionalOperation or ISwitchExpressionArmOperation:
                return true; // flows into a larger expression we do not follow
            case IDeconstructionAssignmentOperation:
                return true;
        }
        return false;
    }

    private static ISymbol? Owner(IOperation fn) => fn switch
    {
        IAnonymousFunctionOperation a => a.Symbol,
        ILocalFunctionOperation l => l.Symbol,
        _ => null,
    };
}
