using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>KVM1004: constant flag combinations the kernel refuses (guest_memfd slot + READONLY/LOG_DIRTY_PAGES,
/// KVM_MEM_GUEST_MEMFD on a v1 or host-memory slot, bits outside the bindings' GuestMemfdFlags / KvmMemFlags).
/// KVM1005: Map() on a guest_memfd created in the same method with constant flags lacking GUEST_MEMFD_FLAG_MMAP.</summary>
public sealed class FlagsRule : KvmRule
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        ImmutableArray.Create(Descriptors.RefusedFlags, Descriptors.MapWithoutMmapFlag);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        registry.OnInvocation(new[] { "Create", "TryCreate", "Add", "AddUserMemory" }, (ctx, inv) => CheckInvocation(ctx, s, inv));
        registry.OnFieldAssignment(new[] { "flags" }, (ctx, assign, field) => CheckStructFlags(ctx, s, assign, field));

        if (s.GmemFd is null || s.GuestMemfdFeature is null)
            return;
        // KVM1005 needs two facts from one method: Map() on a guest_memfd (the trigger), and how every guest_memfd the
        // receiver can be was created (followed through locals, `?.`, patterns and reassignments).
        registry.OnInvocation(new[] { "Map" }, (ctx, map) =>
        {
            if (!KvmSymbols.Is(map.TargetMethod.ContainingType, s.GmemFd) || Ops.Receiver(map) is not { } r ||
                VmFacts.GmemFlags(s, r) is not { Count: > 0 } flags)
                return;
            foreach (var f in flags)
                if ((f & s.GmemFlagMmap) != 0)
                    return;
            var name = Ops.ReferencedSymbol(r)?.Name ?? r.Syntax.ToString();
            // The fix edits the creation, so it is offered (as an additional location) only when there is one.
            var creates = VmFacts.Created(r, s.GuestMemfdFeature, "Create");
            var extra = creates is { Count: 1 } && creates[0].Syntax.SyntaxTree == map.Syntax.SyntaxTree
                ? new[] { creates[0].Syntax.GetLocation() }
                : System.Array.Empty<Location>();
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.MapWithoutMmapFlag, map.Syntax.GetLocation(), extra, name));
        });
    }

    private static bool IsCreate(KvmSymbols s, IInvocationOperation inv) =>
        inv.TargetMethod.Name == "Create" && KvmSymbols.Is(inv.TargetMethod.ContainingType, s.GuestMemfdFeature);

    private static void CheckInvocation(OperationAnalysisContext ctx, KvmSymbols s, IInvocationOperation inv)
    {
        var m = inv.TargetMethod;
        if (KvmSymbols.Is(m.ContainingType, s.GuestMemfdFeature) && m.Name is "Create" or "TryCreate")
        {
            if (Ops.Argument(inv, "flags") is { } a && Ops.IsExplicit(a) && ValueFlow.WhenAll(a.Value, x => (x & ~s.KnownGmemFlags) != 0) is { } v)
                Report(ctx, a.Value, $"guest_memfd flag bits 0x{v & ~s.KnownGmemFlags:X} are not GuestMemfdFlags the bindings define: KVM_CREATE_GUEST_MEMFD answers EINVAL");
        }
        else if (KvmSymbols.Is(m.ContainingType, s.MemslotTable) && m.Name is "Add" or "AddUserMemory")
        {
            if (Ops.Argument(inv, "flags") is { } a && Ops.IsExplicit(a) &&
                (ValueFlow.WhenAll(a.Value, x => (x & s.MemGuestMemfd) != 0) ?? ValueFlow.WhenAll(a.Value, x => (x & ~s.KnownMemFlags) != 0)) is { } v)
            {
                if ((v & s.MemGuestMemfd) != 0)
                    Report(ctx, a.Value, "KVM_MEM_GUEST_MEMFD on a slot without a guest_memfd: the kernel answers EINVAL (EBADF for fd 0); use the GmemFd or GmemMapping overload of Add, which sets it");
                else if ((v & ~s.KnownMemFlags) != 0)
                    Report(ctx, a.Value, $"memslot flag bits 0x{v & ~s.KnownMemFlags:X} are not KvmMemFlags the bindings define: KVM_SET_USER_MEMORY_REGION2 answers EINVAL");
            }
        }
    }

    private static void CheckStructFlags(OperationAnalysisContext ctx, KvmSymbols s, ISimpleAssignmentOperation a, IFieldReferenceOperation f)
    {
        var t = f.Field.ContainingType.OriginalDefinition;
        if (KvmSymbols.Is(t, s.Region2Struct))
        {
            if ((ValueFlow.WhenAll(a.Value, x => (x & s.MemGuestMemfd) != 0 && (x & (s.MemReadonly | s.MemLogDirty)) != 0) ??
                 ValueFlow.WhenAll(a.Value, x => (x & ~s.KnownMemFlags) != 0)) is not { } v)
                return;
            if ((v & s.MemGuestMemfd) != 0 && (v & (s.MemReadonly | s.MemLogDirty)) != 0)
                Report(ctx, a.Value, $"a guest_memfd memslot cannot be {((v & s.MemReadonly) != 0 ? "KVM_MEM_READONLY" : "KVM_MEM_LOG_DIRTY_PAGES")}: KVM_SET_USER_MEMORY_REGION2 answers EINVAL");
            else if ((v & ~s.KnownMemFlags) != 0)
                Report(ctx, a.Value, $"memslot flag bits 0x{v & ~s.KnownMemFlags:X} are not KvmMemFlags the bindings define: KVM_SET_USER_MEMORY_REGION2 answers EINVAL");
        }
        else if (KvmSymbols.Is(t, s.RegionStruct) && ValueFlow.WhenAll(a.Value, x => (x & ~(s.MemReadonly | s.MemLogDirty)) != 0) is not null)
        {
            Report(ctx, a.Value, "KVM_SET_USER_MEMORY_REGION (v1) accepts only KVM_MEM_LOG_DIRTY_PAGES and KVM_MEM_READONLY: the kernel answers EINVAL; guest_memfd slots need KVM_SET_USER_MEMORY_REGION2");
        }
        else if (KvmSymbols.Is(t, s.CreateGuestMemfdStruct) && ValueFlow.WhenAll(a.Value, x => (x & ~s.KnownGmemFlags) != 0) is { } v)
        {
            Report(ctx, a.Value, $"guest_memfd flag bits 0x{v & ~s.KnownGmemFlags:X} are not GuestMemfdFlags the bindings define: KVM_CREATE_GUEST_MEMFD answers EINVAL");
        }
    }

    private static void Report(OperationAnalysisContext ctx, IOperation at, string message) =>
        ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.RefusedFlags, at.Syntax.GetLocation(), message));
}
