using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>KVM1003: constant addresses, sizes and offsets that are not multiples of 4096 where the kernel requires
/// PAGE_SIZE alignment (4096 is the smallest page size of every supported host, so a value unaligned to it is
/// unaligned everywhere). Checks SDK arguments and the fields of the raw uAPI structs.</summary>
public sealed class AlignmentRule : KvmRule
{
    public const ulong PageSize = 4096;
    public const string RoundKey = "Round";
    public const string AlignedKey = "Aligned";

    private enum Kind { Address, Size }

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.Unaligned, Descriptors.ZeroSize);

    /// <summary>Members whose size or length the kernel (or the SDK before it) refuses when zero. MemslotTable.Add is
    /// not here: its size 0 means "the whole mapping".</summary>
    private static readonly HashSet<string> NonZeroSizes = new()
    {
        "GuestMemfdFeature.Create", "GuestMemfdFeature.TryCreate", "KvmSystem.AllocateHostMemory", "KvmSystem.AllocateMemfd",
        "MemslotTable.AddUserMemory", "MemoryAttributesFeature.Set", "MemoryAttributesFeature.TrySet",
        "GmemFd.Allocate", "GmemFd.TryAllocate", "GmemFd.PunchHole", "GmemFd.TryPunchHole",
        "IGuestMemoryConversion.ToPrivate", "IGuestMemoryConversion.ToShared", "IGuestMemoryConversion.TryToPrivate", "IGuestMemoryConversion.TryToShared",
    };

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        var methods = new Dictionary<INamedTypeSymbol, (HashSet<string> Names, string Label)>(SymbolEqualityComparer.Default);
        void Methods(INamedTypeSymbol? t, string label, params string[] names)
        {
            if (t is not null)
                methods[t] = (new HashSet<string>(names), label);
        }
        Methods(s.MemslotTable, "memslot", "Add", "AddUserMemory");
        Methods(s.MemoryAttributesFeature, "memory-attribute range", "Set", "TrySet");
        Methods(s.GuestMemfdFeature, "guest_memfd", "Create", "TryCreate");
        Methods(s.GmemFd, "guest_memfd range", "Allocate", "TryAllocate", "PunchHole", "TryPunchHole");
        Methods(s.Conversion, "conversion range", "ToPrivate", "ToShared", "TryToPrivate", "TryToShared");
        Methods(s.KvmSystem, "host memory", "AllocateHostMemory", "AllocateMemfd");

        var fields = new Dictionary<INamedTypeSymbol, (Dictionary<string, Kind> Fields, string Label)>(SymbolEqualityComparer.Default);
        void Fields(INamedTypeSymbol? t, string label, params (string, Kind)[] f)
        {
            if (t is null)
                return;
            var d = new Dictionary<string, Kind>();
            foreach (var (n, k) in f)
                d[n] = k;
            fields[t] = (d, label);
        }
        Fields(s.Region2Struct, "kvm_userspace_memory_region2", ("guest_phys_addr", Kind.Address), ("memory_size", Kind.Size),
            ("userspace_addr", Kind.Address), ("guest_memfd_offset", Kind.Address));
        Fields(s.RegionStruct, "kvm_userspace_memory_region", ("guest_phys_addr", Kind.Address), ("memory_size", Kind.Size),
            ("userspace_addr", Kind.Address));
        Fields(s.MemoryAttributesStruct, "kvm_memory_attributes", ("address", Kind.Address), ("size", Kind.Size));
        Fields(s.CreateGuestMemfdStruct, "kvm_create_guest_memfd", ("size", Kind.Size));
        Fields(s.PreFaultStruct, "kvm_pre_fault_memory", ("gpa", Kind.Address), ("size", Kind.Size));

        // The trigger names come from the tables, so a type the compilation lacks registers none of its names.
        var methodNames = new HashSet<string>();
        foreach (var entry in methods.Values)
            methodNames.UnionWith(entry.Names);
        var fieldNames = new HashSet<string>();
        foreach (var entry in fields.Values)
            fieldNames.UnionWith(entry.Fields.Keys);

        registry.OnInvocation(methodNames, (ctx, inv) =>
        {
            var m = inv.TargetMethod;
            if (!methods.TryGetValue(m.ContainingType.OriginalDefinition, out var entry) || !entry.Names.Contains(m.Name))
                return;
            foreach (var a in inv.Arguments)
            {
                if (!Ops.IsExplicit(a) || a.Parameter is null)
                    continue;
                Kind? kind = a.Parameter.Name switch
                {
                    "gpa" or "memoryOffset" or "gmemOffset" or "sharedOffset" or "offset" => Kind.Address,
                    "size" or "length" => Kind.Size,
                    _ => null,
                };
                if (kind is not { } k)
                    continue;
                // The message is built only when there is something to report (this runs for every range argument).
                if (Unaligned(a.Value, k) is { } bad)
                    Report(ctx, a.Value, k, bad, What(entry.Label, a.Parameter.Name, k, m));
                else if (k == Kind.Size && (Constants.Of(a.Value) is not { } known || known == 0) &&
                         NonZeroSizes.Contains(m.ContainingType.Name + "." + m.Name) &&
                         ValueFlow.WhenAll(a.Value, v => v == 0) is not null)
                    ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.ZeroSize, a.Value.Syntax.GetLocation(), What(entry.Label, a.Parameter.Name, k, m),
                        m.Name == "AddUserMemory" ? "a memslot of size 0 is a deletion (KVM_SET_USER_MEMORY_REGION deletes the slot), not a new slot"
                                                  : "the SDK throws ArgumentOutOfRangeException before the ioctl, and the kernel would answer EINVAL"));
            }
        });

        registry.OnFieldAssignment(fieldNames, (ctx, assign, f) =>
        {
            if (!fields.TryGetValue(f.Field.ContainingType.OriginalDefinition, out var entry) || !entry.Fields.TryGetValue(f.Field.Name, out var kind))
                return;
            if (Unaligned(assign.Value, kind) is { } bad)
                Report(ctx, assign.Value, kind, bad, $"{entry.Label}.{f.Field.Name}");
        });
    }

    private static string What(string label, string parameter, Kind k, IMethodSymbol m) =>
        $"The {label} {Describe(parameter, k)} '{parameter}' of {m.ContainingType.Name}.{m.Name}";

    private static string Describe(string parameter, Kind k) =>
        k == Kind.Size ? "length" : parameter.EndsWith("ffset", System.StringComparison.Ordinal) ? "offset" : "address";

    /// <summary>The constant if it is unaligned (and roundable), else null. Allocation-free on the common path.</summary>
    private static ulong? Unaligned(IOperation value, Kind kind) =>
        Constants.Of(value) is { } v
            ? (v % PageSize != 0 && (kind != Kind.Size || v <= ulong.MaxValue - (PageSize - 1)) ? v : null)
            : ValueFlow.WhenAll(value, x => x % PageSize != 0 && (kind != Kind.Size || x <= ulong.MaxValue - (PageSize - 1)));

    private static void Report(OperationAnalysisContext ctx, IOperation value, Kind kind, ulong v, string what)
    {
        if (Constants.Of(value) is null && Ops.Unwrap(value) is not IFieldReferenceOperation { Field: { IsStatic: true, IsReadOnly: true } })
        {
            // Followed through locals, choices or instance fields: no one definition to edit, so no fix is offered.
            // A static readonly field has one (its initializer), which the fix edits like a constant's.
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.Unaligned, value.Syntax.GetLocation(), what, v));
            return;
        }
        var aligned = kind == Kind.Size ? (v + PageSize - 1) & ~(PageSize - 1) : v & ~(PageSize - 1);
        var props = ImmutableDictionary<string, string?>.Empty
            .Add(RoundKey, kind == Kind.Size ? "up" : "down")
            .Add(AlignedKey, aligned.ToString(CultureInfo.InvariantCulture));
        ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.Unaligned, value.Syntax.GetLocation(), props, what, v));
    }
}
