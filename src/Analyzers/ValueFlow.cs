using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>
/// What a value can be where it is used, followed through the method body: constants, locals (each write before the
/// use; a write in a branch that does not also hold the use adds an alternative instead of replacing),
/// <c>a ? b : c</c>, switch expressions, <c>|=</c>/<c>&amp;=</c>/<c>+=</c>…, binary arithmetic on such values, and
/// <c>static readonly</c> fields initialized in the same file. Anything else (parameters, calls, out/ref arguments,
/// writes in lambdas, a write later in a loop around the use) makes the answer unknown, so rules that act on a "must"
/// answer stay precise. Only walked when a rule's trigger fired.
/// </summary>
internal static class ValueFlow
{
    private const int MaxAlternatives = 16;
    private const int MaxDepth = 5;

    /// <summary>Every constant <paramref name="value"/> can have at its use, or null when one of them is unknown.</summary>
    public static HashSet<ulong>? Constants(IOperation? value) => value is null ? null : Values(value, 0);

    /// <summary>A value <paramref name="value"/> can have for which <paramref name="bad"/> holds, when it holds for
    /// every value it can have (so the call fails on every path); else null.</summary>
    public static ulong? WhenAll(IOperation? value, System.Func<ulong, bool> bad)
    {
        if (Constants(value) is not { Count: > 0 } set)
            return null;
        ulong? witness = null;
        foreach (var v in set)
        {
            if (!bad(v))
                return null;
            if (witness is null || v < witness)
                witness = v;
        }
        return witness;
    }

    /// <summary>A value <paramref name="value"/> can have for which <paramref name="bad"/> holds, when every value it
    /// can have is known and one of them is bad (the call fails on the path that passes it); else null.</summary>
    public static ulong? WhenAny(IOperation? value, System.Func<ulong, bool> bad)
    {
        if (Constants(value) is not { } set)
            return null;
        foreach (var v in set)
            if (bad(v))
                return v;
        return null;
    }

    /// <summary>The expressions <paramref name="value"/> can come from (through locals, ternaries, switch arms,
    /// <c>?.</c> and <c>!</c>): each is an operation that is not itself a local read or a choice. Null when a source is
    /// unknown (a compound write, an out argument, a write in a lambda).</summary>
    public static List<IOperation>? Sources(IOperation? value)
    {
        if (value is null)
            return null;
        var list = new List<IOperation>();
        return AddSources(value, 0, list) ? list : null;
    }

    private static HashSet<ulong>? Values(IOperation op, int depth)
    {
        if (Kvm.Analyzers.Constants.Of(op) is { } c)
            return new HashSet<ulong> { c };
        if (depth > MaxDepth)
            return null;
        op = Strip(op);
        if (Kvm.Analyzers.Constants.Of(op) is { } c2)
            return new HashSet<ulong> { c2 };
        switch (op)
        {
            case IConditionalOperation { WhenFalse: { } f } t when t.Type is not null:
                return Union(Values(t.WhenTrue, depth + 1), Values(f, depth + 1));
            case ISwitchExpressionOperation sw:
            {
                HashSet<ulong>? all = new();
                foreach (var arm in sw.Arms)
                    all = Union(all, Values(arm.Value, depth + 1));
                return all;
            }
            case IBinaryOperation b:
                return Combine(Values(b.LeftOperand, depth + 1), Values(b.RightOperand, depth + 1), b.OperatorKind);
            case IFieldReferenceOperation { Field: { IsStatic: true, IsReadOnly: true } field } fr:
                return Initializer(field, fr) is { } init ? Values(init, depth + 1) : null;
            case ILocalReferenceOperation l:
                return LocalValues(l, depth);
            default:
                return null;
        }
    }

    private static HashSet<ulong>? LocalValues(ILocalReferenceOperation use, int depth)
    {
        if (Definitions(use.Local, use) is not { } defs || defs.Count == 0)
            return null;
        HashSet<ulong>? state = null;
        var first = true;
        foreach (var d in defs)
        {
            var v = Values(d.Value, depth + 1);
            HashSet<ulong>? next;
            if (d.Compound is { } kind)
                next = first ? null : Combine(state, v, kind);
            else
                next = v;
            if (first || d.Definite)
                state = next;
            else
                state = Union(state, next);
            first = false;
            if (state is null)
                return null;
        }
        return state;
    }

