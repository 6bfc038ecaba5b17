using Kvm.Generators.Layout;
using Kvm.Generators.Model;

namespace Kvm.Generators.Tests.Support;

/// <summary>Finds the repository and loads its vendored headers the way the SDK's build feeds them.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sdk.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Sdk.sln not found above " + AppContext.BaseDirectory);
    }

    public static string Headers => Path.Combine(Root, "uapi-headers");

    public static string DefaultVersion => File.ReadAllText(Path.Combine(Headers, "DEFAULT")).Trim();

    public static IEnumerable<string> Versions =>
        Directory.GetDirectories(Headers).Select(Path.GetFileName).Where(n => n != "proposed" && File.Exists(Path.Combine(Headers, n!, "PROVENANCE")))!;

    public static List<HeaderFile> Load(string dir) =>
        Directory.GetFiles(dir, "*.h", SearchOption.AllDirectories).Select(f => new HeaderFile(f, File.ReadAllText(f))).ToList();

    public static AbiOptions Options(string version, TargetArch arch, params string[] overlays) =>
        new(arch.Name,
            overlays.Select(o => Path.Combine(Headers, "proposed", o))
                .Concat(new[] { Path.Combine(Headers, version, arch.Multiarch), Path.Combine(Headers, version) }).ToEquatableArray(),
            (overlays.Length > 0 ? new[] { "linux/kvm_proposed.h" } : new[] { "linux/kvm.h" }).ToEquatableArray(),
            version + string.Concat(overlays.Select(o => "+" + o)));

    public static AbiModel Build(string version, TargetArch arch, params string[] overlays)
    {
        var files = Load(Path.Combine(Headers, version)).Concat(overlays.SelectMany(o => Load(Path.Combine(Headers, "proposed", o))));
        return AbiBuilder.Build(files, Options(version, arch, overlays));
    }
}
