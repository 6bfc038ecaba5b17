using System;
using System.Linq;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Kvm.Generators;

/// <summary>
/// The MSBuild properties that steer the generator (passed as <c>build_property.*</c>): include roots in search
/// order (<c>{multiarch}</c> stands for x86_64-linux-gnu / aarch64-linux-gnu), architectures, entry headers,
/// namespace, profile name and visibility. Value-equal.
/// </summary>
public sealed record GeneratorOptions(
    EquatableArray<string> IncludeRoots,
    EquatableArray<string> Architectures,
    EquatableArray<string> Entries,
    string Namespace,
    string Profile,
    bool Internal)
{
    /// <summary><c>KvmUapiAllowUnreadDeclarations</c>: true reports a declaration the parser cannot read (KVM0003)
    /// or lay out (KVM0005) as a warning instead of an error; the declaration is left out either way.</summary>
    public bool AllowUnreadDeclarations { get; init; }

    public const string DefaultNamespace = "Kvm.Interop.Generated";

    public static GeneratorOptions From(AnalyzerConfigOptions global)
    {
        string Get(string name, string fallback) =>
            global.TryGetValue("build_property." + name, out var v) && !string.IsNullOrWhiteSpace(v) ? v.Trim() : fallback;
        static EquatableArray<string> List(string value) =>
            value.Split(new[] { ';', ',', '|' }, StringSplitOptions.RemoveEmptyEntries).Select(s => s.Trim()).Where(s => s.Length > 0).ToEquatableArray();

        return new GeneratorOptions(
            List(Get("KvmUapiIncludeRoots", "")),
            List(Get("KvmUapiArchitectures", "x86_64;arm64")),
            List(Get("KvmUapiEntries", "linux/kvm.h")),
            Get("KvmUapiNamespace", DefaultNamespace),
            Get("KvmUapiProfile", "custom"),
            string.Equals(Get("KvmUapiVisibility", "public"), "internal", StringComparison.OrdinalIgnoreCase))
        {
            AllowUnreadDeclarations = string.Equals(Get("KvmUapiAllowUnreadDeclarations", "false"), "true", StringComparison.OrdinalIgnoreCase),
        };
    }

    public AbiOptions ForArch(TargetArch arch) =>
        new(arch.Name, IncludeRoots.Select(r => r.Replace("{multiarch}", arch.Multiarch).Replace("{arch}", arch.Name)).ToEquatableArray(), Entries, Profile)
        {
            AllowUnreadDeclarations = AllowUnreadDeclarations,
        };
}
