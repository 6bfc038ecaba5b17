using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>
/// KVM1020: the VM-level conversion path on a project that targets in-place guest_memfd conversion (its ABI profile
/// names an <c>inplace-conversion-v*</c> overlay, or <c>KvmInPlaceConversion=true</c>): a conversion through
/// <c>vm.Conversion</c> (VM-fd <c>KVM_SET_MEMORY_ATTRIBUTES</c>), or <c>MemoryAttributes.Set/TrySet</c> with constant
/// attributes 0 (shared). There the kernel has no VM-level PRIVATE (EINVAL, or ENOTTY without the VM ioctl), and a
/// VM-level "shared" leaves the guest_memfd page private. PRIVATE through <c>MemoryAttributes</c> is KVM1001's.
/// </summary>
public sealed class VmLevelConversionRule : KvmRule
{
    /// <summary>KVM1020.</summary>
    public const string Id = "KVM1020";

    /// <summary>The descriptor (kept beside the rule so that the shared descriptor table only grows by appending).</summary>
    public static readonly DiagnosticDescriptor Descriptor = new(Id,
        "VM-level conversion on a project that targets in-place conversion",
        "{0} converts through the VM (KVM_SET_MEMORY_ATTRIBUTES), but {1}: there the VM-level call {2}; convert on the guest_memfd with vm.InPlaceConversion",
        "KvmUsage", DiagnosticSeverity.Warning, isEnabledByDefault: true,
        description: "With in-place conversion on (v7: kvm.vm_memory_attributes=N; v8: kvm.gmem_in_place_conversion=Y) private/shared lives in the guest_memfd: KVM_CAP_MEMORY_ATTRIBUTES loses PRIVATE, the VM ioctl refuses PRIVATE (EINVAL) or does not exist (ENOTTY), and setting 0 through it changes nothing the guest_memfd tracks.",
        helpLinkUri: Descriptors.HelpBase + Id + ".md");

    /// <inheritdoc />
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptor);

    internal override void Start(KvmSymbols s, RuleRegistry registry)
    {
        var conversion = s.VmFd.GetMembers("Conversion").OfType<IPropertySymbol>().FirstOrDefault();
        if (conversion is not null)
            registry.OnInvocation(new[] { "ToPrivate", "ToShared", "TryToPrivate", "TryToShared" }, (ctx, inv) =>
            {
                // The project's ABI first: it is one options lookup, and most projects do not target in-place conversion.
                if (TargetAbi.InPlaceConversionReason(ctx.Options, inv.Syntax.SyntaxTree) is { } why &&
                    Ops.Receiver(inv) is { } r && FromProperty(Ops.Unwrap(r), conversion))
                    ctx.ReportDiagnostic(Diagnostic.Create(Descriptor, inv.Syntax.GetLocation(), $"vm.Conversion.{inv.TargetMethod.Name}", why,
                        inv.TargetMethod.Name.Contains("Private") ? "fails with EINVAL or ENOTTY" : "leaves the guest_memfd page private (or fails with ENOTTY)"));
            });
        if (s.MemoryAttributesFeature is { } attrs)
            registry.OnInvocation(new[] { "Set", "TrySet" }, (ctx, inv) =>
            {
                if (KvmSymbols.Is(inv.TargetMethod.ContainingType, attrs) &&
                    TargetAbi.InPlaceConversionReason(ctx.Options, inv.Syntax.SyntaxTree) is { } why &&
                    Ops.Argument(inv, "attributes") is { } a && ValueFlow.WhenAll(a.Value, v => v == 0) is not null)
                    ctx.ReportDiagnostic(Diagnostic.Create(Descriptor, inv.Syntax.GetLocation(), $"MemoryAttributes.{inv.TargetMethod.Name}(…, 0)", why,
                        "leaves the guest_memfd page private (or fails with ENOTTY)"));
            });
    }

    // vm.Conversion on every path: directly, or through locals, patterns (`vm.Conversion is { } c`), ternaries and
    // `?? throw` (ValueFlow.Sources); a source that is anything else (`vm.InPlaceConversion ?? vm.Conversion`) is a
    // run-time choice and is not reported.
    private static bool FromProperty(IOperation receiver, IPropertySymbol conversion)
    {
        if (receiver is IPropertyReferenceOperation pr)
            return SymbolEqualityComparer.Default.Equals(pr.Property, conversion);
        if (receiver is not ILocalReferenceOperation || ValueFlow.Sources(receiver) is not { Count: > 0 } sources)
            return false;
        foreach (var src in sources)
            if (src is not IPropertyReferenceOperation p || !SymbolEqualityComparer.Default.Equals(p.Property, conversion))
                return false;
        return true;
    }
}
