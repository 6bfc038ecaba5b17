using System;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;
using Microsoft.CodeAnalysis.Text;

namespace Kvm.Analyzers;

/// <summary>
/// KVM1013: on arm64, a guest_memfd created without <c>GUEST_MEMFD_FLAG_MMAP</c> bound to a memslot
/// (<c>vm.Memslots.Add(gpa, gmem, …)</c>). arm64 has no private memory for ordinary VMs, so its memslots must be
/// guest_memfd-only and mappable: <c>KVM_SET_USER_MEMORY_REGION2</c> answers EINVAL otherwise (6.18+; earlier kernels
/// refuse <c>KVM_MEM_GUEST_MEMFD</c> on arm64 altogether). The target is arm64 when the VM was created in the method
/// with an arm64 type (<c>VmType.Arm64Default</c>, <c>VmType.Arm64(…)</c>) or the project says so
/// (<c>KvmTargetArchitecture=arm64</c>, a <c>RuntimeIdentifier</c> ending in <c>-arm64</c>, or, without a
/// RuntimeIdentifier, <c>PlatformTarget=arm64</c>). The flags are followed
/// like KVM1005's; the fix adds the flag to the one <c>Create</c> call (the additional location).
/// </summary>
public sealed class Arm64GmemMmapRule : KvmRule
{
    /// <summary>KVM1013.</summary>
    public const string Id = "KVM1013";

