using Kvm.Generators.Layout;

namespace Kvm.Cli;

/// <summary>
/// Which architecture a set of <c>--include</c> directories holds. The directory that supplies <c>asm/kvm.h</c>
/// decides: by the Debian multiarch triplet in its path (x86_64-linux-gnu...), else by a declaration only that
/// architecture's <c>asm/kvm.h</c> has. <c>{multiarch}</c> and <c>{arch}</c> in a directory stand for the
/// architecture, as in MSBuild's <c>KvmUapiIncludeRoots</c>; then the architecture is the one asked for.
/// </summary>
internal static class IncludeArchitecture
{
    /// <summary>A declaration, #define or word that only this architecture's asm/kvm.h contains.</summary>
    private static readonly (string Arch, string Marker)[] Markers =
    {
        ("x86_64", "struct kvm_pit_state"), ("arm64", "KVM_ARM_TARGET_"), ("riscv64", "KVM_RISCV_"),
        ("s390x", "struct kvm_s390_"), ("ppc64le", "struct kvm_ppc_"), ("loongarch64", "KVM_LOONGARCH_"),
    };

    public static bool HasPlaceholder(string dir) => dir.Contains("{multiarch}", StringComparison.Ordinal) || dir.Contains("{arch}", StringComparison.Ordinal);

    public static string Expand(string dir, TargetArch arch) => dir.Replace("{multiarch}", arch.Multiarch).Replace("{arch}", arch.Name);

    /// <summary>The architectures to build for: the ones asked for (checked against the headers) or the one the
    /// headers hold. Throws <see cref="UsageException"/> naming the directory when the two disagree or when the
    /// headers do not say.</summary>
    public static List<TargetArch> Resolve(IReadOnlyList<string> includes, IReadOnlyList<TargetArch> asked, IReadOnlyList<TargetArch> placeholderDefault)
    {
        if (includes.Any(HasPlaceholder))
        {
            var archs = asked.Count > 0 ? asked.ToList() : placeholderDefault.ToList();
            foreach (var a in archs) Detect(includes.Select(d => Expand(d, a)).ToList(), a);
            return archs;
        }
        var found = Detect(includes, asked.Count == 1 ? asked[0] : null);
        if (asked.Count > 1) throw new UsageException($"the include directories hold one architecture ({found.Name}); --arch names {asked.Count}");
        return new List<TargetArch> { found };
    }

    private static TargetArch Detect(IReadOnlyList<string> dirs, TargetArch? asked)
    {
        var dir = dirs.FirstOrDefault(d => File.Exists(Path.Combine(d, "asm", "kvm.h")));
        if (dir is null)
        {
            if (asked is not null) return asked; // the entry header's own includes will say what is missing
            throw new UsageException($"cannot tell the architecture: no include directory ({string.Join(", ", dirs)}) has asm/kvm.h; give --arch");
        }
        var full = Path.GetFullPath(dir);
        var byPath = TargetArch.All.Where(a => full.Split('/').Any(part => part == a.Multiarch)).ToList();
        TargetArch? found = byPath.Count == 1 ? byPath[0] : null;
        if (found is null)
        {
            var text = File.ReadAllText(Path.Combine(dir, "asm", "kvm.h"));
            var byText = Markers.Where(m => text.Contains(m.Marker, StringComparison.Ordinal)).Select(m => TargetArch.Parse(m.Arch)!).Distinct().ToList();
            if (byText.Count == 1) found = byText[0];
        }
        if (found is null)
        {
            if (asked is not null) return asked;
            throw new UsageException($"cannot tell which architecture {Path.Combine(dir, "asm", "kvm.h")} is for (its directory names no multiarch triplet such as {string.Join(", ", TargetArch.All.Select(a => a.Multiarch))}); give --arch");
        }
        if (asked is not null && !found.Equals(asked))
            throw new UsageException($"--arch {asked.Name} does not match the headers: {Path.Combine(dir, "asm", "kvm.h")} is {found.Name}'s");
        return found;
    }
}
