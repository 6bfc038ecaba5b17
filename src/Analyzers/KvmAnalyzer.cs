using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Kvm.Analyzers;

/// <summary>The one analyzer the package ships: every <see cref="KvmRule"/> behind a single invocation callback and a
/// single field-assignment callback, dispatched by name. Does nothing in a compilation without Kvm.Sdk.</summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class KvmAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The rules, in diagnostic-id order.</summary>
    public static ImmutableArray<KvmRule> Rules { get; } = ImmutableArray.Create<KvmRule>(
        new MemoryAttributesRule(), new AlignmentRule(), new FlagsRule(), new HandleLifetimeRule(), new OrderRule(),
        new ResultRule(), new CapabilityScopeRule(), new GuestMemfdStateRule(), new RawStructRule(), new CapabilityRule(),
        new VmLevelConversionRule(), new Arm64GmemMmapRule());

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } =
        Rules.SelectMany(r => r.SupportedDiagnostics).ToImmutableArray();

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (KvmSymbols.TryCreate(start.Compilation) is not { } s)
                return;
            var registry = new RuleRegistry();
            foreach (var rule in Rules)
                rule.Start(s, registry);
            if (registry.IsEmpty)
                return;
            start.RegisterOperationAction(registry.Invocation, OperationKind.Invocation);
            if (registry.HasFieldAssignments)
                start.RegisterOperationAction(registry.Assignment, OperationKind.SimpleAssignment);
        });
    }
}
