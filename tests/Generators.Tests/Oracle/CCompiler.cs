using System.Diagnostics;
using Kvm.Generators.Layout;

namespace Kvm.Generators.Tests.Oracle;

/// <summary>The C compiler (and objcopy) that judges one architecture. Never skips: a missing tool is a failure
/// naming the apt package that provides it.</summary>
public sealed class CCompiler
{
    private CCompiler(string cc, IReadOnlyList<string> ccArgs, string objcopy)
    {
        Cc = cc; CcArgs = ccArgs; Objcopy = objcopy;
    }

    public string Cc { get; }
    public IReadOnlyList<string> CcArgs { get; }
    public string Objcopy { get; }

    public string Description => string.Join(" ", new[] { Cc }.Concat(CcArgs));

    public static CCompiler For(TargetArch arch)
    {
        if (arch == TargetArch.X86_64)
        {
            var gcc = Which("gcc") ?? throw new InvalidOperationException(
                "the x86_64 layout oracle needs gcc, which is not on PATH: install the apt package 'gcc' (tests/setup-machine.sh does)");
            var objcopy = Which("objcopy") ?? throw new InvalidOperationException(
                "the x86_64 layout oracle needs objcopy: install the apt package 'binutils'");
            return new CCompiler(gcc, Array.Empty<string>(), objcopy);
        }
        // KVM_ORACLE_ARM64_CLANG=1 exercises the clang-14 fallback on a machine that has both.
        bool preferClang = Environment.GetEnvironmentVariable("KVM_ORACLE_ARM64_CLANG") == "1";
        string? cc = preferClang ? null : Which("aarch64-linux-gnu-gcc");
        var args = new List<string>();
        if (cc is null && Which("clang-14") is { } clang)
        {
            cc = clang;
            args.Add("--target=aarch64-linux-gnu");
        }
        if (cc is null)
            throw new InvalidOperationException(
                "the arm64 layout oracle needs aarch64-linux-gnu-gcc (or clang-14 as a fallback), neither is on PATH: " +
                "install the apt package 'gcc-aarch64-linux-gnu' (run tests/setup-machine.sh)");
        var oc = Which("aarch64-linux-gnu-objcopy") ?? Which("llvm-objcopy-14") ?? Which("llvm-objcopy") ?? throw new InvalidOperationException(
            "the arm64 layout oracle needs aarch64-linux-gnu-objcopy: install the apt package 'binutils-aarch64-linux-gnu' " +
            "(pulled in by gcc-aarch64-linux-gnu; tests/setup-machine.sh installs it)");
        return new CCompiler(cc, args, oc);
    }

    /// <summary>Compiles <paramref name="source"/> to an object file with only the given include roots (-nostdinc).</summary>
    public CompileResult Compile(string source, IReadOnlyList<string> includeRoots, string workDir, string name, params string[] extra)
    {
        var c = Path.Combine(workDir, name + ".c");
        var o = Path.Combine(workDir, name + ".o");
        File.WriteAllText(c, source);
        var args = new List<string>(CcArgs) { "-std=gnu11", "-nostdinc" };
        args.AddRange(includeRoots.Select(r => "-I" + r));
        args.AddRange(extra);
        args.AddRange(new[] { "-c", c, "-o", o });
        var (rc, _, err) = Run(Cc, args);
        return new CompileResult(rc == 0, err, o, c);
    }

    /// <summary>The bytes of the object file's .rodata section.</summary>
    public byte[] ReadRodata(string objectFile)
    {
        var bin = objectFile + ".rodata.bin";
        var (rc, _, err) = Run(Objcopy, new[] { "-O", "binary", "--only-section=.rodata", objectFile, bin });
        if (rc != 0) throw new InvalidOperationException($"{Objcopy} failed ({rc}): {err}");
        return File.ReadAllBytes(bin);
    }

    private static (int Rc, string Out, string Err) Run(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(120_000))
        {
            p.Kill();
            throw new TimeoutException($"{file} did not finish in 120 s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? Which(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var full = Path.Combine(dir, name);
            if (File.Exists(full)) return full;
        }
        return null;
    }
}

public sealed record CompileResult(bool Ok, string Errors, string ObjectFile, string SourceFile);
