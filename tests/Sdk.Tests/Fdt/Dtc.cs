using System.Diagnostics;

namespace Kvm.Tests.Fdt;

/// <summary>Runs Debian's <c>dtc</c> (package device-tree-compiler, installed by tests/setup-machine.sh) to decompile
/// a blob. A missing dtc fails the test: the writer is only checked against it.</summary>
internal static class Dtc
{
    public static (int ExitCode, string Dts, string Errors) Decompile(byte[] blob)
    {
        var path = Path.Combine(Path.GetTempPath(), $"kvm-fdt-{Guid.NewGuid():N}.dtb");
        File.WriteAllBytes(path, blob);
        try
        {
            var psi = new ProcessStartInfo("dtc") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-I", "dtb", "-O", "dts", path })
                psi.ArgumentList.Add(a);
            Process p;
            try
            {
                p = Process.Start(psi)!;
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException("dtc is not installed: run tests/setup-machine.sh (device-tree-compiler)", e);
            }
            using (p)
            {
                var stderr = p.StandardError.ReadToEndAsync();
                var dts = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                return (p.ExitCode, dts, stderr.Result);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
