using System.Collections.Generic;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Kvm.Analyzers;

/// <summary>Facts about a VM, guest_memfd or mapping expression followed back to where it was created in the same
/// method (through <see cref="ValueFlow.Sources"/>): the <c>CreateVm</c> calls and their VM types, the
/// <c>GuestMemfdFeature.Create</c> calls and their flags.</summary>
internal static class VmFacts
{
    public enum TypeClass { Unknown, Private, NoPrivate }

    /// <summary>The SDK calls (named <paramref name="method"/> on <paramref name="type"/>) every source of
    /// <paramref name="expr"/> is; null when a source is anything else.</summary>
    public static List<IInvocationOperation>? Created(IOperation? expr, INamedTypeSymbol? type, params string[] method)
    {
        if (type is null || ValueFlow.Sources(expr) is not { Count: > 0 } sources)
            return null;
        var calls = new List<IInvocationOperation>(sources.Count);
        foreach (var src in sources)
        {
            if (src is not IInvocationOperation inv || !KvmSymbols.Is(inv.TargetMethod.ContainingType, type) ||
                System.Array.IndexOf(method, inv.TargetMethod.Name) < 0)
                return null;
            calls.Add(inv);
        }
        return calls;
    }

    /// <summary>The VM expressions behind a feature expression such as <c>vm.GuestMemfd</c> (or a local holding it).</summary>
    public static List<IOperation>? OwnersOf(IOperation? featureExpr, IPropertySymbol? featureProperty)
    {
        if (featureProperty is null || ValueFlow.Sources(featureExpr) is not { Count: > 0 } sources)
            return null;
        var owners = new List<IOperation>(sources.Count);
        foreach (var src in sources)
        {
            if (src is not IPropertyReferenceOperation { Instance: { } vm } pr || !SymbolEqualityComparer.Default.Equals(pr.Property, featureProperty))
                return null;
            owners.Add(vm);
        }
        return owners;
    }

    /// <summary>Whether every VM <paramref name="vmExpr"/> can be was created with a type of one class, and a name for
    /// it; Unknown when not every creation is visible or the classes differ.</summary>
    public static (TypeClass Class, string Name) TypeOf(KvmSymbols s, IOperation? vmExpr)
    {
        if (Created(vmExpr, s.KvmSystem, "CreateVm") is not { } creates)
            return (TypeClass.Unknown, "");
        (TypeClass, string)? result = null;
        foreach (var create in creates)
        {
            var arg = Ops.Argument(create, "type");
            var one = arg is null || !Ops.IsExplicit(arg)
                ? (TypeClass.NoPrivate, "the default VM type (KVM_X86_DEFAULT_VM / arm64 default)")
                : Classify(s, arg.Value);
            if (one.Item1 == TypeClass.Unknown || result is { } r && r.Item1 != one.Item1)
                return (TypeClass.Unknown, "");
            result ??= one;
        }
        return result ?? (TypeClass.Unknown, "");
    }

    private static (TypeClass, string) Classify(KvmSymbols s, IOperation typeExpr)
    {
        if (ValueFlow.Sources(typeExpr) is not { Count: > 0 } sources)
            return (TypeClass.Unknown, "");
        (TypeClass, string)? result = null;
        foreach (var src in sources)
        {
            var one = ClassifyOne(s, src);
            if (one.Item1 == TypeClass.Unknown || result is { } r && r.Item1 != one.Item1)
                return (TypeClass.Unknown, "");
            result ??= one;
        }
        return result ?? (TypeClass.Unknown, "");
    }

    private static (TypeClass, string) ClassifyOne(KvmSymbols s, IOperation v)
    {
        switch (v)
        {
            case IDefaultValueOperation:
                return (TypeClass.NoPrivate, "the default VM type (KVM_X86_DEFAULT_VM / arm64 default)");
            case IPropertyReferenceOperation { Instance: null } p when KvmSymbols.Is(p.Property.ContainingType, s.VmType):
                return p.Property.Name switch
                {
                    "Default" => (TypeClass.NoPrivate, "VmType.Default (no private memory on either architecture)"),
                    "X86Default" => (TypeClass.NoPrivate, "VmType.X86Default (KVM_X86_DEFAULT_VM)"),
                    "X86Sev" => (TypeClass.NoPrivate, "VmType.X86Sev (KVM_X86_SEV_VM)"),
                    "X86SevEs" => (TypeClass.NoPrivate, "VmType.X86SevEs (KVM_X86_SEV_ES_VM)"),
                    "Arm64Default" => (TypeClass.NoPrivate, "VmType.Arm64Default (arm64)"),
                    "X86SwProtected" => (TypeClass.Private, "VmType.X86SwProtected (KVM_X86_SW_PROTECTED_VM)"),
                    "X86Snp" => (TypeClass.Private, "VmType.X86Snp (KVM_X86_SNP_VM)"),
                    "X86Tdx" => (TypeClass.Private, "VmType.X86Tdx (KVM_X86_TDX_VM)"),
                    _ => (TypeClass.Unknown, ""),
                };
            case IInvocationOperation { Instance: null } i when KvmSymbols.Is(i.TargetMethod.ContainingType, s.VmType):
                if (i.TargetMethod.Name == "Arm64")
                    return (TypeClass.NoPrivate, "an arm64 VM type");
                if (i.TargetMethod.Name == "X86" && i.Arguments.Length == 1 && Constants.Of(i.Arguments[0].Value) is { } x86)
                    return x86 switch
                    {
                        0 => (TypeClass.NoPrivate, "KVM_X86_DEFAULT_VM"),
                        2 => (TypeClass.NoPrivate, "KVM_X86_SEV_VM"),
                        3 => (TypeClass.NoPrivate, "KVM_X86_SEV_ES_VM"),
                        1 => (TypeClass.Private, "KVM_X86_SW_PROTECTED_VM"),
                        4 => (TypeClass.Private, "KVM_X86_SNP_VM"),
                        5 => (TypeClass.Private, "KVM_X86_TDX_VM"),
                        _ => (TypeClass.Unknown, ""),
                    };
                return (TypeClass.Unknown, "");
            default:
                return (TypeClass.Unknown, "");
        }
    }

    /// <summary>Every flags value the guest_memfd(s) behind <paramref name="gmemExpr"/> can have been created with,
    /// or null when a creation or its flags are not known here.</summary>
    public static HashSet<ulong>? GmemFlags(KvmSymbols s, IOperation? gmemExpr)
    {
        if (Created(gmemExpr, s.GuestMemfdFeature, "Create") is not { } creates)
            return null;
        var all = new HashSet<ulong>();
        foreach (var create in creates)
        {
            var flags = Ops.Argument(create, "flags");
            if (flags is null || !Ops.IsExplicit(flags))
            {
                all.Add(0);
                continue;
            }
            if (ValueFlow.Constants(flags.Value) is not { } values)
                return null;
            all.UnionWith(values);
        }
        return all;
    }
}
