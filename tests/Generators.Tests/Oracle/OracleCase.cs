using Kvm.Generators.Layout;
using Kvm.Generators.Model;

namespace Kvm.Generators.Tests.Oracle;

/// <summary>
/// One oracle case: a vendored header version (optionally with a proposed overlay on top) for one architecture,
/// with the include roots in the order both the generator and the C compiler search them.
/// </summary>
public sealed record OracleCase(string Version, string Arch, string? Overlay)
{
    public TargetArch Target => TargetArch.Parse(Arch) ?? throw new ArgumentException($"unknown arch {Arch}");

    public override string ToString() => Overlay is null ? $"{Version} {Arch}" : $"{Version}+{Overlay} {Arch}";

    /// <summary>-I roots in search order: the overlay dir, then the version's multiarch dir, then the version dir.</summary>
    public IReadOnlyList<string> IncludeRoots(string repoRoot)
    {
        var headers = Path.Combine(repoRoot, "uapi-headers");
        var roots = new List<string>();
        if (Overlay is not null) roots.Add(Path.Combine(headers, "proposed", Overlay));
        roots.Add(Path.Combine(headers, Version, Target.Multiarch));
        roots.Add(Path.Combine(headers, Version));
        return roots;
    }

    public string Entry => Overlay is null ? "linux/kvm.h" : "linux/kvm_proposed.h";

    /// <summary>The files whose object-like macros form the model's constants: linux/kvm.h, asm/kvm.h and the
    /// overlay's entry.</summary>
    public IReadOnlyList<string> KvmFiles(string repoRoot)
    {
        var headers = Path.Combine(repoRoot, "uapi-headers");
        var files = new List<string>
        {
            Path.Combine(headers, Version, "linux", "kvm.h"),
            Path.Combine(headers, Version, Target.Multiarch, "asm", "kvm.h"),
        };
        if (Overlay is not null) files.Add(Path.Combine(headers, "proposed", Overlay, "linux", "kvm_proposed.h"));
        return files;
    }

    /// <summary>The generator's model, built from the files on disk exactly as the CLI does for -I directories.</summary>
    public AbiModel BuildModel(string repoRoot) =>
        AbiBuilder.Build(Array.Empty<HeaderFile>(),
            new AbiOptions(Target.Name, IncludeRoots(repoRoot).ToEquatableArray(), new[] { Entry }.ToEquatableArray(), ToString()),
            path => File.Exists(path) ? File.ReadAllText(path) : null);

    /// <summary>Every vendored version × every architecture it carries, and every overlay on its base × the same.</summary>
    public static IEnumerable<OracleCase> All()
    {
        var headers = Path.Combine(RepoRoot.Path, "uapi-headers");
        var versions = Directory.GetDirectories(headers)
            .Where(d => File.Exists(Path.Combine(d, "linux", "kvm.h")))
            .Select(Path.GetFileName).OfType<string>().OrderBy(v => v, StringComparer.Ordinal).ToList();
        var proposed = Path.Combine(headers, "proposed");
        var overlays = Directory.Exists(proposed)
            ? Directory.GetDirectories(proposed).Where(d => File.Exists(Path.Combine(d, "BASE")))
                .Select(d => (Name: Path.GetFileName(d), Base: File.ReadAllText(Path.Combine(d, "BASE")).Trim()))
                .OrderBy(o => o.Name, StringComparer.Ordinal).ToList()
            : new List<(string Name, string Base)>();
        // An architecture a version does not carry (uapi-headers/<v>/PROVENANCE says 'absent') has no case there.
        bool Has(string v, TargetArch a) => File.Exists(Path.Combine(headers, v, a.Multiarch, "asm", "kvm.h"));
        foreach (var arch in TargetArch.All)
        {
            foreach (var v in versions.Where(v => Has(v, arch))) yield return new OracleCase(v, arch.Name, null);
            foreach (var (name, baseVersion) in overlays.Where(o => Has(o.Base, arch))) yield return new OracleCase(baseVersion, arch.Name, name);
        }
    }

    public static OracleCase Parse(string id)
    {
        var parts = id.Split(' ');
        var vo = parts[0].Split('+');
        return new OracleCase(vo[0], parts[1], vo.Length > 1 ? vo[1] : null);
    }
}

internal static class RepoRoot
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Sdk.sln"))) return dir.FullName;
        throw new InvalidOperationException($"no Sdk.sln above {AppContext.BaseDirectory}: cannot find the repository root");
    });

    public static string Path => Root.Value;
}
