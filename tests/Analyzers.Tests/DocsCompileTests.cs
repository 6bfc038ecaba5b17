using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Kvm.Analyzers.Tests.Support;

namespace Kvm.Analyzers.Tests;

/// <summary>
/// Docs that cannot rot: every <c>```csharp</c> block in README.md, docs/ and the samples' READMEs compiles against the
/// real Kvm.Sdk.dll. A block with top-level statements or type declarations compiles as a program of its own; any
/// other block is a fragment and compiles as a method body whose parameters are the usual names of the docs
/// (<c>kvm</c>, <c>vm</c>, <c>vcpu</c>, <c>slot</c>, <c>gmem</c>, <c>gpa</c>, <c>size</c> …, see <see cref="Context"/>). A page
/// may give one block extra context in HTML comments right above it (invisible when rendered): statements before it,
/// <c>&lt;!-- context: Span&lt;DirtyPage&gt; pages = default; --&gt;</c>, and stand-in types for names that live in a sample,
/// <c>&lt;!-- declarations: sealed class PortBus(object device); --&gt;</c>.
/// A block meant to fail names the error it shows: <c>&lt;!-- does-not-compile: CS8168 --&gt;</c>; the test checks that
/// error is the one it gives. The SDK's experimental-API gates (KVMEXP*) are opt-ins, not compile errors, here.
/// </summary>
public class DocsCompileTests
{
    // Fields, not parameters, so a block may declare its own `vm` (a local may hide a field, not a parameter).
    private const string Context = """
        static KvmSystem kvm = null!; static VmFd vm = null!; static VcpuFd vcpu = null!; static SlotHandle slot = null!;
        static GmemFd gmem = null!; static ulong gpa, size, length, offset; static byte[] guestCode = null!;
        """;

    public static TheoryData<string, int> Blocks()
    {
        var data = new TheoryData<string, int>();
        foreach (var (file, blocks) in AllBlocks())
            for (int i = 0; i < blocks.Count; i++) data.Add(file, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Blocks))]
    public void EveryCSharpBlockCompiles(string file, int index)
    {
        var block = AllBlocks().Single(b => b.File == file).Blocks[index];
        var source = IsProgram(block.Code) ? block.Code : AsFragment(block);
        var compilation = CSharpCompilation.Create("doc", [ImplicitUsings(), CSharpSyntaxTree.ParseText(source)], Verify.References,
            new CSharpCompilationOptions(IsProgram(block.Code) && IsTopLevel(block.Code) ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary,
                allowUnsafe: true, specificDiagnosticOptions: Experimental()));
        var errors = compilation.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToArray();
        if (block.ExpectedError is { } expected)
        {
            Assert.True(errors.Any(e => e.Id == expected), $"{file} block {index} (line {block.Line}) should fail with {expected}, got: {string.Join("; ", errors.Select(e => e.Id))}");
            return;
        }
        Assert.True(errors.Length == 0, $"{file} block {index} (line {block.Line}):\n" + string.Join("\n", errors.Select(e => e.ToString())) + "\n---\n" + source);
    }

    [Fact]
    public void TheDocsHaveBlocksToCompile()
    {
        // Guards the scan itself: the README's tour and the diagnostics pages are always there.
        Assert.True(AllBlocks().Sum(b => b.Blocks.Count) >= 20);
    }

    // Every namespace of the SDK, as a page's "using Kvm.Fdt;" would bring in (a fragment shows no usings).
    private static readonly string SdkUsings = string.Concat(typeof(Kvm.VmFd).Assembly.GetExportedTypes()
        .Select(t => t.Namespace).Where(n => n is not null).Distinct().Order(StringComparer.Ordinal).Select(n => $"using {n}; "));

    private static string AsFragment(DocBlock block) =>
        "using System; " + SdkUsings + "\n#pragma warning disable CS0168, CS0219, CS8321\n"
        + $"internal static class Snippet {{ {Context}\n internal static unsafe void Run() {{\n{block.Context}\n#line 1\n{block.Code}\n}} }}\n{block.Declarations}\n";

    private static SyntaxTree ImplicitUsings() => CSharpSyntaxTree.ParseText(
        "global using System; global using System.IO; global using System.Linq; global using System.Collections.Generic; global using System.Threading; global using System.Threading.Tasks;");

    private static Dictionary<string, ReportDiagnostic> Experimental() =>
        Enumerable.Range(1, 9).ToDictionary(i => $"KVMEXP00{i}", _ => ReportDiagnostic.Suppress);

    // A program: it declares types or brings its own usings (then its statements are top-level statements).
    private static bool IsProgram(string code) =>
        Regex.IsMatch(code, @"^(using [A-Za-z.]+;|namespace |(public |internal |static |sealed |partial )*(class|struct|record|interface) )", RegexOptions.Multiline);

    private static bool IsTopLevel(string code) =>
        CSharpSyntaxTree.ParseText(code).GetCompilationUnitRoot().Members.OfType<Microsoft.CodeAnalysis.CSharp.Syntax.GlobalStatementSyntax>().Any();

    private sealed record DocBlock(string Code, int Line, string Context, string Declarations, string? ExpectedError);

    private static List<(string File, List<DocBlock> Blocks)> AllBlocks()
    {
        var root = RepoRoot();
        var files = new[] { Path.Combine(root, "README.md") }
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "docs"), "*.md", SearchOption.AllDirectories))
            .Concat(Directory.EnumerateFiles(Path.Combine(root, "samples"), "README.md", SearchOption.AllDirectories))
            .OrderBy(f => f, StringComparer.Ordinal);
        return files.Select(f => (Path.GetRelativePath(root, f), Parse(File.ReadAllLines(f)))).Where(x => x.Item2.Count > 0).ToList();
    }

    private static List<DocBlock> Parse(string[] lines)
    {
        var blocks = new List<DocBlock>();
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim() is not ("```csharp" or "```cs" or "```c#")) continue;
            string context = "", declarations = "", expected = null!;
            for (int j = i - 1; j >= 0 && lines[j].TrimStart().StartsWith("<!--", StringComparison.Ordinal); j--)
            {
                var m = Regex.Match(lines[j], @"<!--\s*(context|declarations|does-not-compile):\s*(.*?)\s*-->");
                if (m.Success && m.Groups[1].Value == "context") context = m.Groups[2].Value;
                if (m.Success && m.Groups[1].Value == "declarations") declarations = m.Groups[2].Value;
                if (m.Success && m.Groups[1].Value == "does-not-compile") expected = m.Groups[2].Value;
            }
            int start = i + 1, end = start;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith("```", StringComparison.Ordinal)) end++;
            blocks.Add(new DocBlock(string.Join("\n", lines[start..end]), start + 1, context, declarations, expected));
            i = end;
        }
        return blocks;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sdk.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("Sdk.sln above the test's directory");
    }
}
