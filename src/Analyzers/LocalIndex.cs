using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>
/// Per method body: every operation that mentions a local, keyed by the local, in tree order. Built in one pass over
/// <see cref="Ops.All"/> the first time a rule asks about a local of that body, and shared by every later question in
/// it: without it each question (the writes reaching a use, the reads after a creation) walked the whole body, so a
/// method with k SDK calls cost k walks per rule.
/// Listed under a local: its reads and writes (<see cref="ILocalReferenceOperation"/>), its declarator, the simple,
/// compound and increment assignments to it, the <c>is</c> patterns declaring it, and the ref/out arguments and
/// deconstructions that mention it. A rule filters the list exactly as it filtered the whole body.
/// </summary>
internal static class LocalIndex
{
    private static readonly IReadOnlyList<IOperation> None = new IOperation[0];
    private static readonly ConditionalWeakTable<IOperation, Dictionary<ILocalSymbol, List<IOperation>>> Indexes = new();

    /// <summary>The operations of <paramref name="root"/>'s body that mention <paramref name="local"/>, in tree order.</summary>
    public static IReadOnlyList<IOperation> Of(IOperation root, ILocalSymbol local) =>
        Indexes.GetValue(root, Build).TryGetValue(local, out var list) ? list : None;

    private static Dictionary<ILocalSymbol, List<IOperation>> Build(IOperation root)
    {
        var index = new Dictionary<ILocalSymbol, List<IOperation>>(SymbolEqualityComparer.Default);
        foreach (var op in Ops.All(root))
        {
            switch (op)
            {
                case ILocalReferenceOperation r:
                    Add(index, r.Local, r);
                    break;
                case IVariableDeclaratorOperation d:
                    Add(index, d.Symbol, d);
                    break;
                case ISimpleAssignmentOperation a when Ops.Unwrap(a.Target) is ILocalReferenceOperation t:
                    Add(index, t.Local, a);
                    break;
                case ICompoundAssignmentOperation c when Ops.Unwrap(c.Target) is ILocalReferenceOperation t:
                    Add(index, t.Local, c);
                    break;
                case IIncrementOrDecrementOperation i when Ops.Unwrap(i.Target) is ILocalReferenceOperation t:
                    Add(index, t.Local, i);
                    break;
                case IDeclarationPatternOperation { DeclaredSymbol: ILocalSymbol l } dp:
                    Add(index, l, dp);
                    break;
                case IRecursivePatternOperation { DeclaredSymbol: ILocalSymbol l } rp:
                    Add(index, l, rp);
                    break;
                case IArgumentOperation { Parameter.RefKind: RefKind.Out or RefKind.Ref } arg:
                    AddMentions(index, arg.Value, arg);
                    break;
                case IDeconstructionAssignmentOperation dc:
                    AddMentions(index, dc.Target, dc);
                    break;
            }
        }
        return index;
    }

    // Every local read or declared under `scope` (itself included) lists `op` once.
    private static void AddMentions(Dictionary<ILocalSymbol, List<IOperation>> index, IOperation scope, IOperation op)
    {
        if (scope is ILocalReferenceOperation self)
            AddOnce(index, self.Local, op);
        foreach (var d in scope.Descendants())
            if (d is ILocalReferenceOperation r)
                AddOnce(index, r.Local, op);
    }

    private static void AddOnce(Dictionary<ILocalSymbol, List<IOperation>> index, ILocalSymbol local, IOperation op)
    {
        if (!index.TryGetValue(local, out var list) || list.Count == 0 || !ReferenceEquals(list[list.Count - 1], op))
            Add(index, local, op);
    }

    private static void Add(Dictionary<ILocalSymbol, List<IOperation>> index, ILocalSymbol local, IOperation op)
    {
        if (!index.TryGetValue(local, out var list))
            index[local] = list = new List<IOperation>(4);
        list.Add(op);
    }
}
