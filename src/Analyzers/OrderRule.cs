using System.Collections.Generic;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.FlowAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>
/// Order rules the kernel enforces, checked along the control flow of one method body:
/// KVM1007, <c>vcpu.SetCpuid2(…)</c> on a path after <c>vcpu.Run()</c> (KVM_SET_CPUID2 after KVM_RUN is EINVAL
/// unless the table is identical; <c>vcpu.SetCpuid2(vcpu.GetCpuid2())</c> is that identical table and is not reported);
/// KVM1008, VM setup that must precede the first vCPU (<c>Irqchip.CreateIrqchip</c>, <c>EnableSplitIrqchip</c>,
/// <c>SetIdentityMapAddress</c>, <c>DisableExits</c>) on a path after <c>vm.CreateVcpu(…)</c>.
/// A path counts only while the receiver (local, parameter or field) is not reassigned, so a loop that creates a new
/// vCPU per iteration is not a "set after run". Code in lambdas and receivers copied to other locals are not followed.
/// </summary>
public sealed class OrderRule : KvmRule
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.CpuidAfterRun, Descriptors.SetupAfterVcpu);

    private static readonly Dictionary<string, string> VmSetup = new()
    {
        ["CreateIrqchip"] = "KVM_CREATE_IRQCHIP answers EINVAL once the VM has a vCPU",
        ["EnableSplitIrqchip"] = "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP) is refused once the VM has a vCPU",
        ["SetIdentityMapAddress"] = "KVM_SET_IDENTITY_MAP_ADDR answers EINVAL once the VM has a vCPU",
        ["DisableExits"] = "KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS) answers EINVAL once the VM has a vCPU",
    };

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        if (s.VcpuFd is null)
            return;
        registry.OnInvocation(new[] { "SetCpuid2" }, (ctx, inv) =>
        {
            if (!KvmSymbols.Is(inv.TargetMethod.ContainingType, s.VcpuFd) || Ops.ReferencedSymbol(Ops.Receiver(inv)) is not { } vcpu)
                return;
            if (inv.Arguments.Length == 1 && IsKernelsOwnTable(inv.Arguments[0].Value, vcpu, inv))
                return; // the kernel's own table: accepted after a run
            if (FollowsOnAPath(ctx, inv, vcpu, op => IsCallOn(op, vcpu, s.VcpuFd, "Run", "RunServicingMemoryFaults")))
                ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.CpuidAfterRun, inv.Syntax.GetLocation(), vcpu.Name));
        });
        registry.OnInvocation(VmSetup.Keys, (ctx, inv) =>
        {
            var name = inv.TargetMethod.Name;
            var receiver = Ops.Receiver(inv);
            ISymbol? vm;
            if (name == "CreateIrqchip")
                vm = receiver is not null && Ops.Unwrap(receiver) is IPropertyReferenceOperation { Property.Name: "Irqchip" } p &&
                     KvmSymbols.Is(p.Property.ContainingType, s.VmFd) ? Ops.ReferencedSymbol(p.Instance) : null;
            else
                vm = KvmSymbols.Is(inv.TargetMethod.ContainingType, s.VmFd) ? Ops.ReferencedSymbol(receiver) : null;
            if (vm is null)
                return;
            if (FollowsOnAPath(ctx, inv, vm, op => IsCallOn(op, vm, s.VmFd, "CreateVcpu")))
                ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.SetupAfterVcpu, inv.Syntax.GetLocation(), name, vm.Name, VmSetup[name]));
        });
    }

    /// <summary><c>vcpu.GetCpuid2()</c>, directly or through a local initialized with it and never reassigned.</summary>
    private static bool IsKernelsOwnTable(IOperation arg, ISymbol vcpu, IOperation site)
    {
        static bool IsGet(IOperation? op, ISymbol vcpu) =>
            op is not null && Ops.Unwrap(op) is IInvocationOperation { TargetMethod.Name: "GetCpuid2" } get &&
            SymbolEqualityComparer.Default.Equals(Ops.ReferencedSymbol(Ops.Receiver(get)), vcpu);
        if (IsGet(arg, vcpu))
            return true;
        if (Ops.Unwrap(arg) is not ILocalReferenceOperation { Local: var local })
            return false;
        var fromGet = false;
        foreach (var op in Ops.All(Ops.Root(site)))
        {
            if (op is IVariableDeclaratorOperation d && SymbolEqualityComparer.Default.Equals(d.Symbol, local))
                fromGet = IsGet(d.Initializer?.Value, vcpu);
            else if (op is ISimpleAssignmentOperation a && Ops.Unwrap(a.Target) is ILocalReferenceOperation t &&
                     SymbolEqualityComparer.Default.Equals(t.Local, local))
                return false;
        }
        return fromGet;
    }

    private static bool IsCallOn(IOperation op, ISymbol receiver, INamedTypeSymbol type, params string[] names) =>
        op is IInvocationOperation call && System.Array.IndexOf(names, call.TargetMethod.Name) >= 0 &&
        KvmSymbols.Is(call.TargetMethod.ContainingType, type) &&
        SymbolEqualityComparer.Default.Equals(Ops.ReferencedSymbol(call.Instance), receiver);

    private enum Event { Before, Kill, Trigger }

    /// <summary>True when some path through the method's control-flow graph reaches <paramref name="trigger"/> after an
    /// operation <paramref name="isBefore"/> accepts, with no assignment to <paramref name="key"/> in between.</summary>
    private static bool FollowsOnAPath(OperationAnalysisContext ctx, IInvocationOperation trigger, ISymbol key, System.Func<IOperation, bool> isBefore)
    {
        ControlFlowGraph? cfg;
        try
        {
            cfg = ctx.GetControlFlowGraph();
        }
        catch (System.InvalidOperationException)
        {
            return false; // not inside an executable code block (e.g. an attribute argument)
        }
        if (cfg is null)
            return false;
        var events = new List<Event>[cfg.Blocks.Length];
        int startBlock = -1, startIndex = -1;
        foreach (var block in cfg.Blocks)
        {
            var list = events[block.Ordinal] = new List<Event>();
            foreach (var op in BlockOperations(block))
                foreach (var node in PostOrder(op))
                {
                    if (node is IInvocationOperation && node.Syntax == trigger.Syntax)
                    {
                        (startBlock, startIndex) = (block.Ordinal, list.Count);
                        list.Add(Event.Trigger);
                    }
                    else if (isBefore(node))
                        list.Add(Event.Before);
                    else if (node is ISimpleAssignmentOperation a && SymbolEqualityComparer.Default.Equals(Ops.ReferencedSymbol(a.Target), key))
                        list.Add(Event.Kill);
                }
        }
        if (startBlock < 0)
            return false; // e.g. inside a lambda: its flow is not this graph's
        var visited = new HashSet<int>();
        var work = new Stack<(int Block, int From)>();
        work.Push((startBlock, startIndex));
        while (work.Count > 0)
        {
            var (b, from) = work.Pop();
            var list = events[b];
            var dead = false;
            for (var i = from - 1; i >= 0; i--)
            {
                if (list[i] == Event.Before)
                    return true;
                if (list[i] == Event.Kill)
                {
                    dead = true;
                    break;
                }
            }
            if (dead)
                continue;
            foreach (var pred in cfg.Blocks[b].Predecessors)
                if (visited.Add(pred.Source.Ordinal))
                    work.Push((pred.Source.Ordinal, events[pred.Source.Ordinal].Count));
            foreach (var t in HandlerEntries(cfg, b))
                if (visited.Add(t))
                    work.Push((t, events[t].Count));
        }
        return false;
    }

    /// <summary>When <paramref name="b"/> is the first block of a <c>finally</c> or <c>catch</c>: every block of the
    /// protected <c>try</c>. The graph gives a handler's entry no predecessor (it is entered by leaving the try or by
    /// an exception anywhere in it), so without this a call in <c>finally</c> never looked back into its try.</summary>
    private static IEnumerable<int> HandlerEntries(ControlFlowGraph cfg, int b)
    {
        for (var region = cfg.Blocks[b].EnclosingRegion; region is not null && region.FirstBlockOrdinal == b; region = region.EnclosingRegion)
        {
            if (region.Kind is not (ControlFlowRegionKind.Finally or ControlFlowRegionKind.Catch) ||
                region.EnclosingRegion is not { NestedRegions: { Length: > 0 } siblings } || siblings[0].Kind != ControlFlowRegionKind.Try)
                continue;
            for (var t = siblings[0].FirstBlockOrdinal; t <= siblings[0].LastBlockOrdinal; t++)
                yield return t;
        }
    }

    private static IEnumerable<IOperation> BlockOperations(BasicBlock block)
    {
        foreach (var op in block.Operations)
            yield return op;
        if (block.BranchValue is { } branch)
            yield return branch;
    }

    /// <summary>Children before parents: the order the operations are evaluated in.</summary>
    private static IEnumerable<IOperation> PostOrder(IOperation root)
    {
        foreach (var child in root.ChildOperations)
            foreach (var op in PostOrder(child))
                yield return op;
        yield return root;
    }
}
