using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>
/// What a guest_memfd's creation flags mean for the VM and the host:
/// KVM1012, <c>GUEST_MEMFD_FLAG_INIT_SHARED</c> on a guest_memfd of a VM created (in this method) as SW_PROTECTED, SNP
/// or TDX while the project does not target in-place conversion;
/// KVM1014, <c>Write</c>/<c>Lease</c> through the mapping of a guest_memfd created with MMAP but without INIT_SHARED
/// (its pages start private) in a method that converts nothing to shared.
/// </summary>
public sealed class GuestMemfdStateRule : KvmRule
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.InitSharedOnPrivateVm, Descriptors.HostWriteToPrivate);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        if (s.GuestMemfdFeature is null || s.GmemFd is null)
            return;
        registry.OnInvocation(new[] { "Create", "TryCreate" }, (ctx, inv) =>
        {
            // Cheapest test first: the name's type, then the project's ABI (one options lookup), then the value flow.
            if (!KvmSymbols.Is(inv.TargetMethod.ContainingType, s.GuestMemfdFeature) ||
                TargetAbi.InPlaceConversionReason(ctx.Options, inv.Syntax.SyntaxTree) is not null ||
                Ops.Argument(inv, "flags") is not { } flags || !Ops.IsExplicit(flags) ||
                ValueFlow.WhenAll(flags.Value, v => (v & s.GmemFlagInitShared) != 0) is null ||
                VmFacts.OwnersOf(Ops.Receiver(inv), s.VmGuestMemfd) is not { Count: > 0 } owners)
                return;
            string? typeName = null;
            foreach (var vm in owners)
            {
                var (cls, name) = VmFacts.TypeOf(s, vm);
                if (cls != VmFacts.TypeClass.Private)
                    return;
                typeName ??= name;
            }
            if (GuardedBySupportedFlags(inv, s.GuestMemfdFeature!))
                return;
            var vmName = Ops.ReferencedSymbol(owners[0])?.Name ?? owners[0].Syntax.ToString();
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.InitSharedOnPrivateVm, inv.Syntax.GetLocation(), vmName, typeName));
        });
        registry.OnInvocation(new[] { "Write", "Lease" }, (ctx, inv) =>
        {
            // A receiver whose static type a GmemMapping cannot have (HostMemory, a memfd mapping) is not followed.
            if (!IsHostMapping(s, inv.TargetMethod.ContainingType) || Ops.Receiver(inv) is not { } mapping ||
                !CanBeGmemMapping(s, Ops.Unwrap(mapping).Type) ||
                VmFacts.Created(mapping, s.GmemFd, "Map") is not { Count: > 0 } maps)
                return;
            foreach (var map in maps)
            {
                if (VmFacts.GmemFlags(s, Ops.Receiver(map)) is not { Count: > 0 } all)
                    return;
                foreach (var f in all)
                    if ((f & s.GmemFlagMmap) == 0 || (f & s.GmemFlagInitShared) != 0)
                        return;
            }
            if (ConvertsToShared(Ops.Root(inv)))
                return;
            var name = Ops.ReferencedSymbol(mapping)?.Name ?? mapping.Syntax.ToString();
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.HostWriteToPrivate, inv.Syntax.GetLocation(), name, inv.TargetMethod.Name + "()"));
        });
    }

    /// <summary>
    /// True when the kernel's answer was asked first: the call is in a branch of an <c>if</c> or <c>?:</c> whose
    /// condition reads <c>GuestMemfdFeature.SupportedFlags</c>, or follows (in an enclosing block) an <c>if</c> on it
    /// that returns or throws. On a kernel without in-place conversion that branch does not run, so the call is the
    /// portable code the SDK recommends, not a refused one. Walks only the call's ancestors and their earlier
    /// statements, and only when the rule was about to report.
    /// </summary>
    private static bool GuardedBySupportedFlags(IOperation call, INamedTypeSymbol feature)
    {
        for (IOperation? child = call, p = call.Parent; p is not null; child = p, p = p.Parent)
        {
            if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return false;
            if (p is IConditionalOperation c && !ReferenceEquals(child, c.Condition) && ReadsSupportedFlags(c.Condition, feature))
                return true;
            if (p is IBlockOperation block)
                foreach (var statement in block.Operations)
                {
                    if (ReferenceEquals(statement, child))
                        break;
                    if (statement is IConditionalOperation { WhenFalse: null } early && Exits(early.WhenTrue) &&
                        ReadsSupportedFlags(early.Condition, feature))
                        return true;
                }
        }
        return false;
    }

    private static bool Exits(IOperation op) =>
        op is IReturnOperation or IThrowOperation or IExpressionStatementOperation { Operation: IThrowOperation } ||
        op is IBlockOperation { Operations: { Length: > 0 } ops } && Exits(ops[ops.Length - 1]);

    private static bool ReadsSupportedFlags(IOperation condition, INamedTypeSymbol feature)
    {
        foreach (var op in condition.DescendantsAndSelf())
            if (op is IPropertyReferenceOperation { Property.Name: "SupportedFlags" } pr && KvmSymbols.Is(pr.Property.ContainingType, feature))
                return true;
        return false;
    }

    private static bool IsHostMapping(KvmSymbols s, INamedTypeSymbol? t)
    {
        for (; t is not null; t = t.BaseType)
            if (KvmSymbols.Is(t, s.HostMapping))
                return true;
        return false;
    }

    /// <summary>False when a value of static type <paramref name="t"/> cannot be a <c>GmemMapping</c>.</summary>
    private static bool CanBeGmemMapping(KvmSymbols s, ITypeSymbol? t)
    {
        if (t is null || s.GmemMapping is null || t.TypeKind is TypeKind.Interface or TypeKind.TypeParameter or TypeKind.Error)
            return true;
        for (INamedTypeSymbol? b = s.GmemMapping; b is not null; b = b.BaseType)
            if (KvmSymbols.Is(t, b))
                return true;
        return false;
    }

    /// <summary>Any conversion or attribute change in the method: which pages are shared is then not known here.</summary>
    private static bool ConvertsToShared(IOperation root)
    {
        foreach (var op in Ops.All(root))
            if (op is IInvocationOperation { TargetMethod.Name: "ToShared" or "TryToShared" or "Set" or "TrySet" or "RunServicingMemoryFaults" })
                return true;
        return false;
    }
}