    private static bool AddSources(IOperation op, int depth, List<IOperation> into)
    {
        if (depth > MaxDepth || into.Count > MaxAlternatives)
            return false;
        op = Strip(op);
        switch (op)
        {
            case IConditionalOperation { WhenFalse: { } f } t when t.Type is not null:
                return AddSources(t.WhenTrue, depth + 1, into) && AddSources(f, depth + 1, into);
            case ISwitchExpressionOperation sw:
                foreach (var arm in sw.Arms)
                    if (!AddSources(arm.Value, depth + 1, into))
                        return false;
                return true;
            case IConditionalAccessOperation ca:
                return AddSources(ca.WhenNotNull, depth + 1, into);
            case ICoalesceOperation co when Ops.Unwrap(co.WhenNull) is IThrowOperation:
                return AddSources(co.Value, depth + 1, into); // `x ?? throw …`: only x gets past
            case IFieldReferenceOperation { Field: { IsStatic: true, IsReadOnly: true } field } fr when Initializer(field, fr) is { } init:
                return AddSources(init, depth + 1, into);
            case ILocalReferenceOperation l:
            {
                if (Definitions(l.Local, l) is not { } defs || defs.Count == 0)
                    return false;
                // The definite write nearest the use replaces everything before it.
                var start = 0;
                for (var i = 0; i < defs.Count; i++)
                {
                    if (defs[i].Compound is not null)
                        return false;
                    if (defs[i].Definite || i == 0)
                        start = i;
                }
                for (var i = start; i < defs.Count; i++)
                    if (!AddSources(defs[i].Value, depth + 1, into))
                        return false;
                return true;
            }
            default:
                into.Add(op);
                return true;
        }
    }

    /// <summary>Conversions, parentheses and the null-forgiving <c>!</c> (which is no operation of its own).</summary>
    private static IOperation Strip(IOperation op) => Ops.Unwrap(op);

    private readonly struct Def
    {
        public Def(IOperation node, IOperation value, BinaryOperatorKind? compound, bool definite)
        {
            Node = node;
            Value = value;
            Compound = compound;
            Definite = definite;
        }

        public IOperation Node { get; }
        public IOperation Value { get; }
        public BinaryOperatorKind? Compound { get; }
        public bool Definite { get; }
    }

    /// <summary>The writes of <paramref name="local"/> that reach <paramref name="use"/>, in source order; null when
    /// one is of a kind not followed.</summary>
    private static List<Def>? Definitions(ILocalSymbol local, IOperation use)
    {
        var root = Ops.Root(use);
        var useAt = use.Syntax.SpanStart;
        var defs = new List<Def>();
        foreach (var op in LocalIndex.Of(root, local))
        {
            IOperation? value = null;
            BinaryOperatorKind? compound = null;
            switch (op)
            {
                case IVariableDeclaratorOperation d when SymbolEqualityComparer.Default.Equals(d.Symbol, local):
                    value = d.GetVariableInitializer()?.Value;
                    if (value is null)
                        continue;
                    break;
                case ISimpleAssignmentOperation a when IsLocal(a.Target, local):
                    value = a.Value;
                    break;
                case ICompoundAssignmentOperation c when IsLocal(c.Target, local):
                    value = c.Value;
                    compound = c.OperatorKind;
                    break;
                case IIncrementOrDecrementOperation i when IsLocal(i.Target, local):
                    return null;
                case IDeclarationPatternOperation dp when SymbolEqualityComparer.Default.Equals(dp.DeclaredSymbol, local):
                    if (dp.Parent is not IIsPatternOperation ip1)
                        return null;
                    value = ip1.Value;
                    break;
                case IRecursivePatternOperation rp when SymbolEqualityComparer.Default.Equals(rp.DeclaredSymbol, local):
                    if (rp.Parent is not IIsPatternOperation ip2)
                        return null;
                    value = ip2.Value;
                    break;
                case IArgumentOperation arg when arg.Parameter?.RefKind is RefKind.Out or RefKind.Ref &&
                                                 Ops.Unwrap(arg.Value) is IDeclarationExpressionOperation or ILocalReferenceOperation &&
                                                 ReferencesLocal(arg.Value, local):
                    return null;
                case IDeconstructionAssignmentOperation dc when ReferencesLocal(dc.Target, local):
                    return null;
                default:
                    continue;
            }
            if (!SameBody(op, use))
                return null;
            var at = op.Syntax.SpanStart;
            if (Contains(op, use))
                continue; // `x = f(x)`: the use reads the write before it
            if (at > useAt)
            {
                if (InLoopWith(op, use))
                    return null; // the write reaches the use on the next iteration
                continue;
            }
            defs.Add(new Def(op, value, compound, Dominates(op, use)));
        }
        defs.Sort((x, y) => x.Node.Syntax.SpanStart.CompareTo(y.Node.Syntax.SpanStart));
        return defs;
    }

    private static bool IsLocal(IOperation target, ILocalSymbol local) =>
        Ops.Unwrap(target) is ILocalReferenceOperation t && SymbolEqualityComparer.Default.Equals(t.Local, local);

