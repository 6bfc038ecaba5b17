using System;

namespace Kvm.Generators.Model;

/// <summary>One header: its full path (as the build gave it) and its text. Value-equal so unchanged headers
/// keep the generator's steps cached.</summary>
public sealed record HeaderFile(string Path, string Text);
