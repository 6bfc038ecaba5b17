using System.Diagnostics;

namespace Kvm.Tests.Cli;

/// <summary>Runs the built kvmsdk tool as a user would, as its own process, and returns its status and its output
/// (stdout then stderr). Shared by the CLI tests.</summary>
internal static class KvmsdkProcess
{
    public static (int Status, string Output) Run(IReadOnlyList<string> args)
    {
        var dll = Path.Combine(RepoRoot(), "src", "Cli", "bin", Configuration, "net10.0", "Kvm.Sdk.Cli.dll");
        Assert.True(File.Exists(dll), $"the kvmsdk tool is not built at {dll}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), $"kvmsdk {string.Join(' ', args)} did not finish in 120 s");
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Sdk.sln")))
                return dir.FullName;
        throw new DirectoryNotFoundException("no Sdk.sln above the test's directory");
    }
}
