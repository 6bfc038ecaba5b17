using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>KVM1011: a capability whose answer is per VM type (guest_memfd, its flags, memory attributes) asked
/// through <c>KvmSystem.Capabilities</c>, i.e. KVM_CHECK_EXTENSION on /dev/kvm. The receiver is followed through
/// locals; the capability through locals, fields and casts.</summary>
public sealed class CapabilityScopeRule : KvmRule
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.SystemScopeCapability);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        if (s.KvmCapabilities is null || s.KvmSystem is null)
            return;
        var perVm = new Dictionary<ulong, string>();
        foreach (var name in new[] { "KVM_CAP_GUEST_MEMFD", "KVM_CAP_GUEST_MEMFD_FLAGS", "KVM_CAP_MEMORY_ATTRIBUTES", "KVM_CAP_MEMORY_ATTRIBUTES2" })
            if (s.Cap(name) is { } v)
                perVm[v] = name;
        if (perVm.Count == 0)
            return;
        registry.OnInvocation(new[] { "Check", "Has", "CheckMask", "CheckRaw", "TryCheckRaw" }, (ctx, inv) =>
        {
            if (!KvmSymbols.Is(inv.TargetMethod.ContainingType, s.KvmCapabilities) || inv.Arguments.Length == 0 ||
                Ops.Argument(inv, 0) is not { } cap || ValueFlow.WhenAll(cap.Value, perVm.ContainsKey) is not { } asked ||
                ValueFlow.Sources(Ops.Receiver(inv)) is not { Count: > 0 } receivers)
                return;
            foreach (var r in receivers)
                if (r is not IPropertyReferenceOperation { Property.Name: "Capabilities" } p || !KvmSymbols.Is(p.Property.ContainingType, s.KvmSystem))
                    return;
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.SystemScopeCapability, inv.Syntax.GetLocation(), perVm[asked]));
        });
    }
}
