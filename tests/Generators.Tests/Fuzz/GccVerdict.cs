using System.Diagnostics;

namespace Kvm.Generators.Tests.Fuzz;

/// <summary>gcc's verdict on a header: <c>gcc -fsyntax-only</c> over <c>#include &lt;linux/kvm.h&gt;</c> with the
/// mutant's directory first among the include roots. Null when gcc does not answer within the time limit.</summary>
internal static class GccVerdict
{
    public static (bool Accepted, string FirstError)? Judge(string mutantRoot, IReadOnlyList<string> roots, TimeSpan limit)
    {
        var psi = new ProcessStartInfo("gcc") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { "-std=gnu11", "-nostdinc", "-fsyntax-only", "-fmax-errors=3", "-I" + mutantRoot })
            psi.ArgumentList.Add(a);
        foreach (var r in roots) psi.ArgumentList.Add("-I" + r);
        psi.ArgumentList.Add("-x");
        psi.ArgumentList.Add("c");
        psi.ArgumentList.Add("-");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("gcc did not start: install the apt package 'gcc'");
        p.StandardInput.Write("#include <linux/kvm.h>\n");
        p.StandardInput.Close();
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit((int)limit.TotalMilliseconds))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            return null;
        }
        p.WaitForExit();
        var first = stderr.Result.Split('\n').FirstOrDefault(l => l.Contains("error", StringComparison.Ordinal)) ?? "";
        _ = stdout.Result;
        return (p.ExitCode == 0, first);
    }
}
