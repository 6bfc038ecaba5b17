
namespace Kvm.Tests.Cli;

/// <summary><c>kvmsdk generate</c> and <c>kvmsdk abi</c> refuse what they cannot do, with a message and a non-zero
/// exit, before writing anything: the architecture follows from the include directories, bad namespaces and
/// outputs are usage errors, input that is not a kvm.h is an error, one missing include root is one error.</summary>
public class CliGeneratorArgumentTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("kvmsdk-cli-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static string Headers => Path.Combine(KvmsdkProcess.RepoRoot(), "uapi-headers", "7.3.4");

    private string X86 => $"--include {Headers}/x86_64-linux-gnu --include {Headers}";

    [Fact]
    public void The_architecture_follows_from_the_include_directories()
    {
        var (rc, output) = Kvmsdk($"generate {X86} --out {_tmp}/gen");
        Assert.Equal(0, rc);
        Assert.Contains("x86_64: ", output);
        Assert.DoesNotContain("arm64: ", output);
        var files = Directory.GetFiles($"{_tmp}/gen");
        Assert.Contains(files, f => File.ReadAllText(f).Contains(" rax;", StringComparison.Ordinal));
        Assert.DoesNotContain(files, f => f.Contains("Arm64", StringComparison.Ordinal));
    }

    [Fact]
    public void An_arch_that_contradicts_the_headers_is_a_usage_error()
    {
        var (rc, output) = Kvmsdk($"generate {X86} --arch arm64 --out {_tmp}/gen");
        Assert.Equal(2, rc);
        Assert.Contains("--arch arm64 does not match the headers", output);
        Assert.False(Directory.Exists($"{_tmp}/gen"));
    }

    [Fact]
    public void The_multiarch_placeholder_is_accepted_as_MSBuild_accepts_it()
    {
        var (rc, output) = Kvmsdk($"abi dump --include {Headers}/{{multiarch}} --include {Headers} --arch arm64");
        Assert.Equal(0, rc);
        Assert.Contains("# arm64", output);
        Assert.Contains("struct user_pt_regs", output);
    }

    [Fact]
    public void Without_asm_kvm_h_and_without_arch_the_architecture_is_an_error()
    {
        var (rc, output) = Kvmsdk($"abi dump --include {Headers}");
        Assert.Equal(2, rc);
        Assert.Contains("cannot tell the architecture", output);
    }

    [Fact]
    public void One_missing_include_root_is_one_error()
    {
        var (rc, output) = Kvmsdk($"abi dump --include {Headers} --arch x86_64");
        Assert.Equal(1, rc);
        Assert.Single(output.Split('\n'), l => l.Contains("error KVM", StringComparison.Ordinal));
        Assert.Contains("asm/kvm.h", output);
    }

    [Theory]
    [InlineData("This is prose, not a header.\n", "expected a type, found 'This'")]
    [InlineData("\u007fELF\u0002\u0001\u0001\0\0\0\0\0\0\0\0\0\u0003\0>\0\u0001\0\0\0", "looks like binary data")]
    [InlineData("#define NOTHING 1\n", "defines no structs and no ioctls")]
    public void Input_that_is_not_a_kvm_h_is_an_error(string text, string message)
    {
        Directory.CreateDirectory($"{_tmp}/h/linux");
        File.WriteAllText($"{_tmp}/h/linux/kvm.h", text);
        var (rc, output) = Kvmsdk($"generate --include {_tmp}/h --arch x86_64 --out {_tmp}/gen");
        Assert.Equal(1, rc);
        Assert.Contains(message, output);
        Assert.DoesNotContain(output, c => c < ' ' && c != '\n' && c != '\r' && c != '\t');
        Assert.False(Directory.Exists($"{_tmp}/gen"));
    }

    [Fact]
    public void A_struct_the_parser_cannot_read_is_an_error_unless_the_user_opts_out()
    {
        Directory.CreateDirectory($"{_tmp}/h/linux");
        File.WriteAllText($"{_tmp}/h/linux/kvm.h", "struct ok { int a; };\nstruct bad { int a b; };\n#define KVM_OK _IO(0xAE, 1)\n");
        var (rc, output) = Kvmsdk($"abi dump --include {_tmp}/h --include {Headers}/x86_64-linux-gnu --include {Headers} --entry linux/kvm.h");
        Assert.Equal(1, rc);
        Assert.Contains("error KVM0003", output);
        (rc, output) = Kvmsdk($"abi dump --include {_tmp}/h --include {Headers}/x86_64-linux-gnu --include {Headers} --unread warning");
        Assert.Equal(0, rc);
        Assert.Contains("warning KVM0003", output);
        Assert.Contains("struct ok", output);
    }

    [Theory]
    [InlineData("--namespace 123.bad-ns", "'123' does not start with a letter")]
    [InlineData("--namespace class", "'class' is a C# keyword")]
    [InlineData("--namespace My..Ns", "empty part")]
    public void A_namespace_that_is_not_CSharp_is_a_usage_error(string option, string message)
    {
        var (rc, output) = Kvmsdk($"generate --version 7.3.4 {option} --out {_tmp}/gen");
        Assert.Equal(2, rc);
        Assert.Contains(message, output);
    }

    [Fact]
    public void An_out_that_is_a_file_or_cannot_be_written_is_an_error()
    {
        File.WriteAllText($"{_tmp}/file", "");
        var (rc, output) = Kvmsdk($"generate --version 7.3.4 --out {_tmp}/file");
        Assert.Equal(2, rc);
        Assert.Contains("is a file", output);
        (rc, output) = Kvmsdk($"generate --version 7.3.4 --arch x86_64 --out /proc/kvmsdk-nope/gen");
        Assert.Equal(1, rc);
        Assert.Contains("cannot write to --out", output);
        Assert.DoesNotContain("Unhandled exception", output);
    }

    [Fact]
    public void An_unknown_entry_is_an_error_with_vendored_headers_too()
    {
        var (rc, output) = Kvmsdk("abi dump --entry linux/nope.h");
        Assert.Equal(1, rc);
        Assert.Contains("<linux/nope.h> was not found", output);
    }

    [Fact]
    public void Diff_against_an_empty_directory_is_an_error()
    {
        Directory.CreateDirectory($"{_tmp}/empty");
        var (rc, output) = Kvmsdk($"abi diff 7.3.4 {_tmp}/empty");
        Assert.Equal(1, rc);
        Assert.DoesNotContain("added (", output);
    }

    [Fact]
    public void A_diff_line_shows_the_change()
    {
        var (rc, output) = Kvmsdk("abi diff 6.1.192 7.3.4");
        Assert.Equal(0, rc);
        Assert.Matches(@"size \d+ -> \d+", output);
    }

    private static (int Status, string Output) Kvmsdk(string commandLine) =>
        KvmsdkProcess.Run(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
}
