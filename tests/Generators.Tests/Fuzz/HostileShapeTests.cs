using System.Diagnostics;
using Kvm.Generators.Layout;
using Kvm.Generators.Model;
using Kvm.Generators.Tests.Support;
using Xunit.Abstractions;

namespace Kvm.Generators.Tests.Fuzz;

/// <summary>Each hostile shape at full size (the numbers: 40,000 array dimensions, a 50,000-level pointer
/// declarator, 100,000 chained defines, 22 self-doubling defines) appended to the vendored kvm.h and modelled on a
/// small-stack thread: it finishes, gcc's errors are errors, and what gcc accepts and the generator models comes
/// out with gcc's numbers.</summary>
public class HostileShapeTests
{
    private readonly ITestOutputHelper _output;

    public HostileShapeTests(ITestOutputHelper output) => _output = output;

    private static readonly Dictionary<string, string> Full = new(StringComparer.Ordinal)
    {
        ["array-dimensions-40000"] = "struct fz_dims { char x" + string.Concat(Enumerable.Repeat("[1]", 40_000)) + "; };\n",
        ["pointer-chain-50000"] = "struct fz_ptrs { char " + new string('*', 50_000) + "p; };\n",
        ["parenthesised-chain-100000"] = Chain(100_000),
        ["self-doubling-defines-22"] = string.Concat(Enumerable.Range(1, 22).Select(i => $"#define FZ_D{i} FZ_D{i - 1} + FZ_D{i - 1}\n").Prepend("#define FZ_D0 1\n")),
    };

    private static string Chain(int n) =>
        "#define FZ_C0 0\n" + string.Concat(Enumerable.Range(1, n - 1).Select(i => $"#define FZ_C{i} (FZ_C{i - 1} + 1)\n")) +
        "struct fz_chain { char x[FZ_C150 + 1]; };\n";

    public static TheoryData<string> Rejected => new()
    {
        "array-size-overflow", "struct-too-large", "aligned-3", "aligned-negative", "aligned-2^32", "aligned-0", "duplicate-member",
        "duplicate-through-anonymous", "enum-overflow", "unterminated-comment", "unknown-type", "unknown-type-top-level", "control-byte",
        "bitfield-too-wide", "flexible-not-last", "redefined-struct", "incomplete-member", "void-member", "invalid-directive", "negative-array",
    };

    private static AbiModel Model(string shape, out TimeSpan took)
    {
        var version = Repo.DefaultVersion;
        var files = Repo.Load(Path.Combine(Repo.Headers, version));
        var kvm = files.Single(f => f.Path.EndsWith("/linux/kvm.h", StringComparison.Ordinal) && !f.Path.Contains("-linux-gnu", StringComparison.Ordinal));
        int end = kvm.Text.LastIndexOf("#endif", StringComparison.Ordinal);
        var text = kvm.Text.Substring(0, end) + shape + kvm.Text.Substring(end);
        var sw = Stopwatch.StartNew();
        var verdict = HeaderFuzzTests.ModelOnSmallStack(files.Where(f => f != kvm).Append(new HeaderFile(kvm.Path, text)), Repo.Options(version, TargetArch.X86_64), TimeSpan.FromSeconds(30));
        took = sw.Elapsed;
        Assert.False(verdict.Hung, "the generator did not finish in 30 s");
        Assert.Null(verdict.Crash);
        return verdict.Model!;
    }

    [Theory]
    [MemberData(nameof(Rejected))]
    public void What_gcc_rejects_is_an_error(string name)
    {
        var shape = HostileShapes.All().Single(s => s.Name == name).Text;
        var model = Model(shape, out _);
        Assert.Contains(model.Diagnostics, d => d.Severity == HeaderSeverity.Error);
    }

    [Theory]
    [InlineData("array-dimensions-40000")]
    [InlineData("pointer-chain-50000")]
    [InlineData("self-doubling-defines-22")]
    public void Beyond_a_limit_is_a_KVM0011_error_on_a_small_stack(string name)
    {
        var model = Model(Full[name], out var took);
        _output.WriteLine($"{name}: {took.TotalMilliseconds:F0} ms");
        Assert.Contains(model.Diagnostics, d => d.Id == DiagnosticIds.LimitExceeded && d.Severity == HeaderSeverity.Error);
        Assert.Contains(model.Structs, s => s.Name == "kvm_run"); // the rest of the header is still modelled
    }

    [Fact]
    public void A_hundred_thousand_chained_defines_evaluate_in_one_pass()
    {
        var model = Model(Full["parenthesised-chain-100000"], out var took);
        _output.WriteLine($"100,000 chained defines: {took.TotalMilliseconds:F0} ms");
        Assert.DoesNotContain(model.Diagnostics, d => d.Severity == HeaderSeverity.Error);
        Assert.Equal(99_999UL, model.Constants.Single(c => c.Name == "FZ_C99999").Bits);
        Assert.Equal(151, model.Structs.Single(s => s.Name == "fz_chain").Size);
    }

    [Theory]
    [InlineData("grouped-declarator", "fz_group", 1)]
    [InlineData("typedef-chain", "fz_td", 4)]
    [InlineData("parenthesised-chain", "fz_chain", 150)]
    public void What_gcc_accepts_within_the_limits_gets_gcc_s_size(string name, string structName, long size)
    {
        var model = Model(HostileShapes.All().Single(s => s.Name == name).Text, out _);
        Assert.DoesNotContain(model.Diagnostics, d => d.Severity == HeaderSeverity.Error);
        Assert.Equal(size, model.Structs.Single(s => s.Name == structName).Size);
    }
}
