using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>KVM1015: raw uAPI structs filled in a way the kernel refuses or ignores: a non-zero
/// <c>kvm_memory_attributes.flags</c>; <c>guest_memfd</c> / <c>guest_memfd_offset</c> of
/// <c>kvm_userspace_memory_region2</c> set (non-zero) on a struct whose flags never include KVM_MEM_GUEST_MEMFD (its
/// object initializer and every <c>local.flags = …</c> and <c>local.flags |= …</c> in the method are looked at).</summary>
public sealed class RawStructRule : KvmRule
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.RawStructMisuse);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        if (s.MemoryAttributesStruct is not null)
            registry.OnFieldAssignment(new[] { "flags" }, (ctx, assign, f) =>
            {
                if (KvmSymbols.Is(f.Field.ContainingType, s.MemoryAttributesStruct) && ValueFlow.WhenAll(assign.Value, v => v != 0) is { } bad)
                    Report(ctx, assign.Value, $"kvm_memory_attributes.flags is 0x{bad:X}: no flag is defined and KVM_SET_MEMORY_ATTRIBUTES answers EINVAL for any non-zero value");
            });
        if (s.Region2Struct is not null)
            registry.OnFieldAssignment(new[] { "guest_memfd", "guest_memfd_offset" }, (ctx, assign, f) =>
            {
                if (!KvmSymbols.Is(f.Field.ContainingType, s.Region2Struct) || ValueFlow.WhenAll(assign.Value, v => v == 0) is not null)
                    return;
                if (FlagsOf(assign, f) is not { Count: > 0 } flags)
                    return;
                foreach (var v in flags)
                    if ((v & s.MemGuestMemfd) != 0)
                        return;
                Report(ctx, assign.Value, $"kvm_userspace_memory_region2.{f.Field.Name} is set but flags never include KVM_MEM_GUEST_MEMFD: the kernel ignores the guest_memfd and maps only userspace_addr");
            });
    }

    /// <summary>Every flags value the same struct gets in this method, or null when one is unknown.</summary>
    private static HashSet<ulong>? FlagsOf(ISimpleAssignmentOperation assign, IFieldReferenceOperation f)
    {
        var all = new HashSet<ulong>();
        IObjectOrCollectionInitializerOperation? init = null;
        ILocalSymbol? local = null;
        if (f.Instance is IInstanceReferenceOperation && assign.Parent is IObjectOrCollectionInitializerOperation oi)
        {
            init = oi;
            if (oi.Parent is IObjectCreationOperation creation &&
                Ops.ParentSkippingConversions(creation) is IVariableInitializerOperation { Parent: IVariableDeclaratorOperation d })
                local = d.Symbol;
        }
        else if (f.Instance is ILocalReferenceOperation l)
        {
            local = l.Local;
        }
        else
        {
            return null;
        }
        var root = Ops.Root(assign);
        if (local is not null)
        {
            foreach (var op in Ops.All(root))
            {
                if (op is IVariableDeclaratorOperation d && SymbolEqualityComparer.Default.Equals(d.Symbol, local))
                {
                    var v = d.GetVariableInitializer()?.Value is { } iv ? Ops.Unwrap(iv) : null;
                    if (v is IObjectCreationOperation { Initializer: { } i })
                        init = i;
                    else if (v is not null && v is not IDefaultValueOperation)
                        return null;
                }
                else if (op is ISimpleAssignmentOperation { Target: IFieldReferenceOperation { Field.Name: "flags", Instance: ILocalReferenceOperation t } } fa &&
                         SymbolEqualityComparer.Default.Equals(t.Local, local))
                {
                    if (ValueFlow.Constants(fa.Value) is not { } values)
                        return null;
                    all.UnionWith(values);
                }
                else if (op is ICompoundAssignmentOperation { Target: IFieldReferenceOperation { Field.Name: "flags", Instance: ILocalReferenceOperation ct } } ca &&
                         SymbolEqualityComparer.Default.Equals(ct.Local, local))
                {
                    // `r.flags |= X`: the flags then hold X's bits (whatever they held before, which is also listed);
                    // any other compound (&=, ^=) can clear a bit, so the answer is unknown.
                    if (ca.OperatorKind != BinaryOperatorKind.Or || ValueFlow.Constants(ca.Value) is not { } values)
                        return null;
                    all.UnionWith(values);
                }
                else if (op is ILocalReferenceOperation r && SymbolEqualityComparer.Default.Equals(r.Local, local) &&
                         r.Parent is IArgumentOperation { Parameter.RefKind: RefKind.Ref or RefKind.Out })
                {
                    return null;
                }
            }
        }
        var sawFlags = false;
        if (init is not null)
            foreach (var i in init.Initializers)
                if (i is ISimpleAssignmentOperation { Target: IFieldReferenceOperation { Field.Name: "flags" } } fi)
                {
                    if (ValueFlow.Constants(fi.Value) is not { } values)
                        return null;
                    all.UnionWith(values);
                    sawFlags = true;
                }
        if (!sawFlags && all.Count == 0)
            all.Add(0);
        return all;
    }

    private static void Report(OperationAnalysisContext ctx, IOperation at, string message) =>
        ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.RawStructMisuse, at.Syntax.GetLocation(), message));
}
