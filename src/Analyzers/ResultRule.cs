using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>KVM1010: the <c>KvmResult</c> of an SDK <c>Try*</c> member, or the return value of a raw
/// <c>Sys.Ioctl</c>, dropped (an expression statement or <c>_ = …</c>). The trigger names are the SDK's members that
/// return KvmResult, collected once per compilation.</summary>
public sealed class ResultRule : KvmRule
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.UnobservedResult);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        if (s.KvmResult is null)
            return;
        var names = new HashSet<string> { "Ioctl" };
        foreach (var t in s.VmFd.ContainingNamespace.GetTypeMembers())
            foreach (var m in t.GetMembers())
                if (m is IMethodSymbol { DeclaredAccessibility: Accessibility.Public } method &&
                    SymbolEqualityComparer.Default.Equals(method.ReturnType, s.KvmResult))
                    names.Add(method.Name);
        registry.OnInvocation(names, (ctx, inv) =>
        {
            var m = inv.TargetMethod;
            string what, refusal;
            if (SymbolEqualityComparer.Default.Equals(m.ReturnType, s.KvmResult))
            {
                what = $"{m.ContainingType.Name}.{m.Name}";
                refusal = "a KvmResult that is not IsSuccess";
            }
            else if (m.Name == "Ioctl" && KvmSymbols.Is(m.ContainingType, s.Sys))
            {
                what = "Sys.Ioctl" + (Ops.Argument(inv, 1) is { } req ? "(" + RequestName(req.Value) + ")" : "");
                refusal = "-1 with errno";
            }
            else
            {
                return;
            }
            IOperation node = inv;
            var p = Ops.ParentSkippingConversions(inv);
            if (p is IConditionalAccessOperation ca && ReferenceEquals(ca.WhenNotNull, inv))
            {
                node = ca; // `feature?.TrySet(…);`
                p = Ops.ParentSkippingConversions(ca);
            }
            if (p is IExpressionStatementOperation ||
                p is ISimpleAssignmentOperation { Target: IDiscardOperation } a && ReferenceEquals(Ops.Unwrap(a.Value), node))
                ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.UnobservedResult, inv.Syntax.GetLocation(), what, refusal));
        });
    }

    private static string RequestName(IOperation request)
    {
        var v = Ops.Unwrap(request);
        if (v is IPropertyReferenceOperation { Property.Name: "Value", Instance: { } i })
            v = Ops.Unwrap(i);
        return v is IFieldReferenceOperation f ? f.Field.Name : "request";
    }
}
