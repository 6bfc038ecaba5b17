using System;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

internal static class Constants
{
    /// <summary>An integral or enum constant as its 64-bit pattern (negative values sign-extended), else null.</summary>
    public static ulong? ToUInt64(object? value) => value switch
    {
        byte v => v,
        sbyte v => (ulong)v,
        short v => (ulong)v,
        ushort v => v,
        int v => (ulong)v,
        uint v => v,
        long v => (ulong)v,
        ulong v => v,
        char v => v,
        _ => null,
    };

    public static bool IsNull(IOperation op) => op.ConstantValue is { HasValue: true, Value: null };

    public static ulong? Of(IOperation? op) =>
        op is { ConstantValue: { HasValue: true } c } ? ToUInt64(c.Value) : null;
}

internal static class Ops
{
    public static IOperation Unwrap(IOperation op)
    {
        while (true)
        {
            switch (op)
            {
                case IConversionOperation c:
                    op = c.Operand;
                    break;
                case IParenthesizedOperation p:
                    op = p.Operand;
                    break;
                default:
                    return op;
            }
        }
    }

    /// <summary>Walks up through conversions and parentheses.</summary>
    public static IOperation? ParentSkippingConversions(IOperation op)
    {
        var p = op.Parent;
        while (p is IConversionOperation or IParenthesizedOperation)
            p = p.Parent;
        return p;
    }

    /// <summary>The local, parameter or field an expression reads (through conversions, <c>!</c> and parentheses).</summary>
    public static ISymbol? ReferencedSymbol(IOperation? op)
    {
        if (op is null)
            return null;
        return Unwrap(op) switch
        {
            ILocalReferenceOperation l => l.Local,
            IParameterReferenceOperation p => p.Parameter,
            IFieldReferenceOperation { Instance: null or IInstanceReferenceOperation } f => f.Field,
            IPropertyReferenceOperation { Instance: null or IInstanceReferenceOperation, Property.IsIndexer: false } pr => pr.Property,
            _ => null,
        };
    }

    /// <summary>The receiver of an instance invocation, looking through <c>a?.M()</c>.</summary>
    public static IOperation? Receiver(IInvocationOperation inv)
    {
        if (inv.Instance is IConditionalAccessInstanceOperation)
        {
            for (var p = inv.Parent; p is not null; p = p.Parent)
                if (p is IConditionalAccessOperation ca)
                    return ca.Operation;
        }
        return inv.Instance;
    }

    /// <summary>The root of the operation tree <paramref name="op"/> belongs to: the method (or accessor, lambda's
    /// containing member, field initializer) body. Rules that need a second fact from the same method start from a
    /// rare trigger operation and walk only this tree, so methods that do not use the SDK cost one callback.</summary>
    public static IOperation Root(IOperation op)
    {
        while (op.Parent is { } p)
            op = p;
        return op;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IOperation, IOperation[]> Flattened = new();

    /// <summary>Every operation under <paramref name="root"/> (a method body from <see cref="Root"/>), flattened once and
    /// shared by every rule and every trigger in that body: the rules walk a body several times per trigger, and
    /// <c>Descendants()</c> allocates an enumerator stack each time.</summary>
    public static IOperation[] All(IOperation root) =>
        Flattened.GetValue(root, r => System.Linq.Enumerable.ToArray(r.Descendants()));

    public static IArgumentOperation? Argument(IInvocationOperation inv, string parameterName) =>
        FirstArgument(inv, (a, name) => a.Parameter?.Name == name, parameterName);

    /// <summary>The argument bound to the parameter at <paramref name="ordinal"/>, whatever order the call wrote.</summary>
    public static IArgumentOperation? Argument(IInvocationOperation inv, int ordinal) =>
        FirstArgument(inv, (a, n) => a.Parameter?.Ordinal == n, ordinal);

    private static IArgumentOperation? FirstArgument<T>(IInvocationOperation inv, Func<IArgumentOperation, T, bool> match, T key)
    {
        foreach (var a in inv.Arguments)
            if (match(a, key))
                return a;
        return null;
    }

    public static bool IsExplicit(IArgumentOperation a) => a.ArgumentKind != ArgumentKind.DefaultValue && !a.IsImplicit;
}

/// <summary>The project's target ABI as the analyzers see it (MSBuild properties made compiler-visible by
/// build/Kvm.Sdk.Analyzers.targets).</summary>
internal static class TargetAbi
{
    /// <summary>Why in-place conversion is known to be on for this tree, or null.
    /// <c>build_property.KvmInPlaceConversion</c> (true/false) wins; otherwise a <c>KvmUapiProfile</c> naming the
    /// <c>inplace-conversion</c> overlay means the project targets kernels with the v8 knob on.</summary>
    public static string? InPlaceConversionReason(AnalyzerOptions options, SyntaxTree tree)
    {
        var o = options.AnalyzerConfigOptionsProvider.GetOptions(tree);
        if (o.TryGetValue("build_property.KvmInPlaceConversion", out var flag) && !string.IsNullOrWhiteSpace(flag))
            return string.Equals(flag.Trim(), "true", StringComparison.OrdinalIgnoreCase)
                ? "the project targets in-place guest_memfd conversion (KvmInPlaceConversion=true)"
                : null;
        if (o.TryGetValue("build_property.KvmUapiProfile", out var profile) &&
            profile.IndexOf("inplace-conversion", StringComparison.OrdinalIgnoreCase) >= 0)
            return $"the project's ABI profile '{profile.Trim()}' enables in-place guest_memfd conversion" + OptIn(profile);
        return null;
    }

    // The posting's opt-in, by the overlay the profile names: v7 and earlier turn it on with
    // kvm.vm_memory_attributes=N, v8 with kvm.gmem_in_place_conversion=Y.
    private static string OptIn(string profile)
    {
        var at = profile.LastIndexOf("inplace-conversion-v", StringComparison.OrdinalIgnoreCase);
        if (at < 0)
            return "";
        var digits = new string(profile.Substring(at + "inplace-conversion-v".Length).TakeWhile(char.IsDigit).ToArray());
        if (!int.TryParse(digits, out var v))
            return "";
        return v <= 7 ? " (kernels with kvm.vm_memory_attributes=N)" : v == 8 ? " (kernels with kvm.gmem_in_place_conversion=Y)" : "";
    }
}
