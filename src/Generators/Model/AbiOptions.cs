using System;

namespace Kvm.Generators.Model;

/// <summary>What to build a model from: the architecture, the include roots in search order (like -I), the entry
/// headers (include names; an overlay's entry includes the base <c>linux/kvm.h</c> itself) and a profile name
/// for the provenance stamp.</summary>
public sealed record AbiOptions(string Arch, EquatableArray<string> IncludeRoots, EquatableArray<string> Entries, string Profile)
{
    /// <summary>Report a declaration the parser cannot read (KVM0003) or lay out (KVM0005) as a warning instead of
    /// an error; the declaration is still left out. The CLI's <c>--allow-unread</c>, MSBuild's
    /// <c>KvmUapiAllowUnreadDeclarations</c>.</summary>
    public bool AllowUnreadDeclarations { get; init; }
}
