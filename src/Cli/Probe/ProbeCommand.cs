using System.Diagnostics;
using System.Security.Cryptography;

namespace Kvm.Cli.Probe;

/// <summary>
/// `kvmsdk probe`: what this kernel's KVM can do, through the SDK. On a host with a usable /dev/kvm it probes the
/// host; otherwise (the default, printed as such) it boots the embedded throw-away guest — a Debian kernel under
/// QEMU with an emulated AMD SVM — and probes there. `--host` refuses the guest.
/// </summary>
internal static class ProbeCommand
{
    public static int Run(Args args)
    {
        args.RejectUnknown("host", "guest", "json", "all-caps", "out", "kernel", "sw-protected", "where", "device");
        if (args.Positionals.Count > 0)
            throw new UsageException($"probe takes no arguments (got '{args.Positionals[0]}')");
        string device = args.One("device") ?? "/dev/kvm";
        bool json = args.Flag("json");
        // --kernel and --sw-protected describe the throw-away guest, so they ask for it as --guest does.
        var kernel = args.One("kernel");
        if (kernel is not null && !IsKernelSpec(kernel))
            throw new UsageException($"--kernel takes newest, legacy or SUITE:PACKAGE (a Debian suite and kernel image package), not '{kernel}'");
        bool guest = args.Flag("guest") || kernel is not null || args.Flag("sw-protected");
        if (guest && args.Flag("host"))
            throw new UsageException("--host probes this machine's own kernel; --guest, --kernel and --sw-protected choose the throw-away guest's: give one or the other");
        if (guest)
            return RunInGuest(args, json, "asked for with " + (args.Flag("guest") ? "--guest" : kernel is not null ? "--kernel" : "--sw-protected"));
        var unusable = WhyNotUsable(device);
        if (unusable is null)
        {
            var report = HostProbe.Run(device, p => Console.Error.WriteLine("probe: " + p));
            report.Where = args.One("where") ?? "host";
            Emit(report.ToJson(), report.ToText(args.Flag("all-caps")), json, args.One("out"));
            return report.Failures == 0 ? 0 : 1;
        }
        if (args.Flag("host"))
        {
            Console.Error.WriteLine($"kvmsdk probe: {device} is not usable here ({unusable}), and --host refuses the throw-away guest");
            return 3;
        }
        return RunInGuest(args, json, $"{device} is not usable here: {unusable}");
    }

    private static bool IsKernelSpec(string spec) =>
        spec is "newest" or "legacy"
        || (spec.IndexOf(':') is var colon and > 0 && colon < spec.Length - 1 && spec[(colon + 1)..].StartsWith("linux-image-", StringComparison.Ordinal));

    // Why the device cannot serve as a KVM here, in words a user can act on; null when it can.
    private static string? WhyNotUsable(string device)
    {
        if (Directory.Exists(device))
            return "it is a directory";
        if (!File.Exists(device))
            return "it does not exist (no KVM module loaded, or no hardware virtualization)";
        try
        {
            using var kvm = KvmSystem.Open(device);
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return $"permission denied for {Environment.UserName} (root, or membership of the device's group, usually 'kvm')";
        }
        catch (KvmException e)
        {
            return e.Message.Contains("ENOTTY", StringComparison.Ordinal)
                ? "it is not a KVM device (KVM_GET_API_VERSION answers ENOTTY)"
                : e.Message;
        }
        catch (Exception e) when (e is IOException or NotSupportedException)
        {
            return e.Message;
        }
    }

    private static void Emit(string json, string text, bool asJson, string? outPrefix)
    {
        if (outPrefix is not null)
        {
            File.WriteAllText(outPrefix + ".json", json);
            File.WriteAllText(outPrefix + ".txt", text);
        }
        Console.Out.Write(asJson ? json : text);
    }