    private static bool ReferencesLocal(IOperation op, ILocalSymbol local)
    {
        if (op is ILocalReferenceOperation self && SymbolEqualityComparer.Default.Equals(self.Local, local))
            return true;
        foreach (var d in op.Descendants())
            if (d is ILocalReferenceOperation r && SymbolEqualityComparer.Default.Equals(r.Local, local))
                return true;
        return false;
    }

    /// <summary>True when <paramref name="def"/> runs on every path that reaches <paramref name="use"/> (as far as
    /// the tree shows): no branch, loop, catch, lambda or short-circuit between them that the use is not also in.</summary>
    public static bool Dominates(IOperation def, IOperation use)
    {
        for (IOperation? child = def, p = def.Parent; p is not null; child = p, p = p.Parent)
        {
            if (Contains(p, use))
            {
                if (p is IConditionalOperation c && !ReferenceEquals(child, c.Condition) && !Contains(child, use))
                    return false;
                if (p is IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr } b &&
                    ReferenceEquals(child, b.RightOperand) && !Contains(child, use))
                    return false;
                if (p is ICoalesceOperation co && ReferenceEquals(child, co.WhenNull) && !Contains(child, use))
                    return false;
                if (p is ITryOperation t && !ReferenceEquals(child, t.Body) && !Contains(child, use))
                    return false;
                return true;
            }
            if (p is IConditionalOperation c2 && !ReferenceEquals(child, c2.Condition))
                return false;
            if (p is ILoopOperation or ISwitchCaseOperation or ICatchClauseOperation or IAnonymousFunctionOperation or
                ILocalFunctionOperation or ISwitchExpressionArmOperation or IConditionalAccessOperation)
                return false;
            if (p is IBinaryOperation { OperatorKind: BinaryOperatorKind.ConditionalAnd or BinaryOperatorKind.ConditionalOr } b2 &&
                ReferenceEquals(child, b2.RightOperand))
                return false;
            if (p is ICoalesceOperation co2 && ReferenceEquals(child, co2.WhenNull))
                return false;
        }
        return true;
    }

    private static bool InLoopWith(IOperation def, IOperation use)
    {
        for (var p = use.Parent; p is not null; p = p.Parent)
            if (p is ILoopOperation && Contains(p, def))
                return true;
        return false;
    }

    /// <summary>Both in the same lambda / local function (or both outside any).</summary>
    private static bool SameBody(IOperation a, IOperation b) => ReferenceEquals(Body(a), Body(b));

    private static IOperation? Body(IOperation op)
    {
        for (var p = op.Parent; p is not null; p = p.Parent)
            if (p is IAnonymousFunctionOperation or ILocalFunctionOperation)
                return p;
        return null;
    }

    public static bool Contains(IOperation root, IOperation target)
    {
        for (var p = target; p is not null; p = p.Parent)
            if (ReferenceEquals(p, root))
                return true;
        return false;
    }

    /// <summary>The initializer of a <c>static readonly</c> field declared in the same file as the reference.</summary>
    private static IOperation? Initializer(IFieldSymbol field, IOperation reference)
    {
        if (reference.SemanticModel is not { } model)
            return null;
        foreach (var r in field.DeclaringSyntaxReferences)
            if (r.SyntaxTree == model.SyntaxTree && r.GetSyntax() is VariableDeclaratorSyntax { Initializer.Value: { } v })
                return model.GetOperation(v);
        return null;
    }

    private static HashSet<ulong>? Union(HashSet<ulong>? a, HashSet<ulong>? b)
    {
        if (a is null || b is null)
            return null;
        var u = new HashSet<ulong>(a);
        u.UnionWith(b);
        return u.Count > MaxAlternatives ? null : u;
    }

    private static HashSet<ulong>? Combine(HashSet<ulong>? a, HashSet<ulong>? b, BinaryOperatorKind kind)
    {
        if (a is null || b is null || a.Count * b.Count > MaxAlternatives)
            return null;
        var r = new HashSet<ulong>();
        foreach (var x in a)
            foreach (var y in b)
            {
                ulong? v = kind switch
                {
                    BinaryOperatorKind.Or => x | y,
                    BinaryOperatorKind.And => x & y,
                    BinaryOperatorKind.ExclusiveOr => x ^ y,
                    BinaryOperatorKind.Add => unchecked(x + y),
                    BinaryOperatorKind.Subtract => unchecked(x - y),
                    BinaryOperatorKind.Multiply => unchecked(x * y),
                    BinaryOperatorKind.LeftShift => y < 64 ? x << (int)y : null,
                    BinaryOperatorKind.RightShift => y < 64 ? x >> (int)y : null,
                    _ => null,
                };
                if (v is null)
                    return null;
                r.Add(v.Value);
            }
        return r;
    }
}
