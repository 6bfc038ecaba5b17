using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>
/// KVM1001: KVM_MEMORY_ATTRIBUTE_PRIVATE set through the VM (<c>MemoryAttributesFeature.Set/TrySet</c> or raw
/// <c>Sys.Ioctl(..., KvmIoctls.KVM_SET_MEMORY_ATTRIBUTES, ...)</c>) while in-place guest_memfd conversion is known to
/// be enabled: from the target ABI (analyzer config) or from the method itself (the VM's
/// <c>InPlaceConversionV8</c> feature obtained, or checked non-null around the call).
/// KVM1002: memory attributes set on a VM created in the same method with a constant type that has no private memory.
/// </summary>
public sealed class MemoryAttributesRule : KvmRule
{
    /// <summary>Set on KVM1001 when the code fix can rewrite the call: the receiver is <c>vm.MemoryAttributes</c> and a
    /// guest_memfd memslot of that VM is added in the same method.</summary>
    public const string FixableKey = "GmemSlotInScope";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.PrivateThroughVm, Descriptors.NoPrivateMemory);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        if (s.MemoryAttributesFeature is null)
            return;
        // Triggers: MemoryAttributesFeature.Set/TrySet with constant non-zero attributes, and raw
        // Sys.Ioctl(KVM_SET_MEMORY_ATTRIBUTES). Only then is the containing method searched for the other facts.
        registry.OnInvocation(new[] { "Set", "TrySet" }, (ctx, inv) =>
        {
            if (KvmSymbols.Is(inv.TargetMethod.ContainingType, s.MemoryAttributesFeature))
                AnalyzeSdkCall(ctx, s, inv);
        });
        if (s.SetMemoryAttributesIoctl is not null)
            registry.OnInvocation(new[] { "Ioctl" }, (ctx, inv) =>
            {
                if (KvmSymbols.Is(inv.TargetMethod.ContainingType, s.Sys))
                    AnalyzeRawCall(ctx, s, inv);
            });
    }

    private static void AnalyzeSdkCall(OperationAnalysisContext ctx, KvmSymbols s, IInvocationOperation inv)
    {
        if (Ops.Argument(inv, "attributes") is not { } a || ValueFlow.Constants(a.Value) is not { } values)
            return;
        ulong attrs = 0;
        foreach (var v in values)
            attrs |= v;
        if (attrs == 0)
            return;
        // The VM: `vm.MemoryAttributes`, `machine.Vm.MemoryAttributes`, or a local holding either.
        var receiver = Ops.Receiver(inv);
        if (VmFacts.OwnersOf(receiver, s.VmMemoryAttributes) is not { Count: 1 } owners)
            return;
        var vmExpr = owners[0];
        var direct = receiver is not null && Ops.Unwrap(receiver) is IPropertyReferenceOperation;
        var vm = Ops.ReferencedSymbol(vmExpr);
        var vmName = vm?.Name ?? vmExpr.Syntax.ToString();
        var root = Ops.Root(inv);
        var call = $"{inv.TargetMethod.ContainingType.Name}.{inv.TargetMethod.Name}";

        var (cls, typeName) = VmFacts.TypeOf(s, vmExpr);
        if (cls == VmFacts.TypeClass.NoPrivate)
        {
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.NoPrivateMemory, inv.Syntax.GetLocation(), vmName, typeName,
                (attrs & s.AttributePrivate) != 0 ? "KVM_MEMORY_ATTRIBUTE_PRIVATE" : $"attributes 0x{attrs:X}"));
            return;
        }
        if ((attrs & s.AttributePrivate) == 0)
            return;
        var why = TargetAbi.InPlaceConversionReason(ctx.Options, inv.Syntax.SyntaxTree) ??
                  (vm is null ? null : EvidenceReason(s, root, vm, inv));
        if (why is null)
            return;
        var props = ImmutableDictionary<string, string?>.Empty;
        if (direct && vm is not null && Constants.Of(a.Value) == s.AttributePrivate && s.InPlaceConversionV8 is not null && HasGmemSlot(s, root, vm))
            props = props.Add(FixableKey, "true");
        ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.PrivateThroughVm, inv.Syntax.GetLocation(), props, call, why));
    }

    private static void AnalyzeRawCall(OperationAnalysisContext ctx, KvmSymbols s, IInvocationOperation inv)
    {
        IArgumentOperation? req = null, arg = null;
        foreach (var x in inv.Arguments)
        {
            if (x.Parameter?.Ordinal == 1) req = x;
            if (x.Parameter?.Ordinal == 2) arg = x;
        }
        if (req is null || arg is null || Ops.Unwrap(req.Value) is not IFieldReferenceOperation f ||
            !SymbolEqualityComparer.Default.Equals(f.Field, s.SetMemoryAttributesIoctl))
            return;
        var reason = TargetAbi.InPlaceConversionReason(ctx.Options, inv.Syntax.SyntaxTree);
        if (reason is null)
            return;
        ulong attrs = 0;
        var v = Ops.Unwrap(arg.Value);
        if (v is IObjectCreationOperation { Initializer: { } init })
        {
            attrs = AttributesIn(init) ?? 0;
        }
        else if (v is ILocalReferenceOperation l)
        {
            var root = Ops.Root(inv);
            foreach (var op in Ops.All(root))
            {
                if (op is IVariableDeclaratorOperation d && SymbolEqualityComparer.Default.Equals(d.Symbol, l.Local) &&
                    d.GetVariableInitializer()?.Value is { } iv && Ops.Unwrap(iv) is IObjectCreationOperation { Initializer: { } oi })
                    attrs |= AttributesIn(oi) ?? 0;
                else if (op is ISimpleAssignmentOperation { Target: IFieldReferenceOperation { Field.Name: "attributes", Instance: ILocalReferenceOperation target } } asg &&
                         SymbolEqualityComparer.Default.Equals(target.Local, l.Local))
                    attrs |= Constants.Of(asg.Value) ?? 0;
            }
        }
        if ((attrs & s.AttributePrivate) != 0)
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.PrivateThroughVm, inv.Syntax.GetLocation(), "Sys.Ioctl(KVM_SET_MEMORY_ATTRIBUTES)", reason));
    }

    /// <summary>The VM whose <c>MemoryAttributes</c> a local holds (<c>var a = vm.MemoryAttributes</c>,
    /// <c>vm.MemoryAttributes is { } a</c>).</summary>
    private static ISymbol? FeatureOwner(KvmSymbols s, IOperation root, ILocalSymbol local)
    {
        foreach (var op in Ops.All(root))
        {
            IOperation? source = null;
            if (op is IVariableDeclaratorOperation d && SymbolEqualityComparer.Default.Equals(d.Symbol, local))
                source = d.GetVariableInitializer()?.Value;
            else if (op is IDeclarationPatternOperation dp && SymbolEqualityComparer.Default.Equals(dp.DeclaredSymbol, local) && dp.Parent is IIsPatternOperation i1)
                source = i1.Value;
            else if (op is IRecursivePatternOperation rp && SymbolEqualityComparer.Default.Equals(rp.DeclaredSymbol, local) && rp.Parent is IIsPatternOperation i2)
                source = i2.Value;
            if (source is not null)
                return Ops.Unwrap(source) is IPropertyReferenceOperation pr && SymbolEqualityComparer.Default.Equals(pr.Property, s.VmMemoryAttributes)
                    ? Ops.ReferencedSymbol(pr.Instance)
                    : null;
        }
        return null;
    }

    private static string? NoPrivateMemoryTypeOf(KvmSymbols s, IOperation root, ILocalSymbol vm)
    {
        foreach (var op in Ops.All(root))
            if (op is IVariableDeclaratorOperation d && SymbolEqualityComparer.Default.Equals(d.Symbol, vm))
                return d.GetVariableInitializer()?.Value is { } v && Ops.Unwrap(v) is IInvocationOperation inv &&
                       inv.TargetMethod.Name == "CreateVm" && KvmSymbols.Is(inv.TargetMethod.ContainingType, s.KvmSystem)
                    ? NoPrivateMemoryType(s, inv)
                    : null;
        return null;
    }

    private static bool HasGmemSlot(KvmSymbols s, IOperation root, ISymbol vm)
    {
        foreach (var op in Ops.All(root))
        {
            if (op is IInvocationOperation { TargetMethod.Name: "Add" } inv && KvmSymbols.Is(inv.TargetMethod.ContainingType, s.MemslotTable) &&
                Ops.Receiver(inv) is { } r && Ops.Unwrap(r) is IPropertyReferenceOperation slots &&
                SymbolEqualityComparer.Default.Equals(slots.Property, s.VmMemslots) &&
                SymbolEqualityComparer.Default.Equals(Ops.ReferencedSymbol(slots.Instance), vm))
            {
                foreach (var p in inv.TargetMethod.Parameters)
                    if (KvmSymbols.Is(p.Type, s.GmemFd) || KvmSymbols.Is(p.Type, s.GmemMapping))
                        return true;
            }
        }
        return false;
    }

    private static ulong? AttributesIn(IObjectOrCollectionInitializerOperation init)
    {
        foreach (var i in init.Initializers)
            if (i is ISimpleAssignmentOperation { Target: IFieldReferenceOperation { Field.Name: "attributes" } } a)
                return Constants.Of(a.Value);
        return null;
    }

    /// <summary>A readable name when <paramref name="createVm"/>'s type argument is a constant without private
    /// memory (x86 default, SEV, SEV-ES, any arm64 type), else null.</summary>
    private static string? NoPrivateMemoryType(KvmSymbols s, IInvocationOperation createVm)
    {
        var arg = Ops.Argument(createVm, "type");
        if (arg is null || !Ops.IsExplicit(arg))
            return "the default VM type (KVM_X86_DEFAULT_VM / arm64 default)";
        var v = Ops.Unwrap(arg.Value);
        switch (v)
        {
            case IDefaultValueOperation:
                return "the default VM type (KVM_X86_DEFAULT_VM / arm64 default)";
            case IPropertyReferenceOperation { Instance: null } p when KvmSymbols.Is(p.Property.ContainingType, s.VmType):
                return p.Property.Name switch
                {
                    "Default" => "VmType.Default (no private memory on either architecture)",
                    "X86Default" => "VmType.X86Default (KVM_X86_DEFAULT_VM)",
                    "X86Sev" => "VmType.X86Sev (KVM_X86_SEV_VM)",
                    "X86SevEs" => "VmType.X86SevEs (KVM_X86_SEV_ES_VM)",
                    "Arm64Default" => "VmType.Arm64Default (arm64)",
                    _ => null,
                };
            case IInvocationOperation { Instance: null } i when KvmSymbols.Is(i.TargetMethod.ContainingType, s.VmType):
                if (i.TargetMethod.Name == "Arm64")
                    return "an arm64 VM type";
                if (i.TargetMethod.Name == "X86" && i.Arguments.Length == 1 && Constants.Of(i.Arguments[0].Value) is { } x86 &&
                    x86 is 0 or 2 or 3)
                    return x86 switch { 0 => "KVM_X86_DEFAULT_VM", 2 => "KVM_X86_SEV_VM", _ => "KVM_X86_SEV_ES_VM" };
                return null;
            default:
                return null;
        }
    }

    /// <summary>Why the method itself shows in-place conversion is on for <paramref name="vm"/> at
    /// <paramref name="site"/>, or null (no evidence, or the call is the fallback branch of a check).</summary>
    private static string? EvidenceReason(KvmSymbols s, IOperation root, ISymbol vm, IOperation site)
    {
        if (s.InPlaceConversionV8 is null)
            return null;
        var evidence = new List<(ISymbol Vm, IOperation Reference)>();
        foreach (var op in Ops.All(root))
            if (op is IPropertyReferenceOperation pr && SymbolEqualityComparer.Default.Equals(pr.Property, s.InPlaceConversionV8) &&
                Ops.ReferencedSymbol(pr.Instance) is { } owner)
                evidence.Add((owner, pr));
        var found = false;
        foreach (var (v, reference) in evidence)
        {
            if (!SymbolEqualityComparer.Default.Equals(v, vm))
                continue;
            found = true;
            // 1. The call sits in a branch of a condition on the feature: the non-null branch is proof, the other a fallback.
            for (IOperation? child = site, p = site.Parent; p is not null; child = p, p = p.Parent)
            {
                if (p is IConditionalOperation c && Contains(c.Condition, reference))
                {
                    var nonNullWhenTrue = Polarity(c.Condition, reference);
                    if (nonNullWhenTrue is null)
                        return null;
                    var inTrue = ReferenceEquals(child, c.WhenTrue);
                    return inTrue == nonNullWhenTrue.Value ? $"{vm.Name}.InPlaceConversionV8 is non-null here (in-place conversion is enabled)" : null;
                }
            }
        }
        if (!found)
            return null;
        foreach (var (v, reference) in evidence)
        {
            if (!SymbolEqualityComparer.Default.Equals(v, vm))
                continue;
            // 2. An unconditional use (`vm.InPlaceConversionV8!.ToPrivate(...)`, `?? throw`), or an early exit when null.
            //    A use inside a branch (or lambda) that does not also contain the call proves nothing about the call.
            if (!SharesBranches(reference, site))
                continue;
            var cond = EnclosingCondition(reference, out var conditional);
            if (cond is null)
                return $"this method uses {vm.Name}.InPlaceConversionV8 (in-place conversion is enabled)";
            if (conditional is IConditionalOperation { WhenFalse: null } c && Polarity(c.Condition, reference) == false && AlwaysExits(c.WhenTrue) &&
                !Contains(c, site) && c.Syntax.SpanStart < site.Syntax.SpanStart)
                return $"{vm.Name}.InPlaceConversionV8 was checked non-null above (in-place conversion is enabled)";
        }
        return null;
    }

    private static bool SharesBranches(IOperation reference, IOperation site)
    {
        for (IOperation? child = reference, p = reference.Parent; p is not null; child = p, p = p.Parent)
        {
            if (p is IConditionalOperation c && !ReferenceEquals(child, c.Condition) && !Contains(child, site))
                return false;
            if (p is IAnonymousFunctionOperation or ILocalFunctionOperation or ISwitchCaseOperation or ILoopOperation or ITryOperation &&
                !Contains(p, site))
                return false;
        }
        return true;
    }

    private static IOperation? EnclosingCondition(IOperation reference, out IOperation? conditional)
    {
        for (IOperation? child = reference, p = reference.Parent; p is not null; child = p, p = p.Parent)
        {
            if (p is IConditionalOperation c && ReferenceEquals(child, c.Condition))
            {
                conditional = c;
                return child;
            }
            if (p is IBinaryOperation or IUnaryOperation or IIsPatternOperation or IConversionOperation or IParenthesizedOperation)
                continue;
            if (p is ICoalesceOperation co && ReferenceEquals(child, co.Value))
                break; // `feature ?? throw` / `?? fallback`: obtained unconditionally (the fallback is the caller's concern)
            break;
        }
        conditional = null;
        return null;
    }

    private static bool AlwaysExits(IOperation op) => op switch
    {
        IReturnOperation or IThrowOperation => true,
        IExpressionStatementOperation { Operation: IThrowOperation } => true,
        IBranchOperation => true,
        IBlockOperation b => b.Operations.Length > 0 && AlwaysExits(b.Operations[b.Operations.Length - 1]),
        _ => false,
    };

    private static bool Contains(IOperation root, IOperation target)
    {
        for (var p = target; p is not null; p = p.Parent)
            if (ReferenceEquals(p, root))
                return true;
        return false;
    }

    /// <summary>True: the condition being true implies the feature is non-null; false: implies null; null: unknown.</summary>
    private static bool? Polarity(IOperation cond, IOperation feature)
    {
        cond = Ops.Unwrap(cond);
        switch (cond)
        {
            case IUnaryOperation { OperatorKind: UnaryOperatorKind.Not } u:
                return Polarity(u.Operand, feature) is { } b ? !b : null;
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd } and:
                if (Contains(and.LeftOperand, feature))
                    return Polarity(and.LeftOperand, feature) == true ? true : null;
                return Polarity(and.RightOperand, feature) == true ? true : null;
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.Equals or BinaryOperatorKind.NotEquals } eq:
                var other = Contains(eq.LeftOperand, feature) ? eq.RightOperand : eq.LeftOperand;
                if (Constants.IsNull(other))
                    return eq.OperatorKind == BinaryOperatorKind.NotEquals;
                return null;
            case IIsPatternOperation isp when Contains(isp.Value, feature):
                return PatternPolarity(isp.Pattern);
            default:
                return null;
        }
    }

    private static bool? PatternPolarity(IPatternOperation p) => p switch
    {
        INegatedPatternOperation n => PatternPolarity(n.Pattern) is { } b ? !b : null,
        IConstantPatternOperation c => Constants.IsNull(c.Value) ? false : true,
        IDeclarationPatternOperation or IRecursivePatternOperation or ITypePatternOperation => true,
        _ => null,
    };
}
