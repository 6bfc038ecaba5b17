using System;

namespace Kvm.Generators.Model;

public enum HeaderSeverity { Info, Warning, Error }

/// <summary>A problem found in a header, at the header's own file and line (1-based). Value-equal.</summary>
public sealed record HeaderDiagnostic(string Id, HeaderSeverity Severity, string Message, string File, int Line, int Column)
{
    public override string ToString() => $"{File}({Line},{Column}): {Severity.ToString().ToLowerInvariant()} {Id}: {Message}";
}

/// <summary>The KVM0xxx catalogue: generator and header problems. Each id has a page in docs/diagnostics.</summary>
public static class DiagnosticIds
{
    public const string IncludeNotFound = "KVM0001";
    public const string PreprocessorSyntax = "KVM0002";
    public const string DeclarationNotModelled = "KVM0003";
    public const string MacroNotConstant = "KVM0004";
    public const string LayoutNotModelled = "KVM0005";
    public const string OverlayCollision = "KVM0006";
    public const string NoHeaders = "KVM0007";
    public const string InternalError = "KVM0008";
    public const string ErrorDirective = "KVM0009";
    public const string NameAdjusted = "KVM0010";
    public const string LimitExceeded = "KVM0011";
}
