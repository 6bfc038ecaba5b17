using System.Reflection;
using Kvm.Analyzers.Tests.Support;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Kvm.Analyzers.Tests;

public class ExperimentalTests
{
    private static IReadOnlyList<Diagnostic> Compile(string body)
    {
        var tree = CSharpSyntaxTree.ParseText(Verify.Usings + "class C { object? M(VmFd vm) => " + body + "; }");
        var c = CSharpCompilation.Create("t", [tree], Verify.References, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        return c.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
    }

    [Theory]
    [InlineData("vm.InPlaceConversionV8", "KVMEXP001", "[PATCH v8 00/46] guest_memfd: In-place conversion support (2026-06-18)")]
    [InlineData("vm.InPlaceConversionRfcV2", "KVMEXP002", "[RFC PATCH v2 00/51] 1G page support for guest_memfd (2025-05-14)")]
    public void Proposed_ABI_without_opt_in_is_an_error_that_names_the_posting_and_links_its_page(string use, string id, string posting)
    {
        var d = Assert.Single(Compile(use));
        Assert.Equal(id, d.Id);
        Assert.Contains(posting, d.GetMessage());
        Assert.Equal($"docs/diagnostics/{id}.md", d.Descriptor.HelpLinkUri);
    }

    [Fact]
    public void Opting_in_compiles() =>
        Assert.Empty(Compile("vm.InPlaceConversionV8 is null ? null : (object?)vm.InPlaceConversionRfcV2").Where(d => !d.Id.StartsWith("KVMEXP"))
            .Concat(CompileOptedIn()));

    private static IEnumerable<Diagnostic> CompileOptedIn()
    {
        var tree = CSharpSyntaxTree.ParseText("#pragma warning disable KVMEXP001, KVMEXP002\n" + Verify.Usings +
            "class C { object? M(VmFd vm) => vm.InPlaceConversionV8 ?? vm.InPlaceConversionRfcV2; }");
        return CSharpCompilation.Create("t", [tree], Verify.References, new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary))
            .GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error);
    }
}

public class DocsTests
{
    private static string Root
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Sdk.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Sdk.sln not found");
        }
    }

    public static TheoryData<string> Ids()
    {
        var data = new TheoryData<string>();
        foreach (var t in typeof(Descriptors).Assembly.GetTypes().Where(t => !t.IsAbstract && typeof(DiagnosticAnalyzer).IsAssignableFrom(t)))
            foreach (var d in ((DiagnosticAnalyzer)Activator.CreateInstance(t)!).SupportedDiagnostics)
                data.Add(d.Id);
        data.Add("KVMEXP001");
        data.Add("KVMEXP002");
        return data;
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void Every_id_has_a_page_with_errno_example_and_fix(string id)
    {
        var page = Path.Combine(Root, "docs", "diagnostics", id + ".md");
        Assert.True(File.Exists(page), page + " is missing");
        var text = File.ReadAllText(page);
        Assert.Contains("# " + id, text);
        Assert.Contains("## Example", text);
        Assert.Contains("## Fix", text);
    }

    [Fact]
    public void Help_links_are_absolute_exactly_when_the_build_knew_a_public_repository_url()
    {
        var url = typeof(Descriptors).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .SingleOrDefault(a => a.Key == "RepositoryUrl")?.Value;
        Assert.Equal(HelpLinks.BaseFrom(url), Descriptors.HelpBase);
        Assert.Equal(Descriptors.HelpBase, HelpLinks.BaseFor(typeof(Descriptors).Assembly));
    }

    [Theory]
    [InlineData(null, "docs/diagnostics/")]
    [InlineData("", "docs/diagnostics/")]
    [InlineData("https://example.org/kvm/kvm-sdk", "https://example.org/kvm/kvm-sdk/blob/HEAD/docs/diagnostics/")]
    [InlineData(" https://example.org/kvm/kvm-sdk.git/ ", "https://example.org/kvm/kvm-sdk/blob/HEAD/docs/diagnostics/")]
    [InlineData("http://git.example.org/kvm-sdk.GIT", "http://git.example.org/kvm-sdk/blob/HEAD/docs/diagnostics/")]
    [InlineData("git@example.org:kvm/kvm-sdk.git", "docs/diagnostics/")]
    [InlineData("ssh://git@example.org/kvm/kvm-sdk.git", "docs/diagnostics/")]
    [InlineData("/srv/git/kvm-sdk", "docs/diagnostics/")]
    [InlineData("file:///srv/git/kvm-sdk", "docs/diagnostics/")]
    public void A_repository_url_becomes_a_help_link_base_only_when_a_browser_can_open_it(string? url, string expected) =>
        Assert.Equal(expected, HelpLinks.BaseFrom(url));

    [Fact]
    public void Every_descriptor_links_its_page()
    {
        foreach (var f in typeof(Descriptors).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.FieldType == typeof(DiagnosticDescriptor)))
        {
            var d = (DiagnosticDescriptor)f.GetValue(null)!;
            Assert.Equal($"{Descriptors.HelpBase}{d.Id}.md", d.HelpLinkUri);
            Assert.EndsWith($"docs/diagnostics/{d.Id}.md", d.HelpLinkUri);
        }
    }
}
