using System.Reflection;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;

namespace Kvm.Cli;

/// <summary>
/// Where a command's headers come from: include directories on disk (read lazily, like the C compiler's -I),
/// or a vendored version embedded in the tool ("7.3.4", optionally with proposed overlays: "7.3.4+inplace-conversion-v8").
/// </summary>
internal sealed class HeaderSource
{
    private const string ResourcePrefix = "uapi/";

    private HeaderSource(string description, List<HeaderFile> files, Func<TargetArch, List<string>> roots, List<string> entries, bool fromDisk)
    {
        Description = description; Files = files; RootsFor = roots; Entries = entries; FromDisk = fromDisk;
    }

    public string Description { get; }
    public List<HeaderFile> Files { get; }
    public Func<TargetArch, List<string>> RootsFor { get; }
    public List<string> Entries { get; }
    public bool FromDisk { get; }

    public static HeaderSource FromIncludeDirs(IReadOnlyList<string> dirs, IReadOnlyList<string> entries) =>
        new(string.Join(" ", dirs.Select(d => "-I" + d)), new List<HeaderFile>(),
            arch => dirs.Select(d => Path.GetFullPath(IncludeArchitecture.Expand(d, arch))).ToList(), entries.Count > 0 ? entries.ToList() : new List<string> { "linux/kvm.h" }, fromDisk: true);

    public static IReadOnlyList<string> VendoredVersions() =>
        EmbeddedNames().Select(n => n.Substring(ResourcePrefix.Length).Split('/')[0]).Where(v => v != "proposed").Distinct().OrderBy(v => v).ToList();

    public static IReadOnlyList<string> Overlays() =>
        EmbeddedNames().Where(n => n.StartsWith(ResourcePrefix + "proposed/", StringComparison.Ordinal))
            .Select(n => n.Split('/')[2]).Distinct().OrderBy(v => v).ToList();

    /// <summary>"7.3.4" or "7.3.4+inplace-conversion-v8" (overlays after '+').</summary>
    public static HeaderSource? FromVendored(string spec, out string? error) => FromVendored(spec, Array.Empty<string>(), out error);

    /// <param name="entries">Entry headers instead of the default (linux/kvm.h, or linux/kvm_proposed.h with an overlay).</param>
    public static HeaderSource? FromVendored(string spec, IReadOnlyList<string> entries, out string? error)
    {
        var parts = spec.Split('+');
        string version = parts[0];
        error = null;
        if (!VendoredVersions().Contains(version))
        {
            error = $"no vendored headers named '{version}' (have: {string.Join(", ", VendoredVersions())})";
            return null;
        }
        foreach (var o in parts.Skip(1))
            if (!Overlays().Contains(o))
            {
                error = $"no proposed overlay named '{o}' (have: {string.Join(", ", Overlays())})";
                return null;
            }
        var asm = typeof(HeaderSource).Assembly;
        var files = new List<HeaderFile>();
        foreach (var name in EmbeddedNames())
        {
            var rel = name.Substring(ResourcePrefix.Length);
            bool wanted = rel.StartsWith(version + "/", StringComparison.Ordinal) || parts.Skip(1).Any(o => rel.StartsWith($"proposed/{o}/", StringComparison.Ordinal));
            if (!wanted) continue;
            using var stream = asm.GetManifestResourceStream(name)!;
            using var reader = new StreamReader(stream);
            files.Add(new HeaderFile("/uapi-headers/" + rel, reader.ReadToEnd()));
        }
        var overlays = parts.Skip(1).ToList();
        return new HeaderSource(spec, files,
            arch => overlays.Select(o => $"/uapi-headers/proposed/{o}").Concat(new[] { $"/uapi-headers/{version}/{arch.Multiarch}", $"/uapi-headers/{version}" }).ToList(),
            entries.Count > 0 ? entries.ToList() : overlays.Count > 0 ? new List<string> { "linux/kvm_proposed.h" } : new List<string> { "linux/kvm.h" }, fromDisk: false);
    }

    private static IEnumerable<string> EmbeddedNames() =>
        typeof(HeaderSource).Assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal));

    /// <param name="allowUnread">KVM0003/KVM0005 as warnings (<c>--unread warning</c>) instead of errors.</param>
    public AbiModel Build(TargetArch arch, string? profile = null, bool allowUnread = false) =>
        AbiBuilder.Build(Files, new AbiOptions(arch.Name, RootsFor(arch).ToEquatableArray(), Entries.ToEquatableArray(), profile ?? Description) { AllowUnreadDeclarations = allowUnread },
            FromDisk ? ReadIfExists : null);

    private static string? ReadIfExists(string path) => File.Exists(path) ? File.ReadAllText(path) : null;
}
