namespace Kvm.Generators.Emit;

/// <summary>One generated file: its hint name and its text.</summary>
public sealed record GeneratedSource(string HintName, string Text);

/// <summary>How to emit: the models (one per architecture), the namespace and the visibility of generated types.</summary>
public sealed record EmitOptions(string Namespace, bool Internal);
