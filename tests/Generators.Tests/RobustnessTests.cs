using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Kvm.Generators.Tests.Support;
using Xunit.Abstractions;

namespace Kvm.Generators.Tests;

/// <summary>Mutated and truncated kvm.h through the whole model pipeline: nothing throws, nothing crashes
/// internally (KVM0008), and every broken variant is diagnosed.</summary>
public class RobustnessTests
{
    private readonly ITestOutputHelper _output;

    public RobustnessTests(ITestOutputHelper output) => _output = output;

    private static readonly string[] Junk =
    {
        "(", ")", "{", "}", "[", "]", ";", "\"", "'", "/*", "\\\n", "#if\n", "#endif\n", "#else\n", "#elif 1\n", "#define X(\n",
        "#include <nope.h>\n", "#include\n", "_IOW(", "__attribute__((", "struct", "union {", "enum {", "typedef", "##", "#",
        "sizeof(", "0x", "99999999999999999999999", "((((((((((((((((((((((((((((((((((((((((", ":", "?", "__DECLARE_FLEX_ARRAY(",
    };

    [Fact]
    public void A_thousand_mutated_headers_never_crash_the_generator()
    {
        var version = Path.Combine(Repo.Headers, Repo.DefaultVersion);
        var files = Repo.Load(version);
        var kvm = files.Single(f => f.Path.EndsWith("/linux/kvm.h", StringComparison.Ordinal));
        var others = files.Where(f => f != kvm).ToList();
        var lines = kvm.Text.Split('\n');
        const int variants = 1000;
        int diagnosed = 0, truncations = 0, truncationsDiagnosed = 0;
        var failures = new List<string>();
        var sync = new object();
        Parallel.For(0, variants, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var rng = new Random(1000 + i);
            int kind = i % 6;
            string text = kind switch
            {
                0 => kvm.Text.Substring(0, rng.Next(kvm.Text.Length / 10, kvm.Text.Length - 200)),
                1 => string.Join("\n", lines.Where((_, n) => n != rng.Next(lines.Length))),
                2 => Insert(kvm.Text, rng, Junk[rng.Next(Junk.Length)]),
                3 => Insert(Insert(Insert(kvm.Text, rng, Junk[rng.Next(Junk.Length)]), rng, Junk[rng.Next(Junk.Length)]), rng, Junk[rng.Next(Junk.Length)]),
                4 => Swap(lines, rng),
                _ => new string(kvm.Text.Select(c => rng.Next(400) == 0 ? "(){};#[]*"[rng.Next(9)] : c).ToArray()),
            };
            var arch = i % 2 == 0 ? TargetArch.X86_64 : TargetArch.Arm64;
            var model = AbiBuilder.Build(others.Append(new HeaderFile(kvm.Path, text)), Repo.Options(Repo.DefaultVersion, arch));
            bool hasProblem = model.Diagnostics.Any(d => d.Severity != HeaderSeverity.Info);
            lock (sync)
            {
                if (model.Diagnostics.Any(d => d.Id == DiagnosticIds.InternalError))
                    failures.Add($"variant {i} (kind {kind}): {model.Diagnostics.First(d => d.Id == DiagnosticIds.InternalError).Message}");
                if (hasProblem) diagnosed++;
                if (kind == 0) { truncations++; if (hasProblem) truncationsDiagnosed++; }
            }
        });
        _output.WriteLine($"{variants} variants: {diagnosed} with warnings or errors; truncations {truncationsDiagnosed}/{truncations} diagnosed");
        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(10)));
        // A truncated kvm.h always loses its include guard's #endif, so every truncation must be reported.
        Assert.Equal(truncations, truncationsDiagnosed);
        Assert.True(diagnosed > variants / 2, $"only {diagnosed} of {variants} variants were diagnosed");
    }

    [Theory]
    [InlineData("#define A (((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1")]
    [InlineData("#define A(x) x\n#define B A(1, 2)\nenum { E = B };")]
    [InlineData("#include \"self.h\"")]
    [InlineData("struct s { struct s inner; };")]
    [InlineData("#if 1/0\n#endif")]
    [InlineData("#if\n#endif")]
    [InlineData("struct t { int a[-1]; };")]
    [InlineData("struct u { int x : 99; };")]
    public void Hostile_snippets_give_diagnostics(string header)
    {
        var deep = header.StartsWith("#define A (((") ? header + new string(')', 400) + "\nstruct v { int w[A]; };" : header;
        var files = new[] { new HeaderFile("/h/self.h", deep) };
        var model = AbiBuilder.Build(files, new AbiOptions("x86_64", new[] { "/h" }.ToEquatableArray(), new[] { "self.h" }.ToEquatableArray(), "hostile"));
        Assert.DoesNotContain(model.Diagnostics, d => d.Id == DiagnosticIds.InternalError);
        Assert.Contains(model.Diagnostics, d => d.Severity != HeaderSeverity.Info);
    }

    private static string Insert(string text, Random rng, string junk)
    {
        int at = rng.Next(text.Length);
        return text.Substring(0, at) + junk + text.Substring(at);
    }

    private static string Swap(string[] lines, Random rng)
    {
        var copy = (string[])lines.Clone();
        int a = rng.Next(copy.Length), b = rng.Next(copy.Length);
        (copy[a], copy[b]) = (copy[b], copy[a]);
        return string.Join("\n", copy);
    }
}
