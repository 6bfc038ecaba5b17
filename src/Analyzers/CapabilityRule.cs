using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>KVM2001: a capability-gated ioctl issued through the raw typed escape hatch (<c>Sys.Ioctl</c> with a
/// <c>KvmIoctls</c> request) in a method that neither checks the capability (raw <c>KVM_CHECK_EXTENSION</c> or
/// <c>KvmCapabilities.Check/Has/CheckMask/CheckRaw</c>) nor holds the SDK's proof object (<c>vm.GuestMemfd</c>,
/// <c>vm.MemoryAttributes</c>). Triggered by the gated call; only then is that method's tree searched.</summary>
public sealed class CapabilityRule : KvmRule
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.UncheckedCapability);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        if (s.Sys is null || s.GatedIoctls.Count == 0)
            return;
        registry.OnInvocation(new[] { "Ioctl" }, (ctx, inv) =>
        {
            if (!IsSysIoctl(s, inv) || Ops.Argument(inv, 1) is not { } request || RequestField(request) is not { } field ||
                !s.GatedIoctls.TryGetValue(field, out var g))
                return;
            if (!IsChecked(s, ctx.ContainingSymbol, Ops.Root(inv), inv, g.Number, field.Name))
                ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.UncheckedCapability, request.Value.Syntax.GetLocation(), field.Name, g.Cap, g.Errno));
        });
    }

    private static bool IsSysIoctl(KvmSymbols s, IInvocationOperation inv) =>
        inv.TargetMethod.Name == "Ioctl" && inv.Arguments.Length >= 2 && KvmSymbols.Is(inv.TargetMethod.ContainingType, s.Sys);

    private static bool IsChecked(KvmSymbols s, ISymbol containing, IOperation root, IOperation gated, long cap, string ioctl)
    {
        // The proof object as a parameter: the caller got it from a VM whose kernel said yes.
        if (containing is IMethodSymbol method)
            foreach (var p in method.Parameters)
                if (ioctl == "KVM_CREATE_GUEST_MEMFD" && KvmSymbols.Is(p.Type, s.GuestMemfdFeature) ||
                    ioctl == "KVM_SET_MEMORY_ATTRIBUTES" && KvmSymbols.Is(p.Type, s.MemoryAttributesFeature))
                    return true;
        foreach (var op in Ops.All(root))
        {
            switch (op)
            {
                case IInvocationOperation inv when IsSysIoctl(s, inv):
                    if (Ops.Argument(inv, 1) is { } req && SymbolEqualityComparer.Default.Equals(RequestField(req), s.CheckExtension) &&
                        Ops.Argument(inv, 2) is { } arg && ValueFlow.WhenAll(arg.Value, v => (long)v == cap) is not null && Observed(inv) && !InLambdaWithout(inv, gated))
                        return true;
                    break;
                case IInvocationOperation inv when inv.Arguments.Length == 1 && KvmSymbols.Is(inv.TargetMethod.ContainingType, s.KvmCapabilities):
                    if (ValueFlow.WhenAll(inv.Arguments[0].Value, v => (long)v == cap) is not null && Observed(inv) && !InLambdaWithout(inv, gated))
                        return true;
                    break;
                case IPropertyReferenceOperation pr:
                    if ((ioctl == "KVM_CREATE_GUEST_MEMFD" && SymbolEqualityComparer.Default.Equals(pr.Property, s.VmGuestMemfd) ||
                         ioctl == "KVM_SET_MEMORY_ATTRIBUTES" && SymbolEqualityComparer.Default.Equals(pr.Property, s.VmMemoryAttributes)) &&
                        !InLambdaWithout(pr, gated))
                        return true;
                    break;
            }
        }
        return false;
    }

    /// <summary>True when <paramref name="op"/> is inside a lambda that does not also hold <paramref name="gated"/>: a
    /// lambda's check runs when (and if) the lambda is called, not before this ioctl.
    /// Local functions still count: they are this method's own helpers, usually called before the ioctl.</summary>
    private static bool InLambdaWithout(IOperation op, IOperation gated)
    {
        for (var p = op.Parent; p is not null; p = p.Parent)
            if (p is IAnonymousFunctionOperation && !ValueFlow.Contains(p, gated))
                return true;
        return false;
    }

    /// <summary>The check's answer is used (not a statement of its own, not discarded).</summary>
    private static bool Observed(IInvocationOperation check) =>
        Ops.ParentSkippingConversions(check) is not (IExpressionStatementOperation or ISimpleAssignmentOperation { Target: IDiscardOperation });

    /// <summary><c>KvmIoctls.X</c> or <c>KvmIoctls.X.Value</c>.</summary>
    private static IFieldSymbol? RequestField(IArgumentOperation request)
    {
        var v = Ops.Unwrap(request.Value);
        if (v is IPropertyReferenceOperation { Property.Name: "Value", Instance: { } instance })
            v = Ops.Unwrap(instance);
        return v is IFieldReferenceOperation { Field.IsStatic: true } f ? f.Field : null;
    }
}
