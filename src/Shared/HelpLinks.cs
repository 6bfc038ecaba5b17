using System;
using System.Reflection;

namespace Kvm;

/// <summary>Where a diagnostic's help page is linked from (<c>helpLinkUri</c>), shared by the generator's KVM0xxx and the
/// analyzers' KVM1xxx/KVM2xxx descriptors (linked into both projects). The package ships every page under
/// <c>docs/diagnostics/</c>; the link is the page in the repository when the build knew the repository's public URL.
/// That URL is the standard <c>RepositoryUrl</c> assembly metadata, which the .NET SDK writes from the
/// <c>RepositoryUrl</c> property or, with <c>PublishRepositoryUrl</c> (set in Directory.Build.props), from git's
/// <c>origin</c> remote through Source Link: a clone of a published repository gets absolute links with nothing to edit.</summary>
internal static class HelpLinks
{
    /// <summary>The pages' path inside the repository and inside the package: the link when no public URL is known.</summary>
    public const string Relative = "docs/diagnostics/";

    /// <summary>The help-link base for descriptors defined in <paramref name="assembly"/>.</summary>
    public static string BaseFor(Assembly assembly)
    {
        foreach (var a in assembly.GetCustomAttributes(typeof(AssemblyMetadataAttribute), false))
            if (a is AssemblyMetadataAttribute { Key: "RepositoryUrl" } m)
                return BaseFrom(m.Value);
        return Relative;
    }

    /// <summary><c>{url}/blob/HEAD/docs/diagnostics/</c> for an http(s) repository URL (a trailing <c>/</c> or <c>.git</c>
    /// dropped), else <see cref="Relative"/>: an ssh remote or a local path would make a link nobody can open.</summary>
    public static string BaseFrom(string? repositoryUrl)
    {
        if (repositoryUrl is null || repositoryUrl.Trim().Length == 0)
            return Relative;
        var url = repositoryUrl.Trim().TrimEnd('/');
        if (url.EndsWith(".git", StringComparison.OrdinalIgnoreCase))
            url = url.Substring(0, url.Length - ".git".Length);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "https" && uri.Scheme != "http") || uri.Host.Length == 0)
            return Relative;
        return url + "/blob/HEAD/" + Relative;
    }
}
