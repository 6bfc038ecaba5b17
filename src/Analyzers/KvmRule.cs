using System.Collections.Immutable;

namespace Kvm.Analyzers;

/// <summary>One rule family (KVM1003, KVM2001, …). Rules are not analyzers of their own: <see cref="KvmAnalyzer"/>
/// resolves the SDK's symbols once per compilation, asks every rule for its callbacks, and dispatches each operation
/// by method or field name. One analyzer instead of five saves the compiler's per-analyzer bookkeeping on every
/// invocation in the project, which is most of what the rules cost.</summary>
public abstract class KvmRule
{
    /// <summary>The diagnostics this rule reports.</summary>
    public abstract ImmutableArray<Microsoft.CodeAnalysis.DiagnosticDescriptor> SupportedDiagnostics { get; }

    /// <summary>Registers this compilation's callbacks with <paramref name="registry"/>; registers nothing when the
    /// compilation lacks what the rule looks for.</summary>
    internal abstract void Start(KvmSymbols s, RuleRegistry registry);
}
