
namespace Kvm.Tests.Cli;

/// <summary><c>kvmsdk probe</c> honours or refuses every option it documents, says why a device is not usable, and
/// never starts a probe or a guest for a command line it cannot follow (each case here returns in well under a
/// second, before any KVM or QEMU work).</summary>
public class CliProbeArgumentTests
{
    [Theory]
    [InlineData("probe --kernel nonsense", 2, "--kernel takes newest, legacy or SUITE:PACKAGE")]
    [InlineData("probe --host --kernel legacy", 2, "--host probes this machine's own kernel")]
    [InlineData("probe --host --sw-protected", 2, "--host probes this machine's own kernel")]
    [InlineData("probe --host --guest", 2, "--host probes this machine's own kernel")]
    [InlineData("probe extra", 2, "probe takes no arguments (got 'extra')")]
    [InlineData("probe --bogus", 2, "unknown option --bogus")]
    [InlineData("probe --bogus x", 2, "unknown option --bogus")]
    [InlineData("probe --kernel", 2, "option --kernel needs a value")]
    [InlineData("probe --host --device /tmp", 3, "/tmp is not usable here (it is a directory)")]
    [InlineData("probe --host --device /dev/null", 3, "it is not a KVM device (KVM_GET_API_VERSION answers ENOTTY)")]
    [InlineData("probe --host --device /nonexistent/kvm", 3, "it does not exist")]
    public void RefusesWhatItCannotFollow(string commandLine, int status, string message)
    {
        var (rc, output) = Kvmsdk(commandLine.Split(' '));
        Assert.Equal(status, rc);
        Assert.Contains(message, output);
    }

    [Theory]
    [InlineData("probe --help")]
    [InlineData("probe -h")]
    [InlineData("--help")]
    public void HelpIsHelpNotAProbe(string commandLine)
    {
        var (rc, output) = Kvmsdk(commandLine.Split(' '));
        Assert.Equal(0, rc);
        Assert.Contains("Usage:", output);
        Assert.Contains("--guest", output);
        Assert.DoesNotContain("PASS", output);   // the probe report's verdicts: no probe ran
    }

    [Theory]
    [InlineData("abi --help", "kvmsdk abi [command] [options]")]
    [InlineData("abi dump --help", "--entry <HEADER>")]
    [InlineData("abi diff --help", "kvmsdk abi diff <A> <B> [options]")]
    [InlineData("abi versions --help", "kvmsdk abi versions [options]")]
    [InlineData("generate --help", "--out <DIR>")]
    [InlineData("completions --help", "kvmsdk completions <shell>")]
    public void EveryCommandHasItsOwnHelp(string commandLine, string expected)
    {
        var (rc, output) = Kvmsdk(commandLine.Split(' '));
        Assert.Equal(0, rc);
        Assert.Contains(expected, output);
    }

    [Theory]
    [InlineData("", 2, "Usage:")]
    [InlineData("frob", 2, "unknown command 'frob' for 'kvmsdk'")]
    [InlineData("abi", 2, "'kvmsdk abi' needs a command: dump, diff, versions")]
    [InlineData("abi diff 7.3.4", 2, "")]
    [InlineData("generate --include", 2, "option --include needs a value")]
    [InlineData("completions fish", 2, "'fish'")]
    public void UsageErrorsExitWithTwo(string commandLine, int status, string message)
    {
        var (rc, output) = Kvmsdk(commandLine.Length == 0 ? [] : commandLine.Split(' '));
        Assert.Equal(status, rc);
        Assert.Contains(message, output);
    }

    [Fact]
    public void CompletionAsksTheToolWhatComesNext()
    {
        var (rc, script) = Kvmsdk(["completions", "bash"]);
        Assert.Equal(0, rc);
        Assert.Contains("complete -o default -F _kvmsdk_complete kvmsdk", script);
        // The script's question, asked directly: what completes "probe --ke" at its end.
        var (rc2, answer) = Kvmsdk(["[suggest:10]", "probe --ke"]);
        Assert.Equal(0, rc2);
        Assert.Equal("--kernel", answer.Trim());
    }

    [Fact]
    public void VersionPrintsTheToolsVersion()
    {
        var (rc, output) = Kvmsdk(["--version"]);
        Assert.Equal(0, rc);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    private static (int Status, string Output) Kvmsdk(string[] args) => KvmsdkProcess.Run(args);
}
