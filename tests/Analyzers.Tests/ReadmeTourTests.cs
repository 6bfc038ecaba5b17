using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

/// <summary>The README's five-minute tour is a program a newcomer pastes: it must compile against the real Kvm.Sdk.dll
/// exactly as written (it once lacked its guest code and the real-mode entry, and did nothing).</summary>
public class ReadmeTourTests
{
    [Fact]
    public void TheTourCompilesAsWritten()
    {
        var tour = CSharpBlockAfter(ReadReadme(), "## A five-minute tour");
        // As in `dotnet new console`, whose ImplicitUsings bring these in.
        var implicitUsings = CSharpSyntaxTree.ParseText(
            "global using System; global using System.IO; global using System.Linq; global using System.Collections.Generic; global using System.Threading.Tasks;");
        var compilation = CSharpCompilation.Create("tour", [implicitUsings, CSharpSyntaxTree.ParseText(tour)], Verify.References,
            new CSharpCompilationOptions(OutputKind.ConsoleApplication));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToArray();
        Assert.True(errors.Length == 0, string.Join(Environment.NewLine, errors));
        Assert.Contains("EnterRealMode()", tour);   // without it the vCPU starts at the reset vector, outside the code
    }

    private static string ReadReadme()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var readme = Path.Combine(dir.FullName, "README.md");
            if (File.Exists(Path.Combine(dir.FullName, "Sdk.sln")) && File.Exists(readme))
                return File.ReadAllText(readme);
        }
        throw new FileNotFoundException("README.md next to Sdk.sln, above the test's directory");
    }

    private static string CSharpBlockAfter(string markdown, string heading)
    {
        var at = markdown.IndexOf(heading, StringComparison.Ordinal);
        Assert.True(at >= 0, $"README has no '{heading}'");
        var start = markdown.IndexOf("```csharp\n", at, StringComparison.Ordinal) + "```csharp\n".Length;
        var end = markdown.IndexOf("```", start, StringComparison.Ordinal);
        return markdown[start..end];
    }
}
