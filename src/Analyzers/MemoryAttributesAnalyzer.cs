using System.Collections.Concurrent;
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
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class MemoryAttributesAnalyzer : DiagnosticAnalyzer
{
    /// <summary>Set on KVM1001 when the code fix can rewrite the call: the receiver is <c>vm.MemoryAttributes</c> and a
    /// guest_memfd memslot of that VM is added in the same method.</summary>
    public const string FixableKey = "GmemSlotInScope";

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.PrivateThroughVm, Descriptors.NoPrivateMemory);

    private sealed class Site
    {
        public Site(IOperation at, ISymbol? vm, ulong attributes, bool direct, bool sdk)
        {
            At = at;
            Vm = vm;
            Attributes = attributes;
            Direct = direct;
            Sdk = sdk;
        }

        public IOperation At { get; }
        public ISymbol? Vm { get; }
        public ulong Attributes { get; }
        public bool Direct { get; }
        public bool Sdk { get; }
    }

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (KvmSymbols.TryCreate(start.Compilation) is not { } s || s.MemoryAttributesFeature is null)
                return;
            start.RegisterOperationBlockStartAction(block =>
            {
                var sites = new ConcurrentBag<Site>();
                var featureLocals = new ConcurrentDictionary<ILocalSymbol, ISymbol>(SymbolEqualityComparer.Default);
                var evidence = new ConcurrentBag<(ISymbol Vm, IOperation Reference)>();
                var gmemSlots = new ConcurrentDictionary<ISymbol, bool>(SymbolEqualityComparer.Default);
                var vmTypes = new ConcurrentDictionary<ILocalSymbol, string>(SymbolEqualityComparer.Default);
                var structAttrs = new ConcurrentDictionary<ILocalSymbol, ulong>(SymbolEqualityComparer.Default);
                var rawCalls = new ConcurrentBag<(IOperation At, ILocalSymbol? Local, ulong? Inline)>();

                block.RegisterOperationAction(ctx =>
                {
                    var inv = (IInvocationOperation)ctx.Operation;
                    var m = inv.TargetMethod;
                    if (KvmSymbols.Is(m.ContainingType, s.MemoryAttributesFeature) && m.Name is "Set" or "TrySet")
                    {
                        if (Ops.Argument(inv, "attributes") is not { } a || Constants.Of(a.Value) is not { } attrs || attrs == 0)
                            return;
                        var receiver = Ops.Receiver(inv) is { } r ? Ops.Unwrap(r) : null;
                        if (receiver is IPropertyReferenceOperation pr && SymbolEqualityComparer.Default.Equals(pr.Property, s.VmMemoryAttributes))
                            sites.Add(new Site(inv, Ops.ReferencedSymbol(pr.Instance), attrs, direct: true, sdk: true));
                        else if (receiver is ILocalReferenceOperation l)
                            sites.Add(new Site(inv, l.Local, attrs, direct: false, sdk: true)); // resolved through featureLocals at the end
                    }
                    else if (KvmSymbols.Is(m.ContainingType, s.Sys) && m.Name == "Ioctl" && s.SetMemoryAttributesIoctl is not null)
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
                        var v = Ops.Unwrap(arg.Value);
                        if (v is ILocalReferenceOperation l)
                            rawCalls.Add((inv, l.Local, null));
                        else if (v is IObjectCreationOperation { Initializer: { } init })
                            rawCalls.Add((inv, null, AttributesIn(init)));
                    }
                    else if (KvmSymbols.Is(m.ContainingType, s.MemslotTable) && m.Name == "Add" &&
                             Ops.Receiver(inv) is { } r && Ops.Unwrap(r) is IPropertyReferenceOperation slots &&
                             SymbolEqualityComparer.Default.Equals(slots.Property, s.VmMemslots) &&
                             Ops.ReferencedSymbol(slots.Instance) is { } vm)
                    {
                        foreach (var p in m.Parameters)
                            if (KvmSymbols.Is(p.Type, s.GmemFd) || KvmSymbols.Is(p.Type, s.GmemMapping))
                                gmemSlots[vm] = true;
                    }
                }, OperationKind.Invocation);

                block.RegisterOperationAction(ctx =>
                {
                    var pr = (IPropertyReferenceOperation)ctx.Operation;
                    if (SymbolEqualityComparer.Default.Equals(pr.Property, s.InPlaceConversionV8) && Ops.ReferencedSymbol(pr.Instance) is { } vm)
                        evidence.Add((vm, pr));
                }, OperationKind.PropertyReference);

                block.RegisterOperationAction(ctx =>
                {
                    var d = (IVariableDeclaratorOperation)ctx.Operation;
                    if (d.GetVariableInitializer()?.Value is not { } init)
                        return;
                    var v = Ops.Unwrap(init);
                    if (v is IPropertyReferenceOperation pr && SymbolEqualityComparer.Default.Equals(pr.Property, s.VmMemoryAttributes) &&
                        Ops.ReferencedSymbol(pr.Instance) is { } vm)
                        featureLocals[d.Symbol] = vm;
                    else if (v is IInvocationOperation inv && inv.TargetMethod.Name == "CreateVm" && KvmSymbols.Is(inv.TargetMethod.ContainingType, s.KvmSystem) &&
                             NoPrivateMemoryType(s, inv) is { } typeName)
                        vmTypes[d.Symbol] = typeName;
                    else if (v is IObjectCreationOperation { Initializer: { } oi } oc && KvmSymbols.Is(oc.Type, s.MemoryAttributesStruct) &&
                             AttributesIn(oi) is { } attrs)
                        structAttrs.AddOrUpdate(d.Symbol, attrs, (_, old) => old | attrs);
                }, OperationKind.VariableDeclarator);

                block.RegisterOperationAction(ctx =>
                {
                    var declared = ctx.Operation switch
                    {
                        IDeclarationPatternOperation d => d.DeclaredSymbol,
                        IRecursivePatternOperation r => r.DeclaredSymbol,
                        _ => null,
                    };
                    if (declared is ILocalSymbol local && ctx.Operation.Parent is IIsPatternOperation isp &&
                        Ops.Unwrap(isp.Value) is IPropertyReferenceOperation pr && SymbolEqualityComparer.Default.Equals(pr.Property, s.VmMemoryAttributes) &&
                        Ops.ReferencedSymbol(pr.Instance) is { } vm)
                        featureLocals[local] = vm;
                }, OperationKind.DeclarationPattern, OperationKind.RecursivePattern);

                block.RegisterOperationAction(ctx =>
                {
                    var a = (ISimpleAssignmentOperation)ctx.Operation;
                    if (a.Target is IFieldReferenceOperation { Field.Name: "attributes" } f && KvmSymbols.Is(f.Field.ContainingType, s.MemoryAttributesStruct) &&
                        f.Instance is ILocalReferenceOperation l && Constants.Of(a.Value) is { } attrs)
                        structAttrs.AddOrUpdate(l.Local, attrs, (_, old) => old | attrs);
                }, OperationKind.SimpleAssignment);

                block.RegisterOperationBlockEndAction(ctx =>
                {
                    var reason = TargetAbi.InPlaceConversionReason(ctx.Options, ctx.OperationBlocks[0].Syntax.SyntaxTree);
                    foreach (var site in sites)
                    {
                        var vm = site.Direct ? site.Vm : site.Vm is ILocalSymbol l && featureLocals.TryGetValue(l, out var owner) ? owner : null;
                        if (!site.Direct && vm is null)
                            continue;
                        var inv = (IInvocationOperation)site.At;
                        var call = $"{inv.TargetMethod.ContainingType.Name}.{inv.TargetMethod.Name}";
                        if (vm is ILocalSymbol vmLocal && vmTypes.TryGetValue(vmLocal, out var typeName))
                        {
                            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.NoPrivateMemory, site.At.Syntax.GetLocation(), vmLocal.Name, typeName,
                                (site.Attributes & s.AttributePrivate) != 0 ? "KVM_MEMORY_ATTRIBUTE_PRIVATE" : $"attributes 0x{site.Attributes:X}"));
                            continue;
                        }
                        if ((site.Attributes & s.AttributePrivate) == 0)
                            continue;
                        var why = reason ?? (vm is null ? null : EvidenceReason(evidence, vm, site.At));
                        if (why is null)
                            continue;
                        var props = ImmutableDictionary<string, string?>.Empty;
                        if (site.Direct && vm is not null && gmemSlots.ContainsKey(vm) && site.Attributes == s.AttributePrivate && s.InPlaceConversionV8 is not null)
                            props = props.Add(FixableKey, "true");
                        ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.PrivateThroughVm, site.At.Syntax.GetLocation(), props, call, why));
                    }
                    if (reason is null)
                        return;
                    foreach (var (at, local, inline) in rawCalls)
                    {
                        var attrs = inline ?? (local is not null && structAttrs.TryGetValue(local, out var a) ? a : 0);
                        if ((attrs & s.AttributePrivate) != 0)
                            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.PrivateThroughVm, at.Syntax.GetLocation(), "Sys.Ioctl(KVM_SET_MEMORY_ATTRIBUTES)", reason));
                    }
                });
            });
        });
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
    private static string? EvidenceReason(IEnumerable<(ISymbol Vm, IOperation Reference)> evidence, ISymbol vm, IOperation site)
    {
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
