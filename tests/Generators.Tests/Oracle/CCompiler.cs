using System.Diagnostics;
using Kvm.Generators.Layout;

namespace Kvm.Generators.Tests.Oracle;

/// <summary>The C compiler (and objcopy) that judges one architecture. Never skips: a missing tool is a failure
/// naming the apt package that provides it. Each compiler only compiles (the probe's values are read from the object
/// file's .rodata), so no target binary ever runs and no qemu-user is needed.</summary>
public sealed class CCompiler
{
    private CCompiler(string cc, IReadOnlyList<string> ccArgs, string objcopy, bool isClang, string? standIn = null)
    {
        Cc = cc; CcArgs = ccArgs; Objcopy = objcopy; IsClang = isClang; StandIn = standIn;
    }

    public string Cc { get; }
    public IReadOnlyList<string> CcArgs { get; }
    public string Objcopy { get; }

    /// <summary>clang takes -ferror-limit=0 where gcc takes -fmax-errors=0.</summary>
    public bool IsClang { get; }

    /// <summary>Why another compiler judges this architecture (null when its own cross gcc does).</summary>
    public string? StandIn { get; }

    public string Description => string.Join(" ", new[] { Cc }.Concat(CcArgs)) + (StandIn is null ? "" : $" [{StandIn}]");

    /// <summary>The macros that select x86_64's asm/ code paths, removed when x86_64's gcc stands in for loongarch64.</summary>
    private static readonly string[] X86Selectors = { "__x86_64__", "__x86_64", "__amd64__", "__amd64" };

    public static CCompiler For(TargetArch arch)
    {
        if (arch == TargetArch.X86_64)
            return new CCompiler(Need("gcc", "gcc", "x86_64"), Array.Empty<string>(), Need("objcopy", "binutils", "x86_64"), false);
        if (arch == TargetArch.Arm64) return Arm64();
        var own = Which(arch.Multiarch + "-gcc");
        if (own is not null)
            return new CCompiler(own, Array.Empty<string>(), Need(arch.Multiarch + "-objcopy", "binutils-" + arch.Multiarch, arch.Name), false);
        if (arch == TargetArch.Loongarch64)
        {
            // Debian bookworm ships no loongarch64 cross compiler (nor clang-14 a loongarch target). loongarch64's
            // psABI lays out C types as x86_64's does (LP64, natural alignment, signed char, 16-byte long double
            // and __int128), so x86_64's gcc judges it with x86_64's selector macros replaced by loongarch64's.
            var args = X86Selectors.Select(m => "-U" + m).Concat(arch.PredefinedMacros.Select(m => "-D" + m)).ToList();
            return new CCompiler(Need("gcc", "gcc", arch.Name), args, Need("objcopy", "binutils", arch.Name), false,
                "x86_64 gcc standing in: bookworm has no gcc-loongarch64-linux-gnu");
        }
        throw new InvalidOperationException(
            $"the {arch.Name} layout oracle needs {arch.Multiarch}-gcc, which is not on PATH: install the apt package 'gcc-{arch.Multiarch}' (run tests/setup-machine.sh)");
    }

    private static CCompiler Arm64()
    {
        // KVM_ORACLE_ARM64_CLANG=1 exercises the clang-14 fallback on a machine that has both.
        bool preferClang = Environment.GetEnvironmentVariable("KVM_ORACLE_ARM64_CLANG") == "1";
        string? cc = preferClang ? null : Which("aarch64-linux-gnu-gcc");
        var args = new List<string>();
        bool clang = false;
        if (cc is null && Which("clang-14") is { } c14)
        {
            cc = c14; clang = true;
            args.Add("--target=aarch64-linux-gnu");
        }
        if (cc is null)
            throw new InvalidOperationException(
                "the arm64 layout oracle needs aarch64-linux-gnu-gcc (or clang-14 as a fallback), neither is on PATH: " +
                "install the apt package 'gcc-aarch64-linux-gnu' (run tests/setup-machine.sh)");
        var oc = Which("aarch64-linux-gnu-objcopy") ?? Which("llvm-objcopy-14") ?? Which("llvm-objcopy") ?? throw new InvalidOperationException(
            "the arm64 layout oracle needs aarch64-linux-gnu-objcopy: install the apt package 'binutils-aarch64-linux-gnu' " +
            "(pulled in by gcc-aarch64-linux-gnu; tests/setup-machine.sh installs it)");
        return new CCompiler(cc, args, oc, clang);
    }

    private static string Need(string tool, string package, string arch) => Which(tool) ?? throw new InvalidOperationException(
        $"the {arch} layout oracle needs {tool}, which is not on PATH: install the apt package '{package}' (tests/setup-machine.sh does)");

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
