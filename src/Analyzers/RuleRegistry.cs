using System;
using System.Collections.Generic;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>A compilation's rule callbacks, keyed by the name that triggers them: the invoked method's name, or the
/// assigned field's name. Most invocations in a project match no key and cost one dictionary lookup.</summary>
internal sealed class RuleRegistry
{
    private readonly Dictionary<string, List<Action<OperationAnalysisContext, IInvocationOperation>>> _invocations =
        new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Action<OperationAnalysisContext, ISimpleAssignmentOperation, IFieldReferenceOperation>>> _fieldAssignments =
        new(StringComparer.Ordinal);

    public bool IsEmpty => _invocations.Count == 0 && _fieldAssignments.Count == 0;

    public bool HasFieldAssignments => _fieldAssignments.Count > 0;

    /// <summary>Calls <paramref name="action"/> for invocations of methods named one of <paramref name="methodNames"/>.</summary>
    public void OnInvocation(IEnumerable<string> methodNames, Action<OperationAnalysisContext, IInvocationOperation> action)
    {
        foreach (var name in methodNames)
            Add(_invocations, name, action);
    }

    /// <summary>Calls <paramref name="action"/> for simple assignments to fields named one of <paramref name="fieldNames"/>.</summary>
    public void OnFieldAssignment(IEnumerable<string> fieldNames,
        Action<OperationAnalysisContext, ISimpleAssignmentOperation, IFieldReferenceOperation> action)
    {
        foreach (var name in fieldNames)
            Add(_fieldAssignments, name, action);
    }

    public void Invocation(OperationAnalysisContext ctx)
    {
        var inv = (IInvocationOperation)ctx.Operation;
        if (!_invocations.TryGetValue(inv.TargetMethod.Name, out var actions))
            return;
        foreach (var a in actions)
            a(ctx, inv);
    }

    public void Assignment(OperationAnalysisContext ctx)
    {
        var assign = (ISimpleAssignmentOperation)ctx.Operation;
        if (assign.Target is not IFieldReferenceOperation f || !_fieldAssignments.TryGetValue(f.Field.Name, out var actions))
            return;
        foreach (var a in actions)
            a(ctx, assign, f);
    }

    private static void Add<T>(Dictionary<string, List<T>> map, string name, T action)
    {
        if (!map.TryGetValue(name, out var list))
            map[name] = list = new List<T>(1);
        list.Add(action);
    }
}