    private static int RunInGuest(Args args, bool json, string why)
    {
        if (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            // The embedded guest is x86_64 and runs this very program inside it over 9p; an arm64 build cannot.
            Console.Error.WriteLine($"kvmsdk probe: {why}, and the throw-away guest is x86_64 only " +
                $"(this is {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}). On arm64 KVM needs the host " +
                "kernel booted at EL2; the project's arm64 lanes (tests/kvm-guest/arm64) run an arm64 build of this probe under QEMU.");
            return 3;
        }
        string kernel = args.One("kernel") ?? "newest";
        Console.Error.WriteLine($"kvmsdk probe: probing in the throw-away guest ({why}): Debian kernel '{kernel}'{(args.Flag("sw-protected") ? " with SW_PROTECTED kvm modules" : "")} under QEMU, emulated AMD SVM. The first run downloads the kernel; --host refuses the guest.");
        var runner = ExtractRunner();
        var share = Directory.CreateTempSubdirectory("kvmsdk-probe-");
        try
        {
            var self = Environment.ProcessPath!;
            var command = Path.GetFileNameWithoutExtension(self) == "dotnet"
                ? new[] { self, Path.Combine(AppContext.BaseDirectory, "Kvm.Sdk.Cli.dll") }
                : new[] { self };
            var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { Path.Combine(runner, "run.sh"), "--quiet", "--kernel", kernel, "--share", share.FullName })
                psi.ArgumentList.Add(a);
            if (args.Flag("sw-protected")) psi.ArgumentList.Add("--sw-protected");
            psi.ArgumentList.Add("--");
            foreach (var c in command) psi.ArgumentList.Add(c);
            foreach (var a in new[] { "probe", "--host", "--where", "throw-away guest", "--out", Path.Combine(share.FullName, "probe") })
                psi.ArgumentList.Add(a);
            if (args.Flag("all-caps")) psi.ArgumentList.Add("--all-caps");
            var sw = Stopwatch.StartNew();
            using var p = Process.Start(psi)!;
            // The runner's own lines (download, initrd, boot, tries) are the progress shown while the guest boots.
            p.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } d) Console.Error.WriteLine($"guest [{sw.Elapsed.TotalSeconds,5:F0}s] {d}"); };
            p.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } d) Console.Error.WriteLine($"guest [{sw.Elapsed.TotalSeconds,5:F0}s] {d}"); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            p.WaitForExit();
            var result = Path.Combine(share.FullName, "probe" + (json ? ".json" : ".txt"));
            if (!File.Exists(result))
            {
                Console.Error.WriteLine($"kvmsdk probe: the guest produced no report (runner exit {p.ExitCode}; 125 = the guest never reported, 123 = preparing it failed)");
                return p.ExitCode == 0 ? 1 : p.ExitCode;
            }
            Console.Out.Write(File.ReadAllText(result));
            return p.ExitCode;
        }
        finally
        {
            share.Delete(recursive: true);
        }
    }

    /// <summary>The guest runner scripts travel inside the tool; they are written once per version to a cache.</summary>
    private static string ExtractRunner()
    {
        var asm = typeof(ProbeCommand).Assembly;
        var names = asm.GetManifestResourceNames().Where(n => n.StartsWith("guest/", StringComparison.Ordinal)).OrderBy(n => n).ToList();
        if (names.Count == 0) throw new UsageException("this build of kvmsdk carries no guest runner");
        using var sha = SHA256.Create();
        foreach (var n in names) { using var s = asm.GetManifestResourceStream(n)!; sha.TransformBlock(ReadAll(s), 0, (int)s.Length, null, 0); }
        sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
        var cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        var dir = Path.Combine(cacheRoot, "kvmsdk", "guest-runner-" + Convert.ToHexString(sha.Hash!)[..12].ToLowerInvariant());
        Directory.CreateDirectory(dir);
        foreach (var n in names)
        {
            var path = Path.Combine(dir, n["guest/".Length..]);
            using var s = asm.GetManifestResourceStream(n)!;
            File.WriteAllBytes(path, ReadAll(s));
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        }
        return dir;
    }

    private static byte[] ReadAll(Stream s)
    {
        s.Position = 0;
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }
}
