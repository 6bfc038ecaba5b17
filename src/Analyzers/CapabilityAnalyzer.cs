using System.Collections.Concurrent;
using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>KVM2001: a capability-gated ioctl issued through the raw typed escape hatch (<c>Sys.Ioctl</c> with a
/// <c>KvmIoctls</c> request) in a method that neither checks the capability (raw <c>KVM_CHECK_EXTENSION</c> or
/// <c>KvmCapabilities.Check/Has/CheckMask/CheckRaw</c>) nor holds the SDK's proof object (<c>vm.GuestMemfd</c>,
/// <c>vm.MemoryAttributes</c>).</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CapabilityAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.UncheckedCapability);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (KvmSymbols.TryCreate(start.Compilation) is not { } s || s.Sys is null || s.GatedIoctls.Count == 0)
                return;
            start.RegisterOperationBlockStartAction(block =>
            {
                var gated = new ConcurrentBag<(IOperation Request, string Cap, long Number, string Errno, string Ioctl)>();
                var checkedCaps = new ConcurrentDictionary<long, bool>();
                block.RegisterOperationAction(ctx =>
                {
                    var inv = (IInvocationOperation)ctx.Operation;
                    var m = inv.TargetMethod;
                    if (KvmSymbols.Is(m.ContainingType, s.Sys) && m.Name == "Ioctl" && inv.Arguments.Length >= 2)
                    {
                        var request = Ordered(inv, 1);
                        if (request is null)
                            return;
                        var field = RequestField(request);
                        if (field is null)
                            return;
                        if (SymbolEqualityComparer.Default.Equals(field, s.CheckExtension))
                        {
                            if (Ordered(inv, 2) is { } arg && Constants.Of(arg.Value) is { } cap)
                                checkedCaps[(long)cap] = true;
                        }
                        else if (s.GatedIoctls.TryGetValue(field, out var g))
                        {
                            gated.Add((request.Value, g.Cap, g.Number, g.Errno, field.Name));
                        }
                    }
                    else if (KvmSymbols.Is(m.ContainingType, s.KvmCapabilities) && inv.Arguments.Length == 1 &&
                             Constants.Of(inv.Arguments[0].Value) is { } cap)
                    {
                        checkedCaps[(long)cap] = true;
                    }
                }, OperationKind.Invocation);
                block.RegisterOperationAction(ctx =>
                {
                    var p = ((IPropertyReferenceOperation)ctx.Operation).Property;
                    if (SymbolEqualityComparer.Default.Equals(p, s.VmGuestMemfd))
                        Mark(s, checkedCaps, "KVM_CREATE_GUEST_MEMFD");
                    else if (SymbolEqualityComparer.Default.Equals(p, s.VmMemoryAttributes))
                        Mark(s, checkedCaps, "KVM_SET_MEMORY_ATTRIBUTES");
                }, OperationKind.PropertyReference);
                block.RegisterOperationBlockEndAction(ctx =>
                {
                    foreach (var (request, cap, number, errno, ioctl) in gated)
                        if (!checkedCaps.ContainsKey(number))
                            ctx.ReportDiagnostic(Diagnostic.Create(Descriptors.UncheckedCapability, request.Syntax.GetLocation(), ioctl, cap, errno));
                });
            });
        });
    }

    private static void Mark(KvmSymbols s, ConcurrentDictionary<long, bool> checkedCaps, string ioctl)
    {
        foreach (var kv in s.GatedIoctls)
            if (kv.Key.Name == ioctl)
                checkedCaps[kv.Value.Number] = true;
    }

    private static IArgumentOperation? Ordered(IInvocationOperation inv, int ordinal)
    {
        foreach (var a in inv.Arguments)
            if (a.Parameter?.Ordinal == ordinal)
                return a;
        return null;
    }

    /// <summary><c>KvmIoctls.X</c> or <c>KvmIoctls.X.Value</c>.</summary>
    private static IFieldSymbol? RequestField(IArgumentOperation request)
    {
        var v = Ops.Unwrap(request.Value);
        if (v is IPropertyReferenceOperation { Property.Name: "Value", Instance: { } instance })
            v = Ops.Unwrap(instance);
        return v is IFieldReferenceOperation { Field.IsStatic: true } f ? f.Field : null;
    }
}