    /// <summary>The descriptor (beside the rule, so that the shared descriptor table only grows by appending).</summary>
    public static readonly DiagnosticDescriptor Descriptor = new(Id,
        "arm64 guest_memfd memslot without GUEST_MEMFD_FLAG_MMAP",
        "'{0}' is bound to a memslot of {1}, but was created without GUEST_MEMFD_FLAG_MMAP: arm64 memslots backed by guest_memfd must be mappable, so KVM_SET_USER_MEMORY_REGION2 fails with EINVAL",
        "KvmUsage", DiagnosticSeverity.Warning, isEnabledByDefault: true,
        description: "On arm64 an ordinary VM has no private memory: a guest_memfd memslot is the VM's only memory for that range and must be created with GUEST_MEMFD_FLAG_MMAP (kvm_arch_prepare_memory_region refuses it with EINVAL otherwise). Before 6.18 arm64 refuses KVM_MEM_GUEST_MEMFD altogether.",
        helpLinkUri: Descriptors.HelpBase + Id + ".md");

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptor);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        if (s.MemslotTable is null || s.GmemFd is null || s.GuestMemfdFeature is null)
            return;
        registry.OnInvocation(new[] { "Add" }, (ctx, inv) =>
        {
            // Cheapest first: the overload, then the guest_memfd's flags (a local's writes, from the body's index; most
            // memslots are mappable or their flags are not known), then whether anything can say arm64 (the project,
            // or an arm64 VM type named in this file), and only then the value flow of the VM.
            if (!KvmSymbols.Is(inv.TargetMethod.ContainingType, s.MemslotTable) || GmemArgument(s, inv) is not { } gmem)
                return;
            if (VmFacts.GmemFlags(s, gmem.Value) is not { Count: > 0 } flags)
                return;
            foreach (var f in flags)
                if ((f & s.GmemFlagMmap) != 0)
                    return;
            var decided = ProjectSays(ctx.Options, inv.Syntax.SyntaxTree, out var project);
            if (decided ? project is null : !NamesArm64Type(inv.Syntax.SyntaxTree))
                return;
            if ((project ?? VmReason(s, inv)) is not { } where)
                return;
            // A VM created right here with an x86 type is an x86 VM whatever the RuntimeIdentifier says: code built
            // for both architectures gates its x86 paths at run time (the SDK's own kernel tests and samples do).
            if (project is not null && VmIsExplicitlyX86(s, inv))
                return;
            var name = Ops.ReferencedSymbol(gmem.Value)?.Name ?? gmem.Value.Syntax.ToString();
            var creates = VmFacts.Created(gmem.Value, s.GuestMemfdFeature, "Create");
            var extra = creates is { Count: 1 } && creates[0].Syntax.SyntaxTree == inv.Syntax.SyntaxTree
                ? new[] { creates[0].Syntax.GetLocation() }
                : Array.Empty<Location>();
            ctx.ReportDiagnostic(Diagnostic.Create(Descriptor, gmem.Value.Syntax.GetLocation(), extra, name, where));
        });
    }

    private static IArgumentOperation? GmemArgument(KvmSymbols s, IInvocationOperation inv)
    {
        foreach (var a in inv.Arguments)
            if (KvmSymbols.Is(a.Parameter?.Type, s.GmemFd))
                return a;
        return null;
    }

    private static readonly ConditionalWeakTable<SyntaxTree, object> Arm64Files = new();
    private static readonly object Yes = new(), No = new();

    /// <summary>Whether the file's text contains <c>Arm64</c> at all (one scan of the source text per file, cached):
    /// without it no VM in the file can have been created with <c>VmType.Arm64Default</c> or <c>VmType.Arm64(…)</c>,
    /// so the flow is not followed. A text scan rather than a token walk: walking the tokens built the whole red tree
    /// of every file with a memslot, which the compiler does not otherwise need (it was most of this rule's cost).
    /// A mention in a comment only lets the semantic check run.</summary>
    private static bool NamesArm64Type(SyntaxTree tree) =>
        Arm64Files.GetValue(tree, t => Contains(t.GetText(), "Arm64") ? Yes : No) == Yes;

    internal static bool Contains(SourceText text, string word)
    {
        const int Chunk = 4096;
        var buffer = new char[Chunk + word.Length - 1];
        // Chunks overlap by word.Length - 1 characters, so a word across a chunk boundary is still found.
        for (var start = 0; start < text.Length; start += Chunk)
        {
            var count = Math.Min(buffer.Length, text.Length - start);
            text.CopyTo(start, buffer, 0, count);
            if (buffer.AsSpan(0, count).IndexOf(word.AsSpan(), StringComparison.Ordinal) >= 0)
                return true;
        }
        return false;
    }

    /// <summary>True when the project decides the architecture: <paramref name="reason"/> is then set for arm64 and
    /// null for another architecture (<c>KvmTargetArchitecture=x86_64</c> wins over any VM type).</summary>
    private static bool ProjectSays(AnalyzerOptions options, SyntaxTree tree, out string? reason)
    {
        reason = null;
        var o = options.AnalyzerConfigOptionsProvider.GetOptions(tree);
        if (o.TryGetValue("build_property.KvmTargetArchitecture", out var arch) && !string.IsNullOrWhiteSpace(arch))
        {
            if (IsArm64Name(arch.Trim()))
                reason = "an arm64 VM (KvmTargetArchitecture=" + arch.Trim() + ")";
            return true;
        }
        if (o.TryGetValue("build_property.RuntimeIdentifier", out var rid) && !string.IsNullOrWhiteSpace(rid))
        {
            if (!rid.Trim().EndsWith("-arm64", StringComparison.OrdinalIgnoreCase))
                return false; // another architecture's RID: a PlatformTarget cannot say arm64 against it
            reason = "an arm64 VM (RuntimeIdentifier " + rid.Trim() + ")";
            return true;
        }
        if (o.TryGetValue("build_property.PlatformTarget", out var platform) && platform.Trim().Equals("arm64", StringComparison.OrdinalIgnoreCase))
        {
            reason = "an arm64 VM (PlatformTarget " + platform.Trim() + ")";
            return true;
        }
        return false;
    }

    /// <summary>Why the memslot's VM is an arm64 VM by its creation in this method, or null.</summary>
    private static string? VmReason(KvmSymbols s, IInvocationOperation add) =>
        AllVmsCreatedWith(s, add, IsArm64Type, out var vmName) ? $"'{vmName}', created with an arm64 VM type" : null;

    /// <summary>True when every VM behind the memslot table was created in this method with an explicit x86 type
    /// (<c>VmType.X86SwProtected</c>, <c>VmType.X86(…)</c>, …).</summary>
    private static bool VmIsExplicitlyX86(KvmSymbols s, IInvocationOperation add) => AllVmsCreatedWith(s, add, IsX86Type, out _);

    /// <summary>True when every VM behind <c>vm.Memslots</c> was created in this method (<c>kvm.CreateVm(type)</c>) with
    /// an explicit type that <paramref name="isType"/> accepts; <paramref name="vmName"/> names the first of them.</summary>
    private static bool AllVmsCreatedWith(KvmSymbols s, IInvocationOperation add, Func<KvmSymbols, IOperation, bool> isType, out string? vmName)
    {
        vmName = null;
        if (VmFacts.OwnersOf(Ops.Receiver(add), s.VmMemslots) is not { Count: > 0 } vms)
            return false;
        foreach (var vm in vms)
        {
            if (VmFacts.Created(vm, s.KvmSystem, "CreateVm") is not { Count: > 0 } creates)
                return false;
            foreach (var create in creates)
                if (Ops.Argument(create, "type") is not { } t || !Ops.IsExplicit(t) || !isType(s, t.Value))
                    return false;
            vmName ??= Ops.ReferencedSymbol(vm)?.Name ?? vm.Syntax.ToString();
        }
        return true;
    }

    private static bool IsArm64Name(string arch) =>
        arch.Equals("arm64", StringComparison.OrdinalIgnoreCase) || arch.Equals("aarch64", StringComparison.OrdinalIgnoreCase);

    private static bool IsArm64Type(KvmSymbols s, IOperation typeExpr) =>
        EverySourceIs(s, typeExpr, property => property == "Arm64Default", method => method == "Arm64");

    private static bool IsX86Type(KvmSymbols s, IOperation typeExpr) =>
        EverySourceIs(s, typeExpr, property => property.StartsWith("X86", StringComparison.Ordinal), method => method == "X86");

    /// <summary>True when every value the VM type expression can take is a static <c>VmType</c> property or factory
    /// whose name the predicates accept.</summary>
    private static bool EverySourceIs(KvmSymbols s, IOperation typeExpr, Func<string, bool> property, Func<string, bool> method)
    {
        if (ValueFlow.Sources(typeExpr) is not { Count: > 0 } sources)
            return false;
        foreach (var src in sources)
        {
            var accepted = src switch
            {
                IPropertyReferenceOperation { Instance: null } p => property(p.Property.Name) && KvmSymbols.Is(p.Property.ContainingType, s.VmType),
                IInvocationOperation { Instance: null } i => method(i.TargetMethod.Name) && KvmSymbols.Is(i.TargetMethod.ContainingType, s.VmType),
                _ => false,
            };
            if (!accepted)
                return false;
        }
        return true;
    }
}
