// Conformance helpers issue raw ioctls without a capability check on purpose: the tests assert what kernels
// lacking the capability answer (ENOTTY, EINVAL), which a check would hide.
#pragma warning disable KVM2001
using System.Diagnostics;
using Kvm.Interop;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace Kvm.KernelTests.Support;

/// <summary>
/// Touching guest_memfd memory the host may not access is a SIGBUS, which must kill a process, not a test run.
/// .NET cannot fork, so the test starts this same executable again in helper mode (<see cref="Verb"/>): the child
/// creates its own VM and guest_memfd, maps it, gives SIGBUS back to the kernel's default action (the runtime
/// would otherwise turn the fault into a managed crash with another exit status), and writes one byte. The
/// parent then sees exactly how the child ended.
/// </summary>
public static unsafe class ChildTouch
{
    public const string Verb = "--child-touch";

    public sealed record Outcome(int ExitCode, string Output)
    {
        /// <summary>.NET reports a child killed by signal N as exit code 128+N.</summary>
        public bool KilledBySigbus => ExitCode == 128 + Native.SIGBUS;
        public override string ToString() => $"exit code {ExitCode}{(ExitCode > 128 ? $" (signal {ExitCode - 128})" : "")}, output: {Output.Trim()}";
    }

    /// <summary>Parent side: run the child and wait (60 s at most; .NET start-up under TCG takes a few seconds).</summary>
    public static Outcome Run(int vmType, ulong gmemFlags, ulong gmemSize, ulong mapLength, ulong touchOffset)
    {
        var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // `dotnet Kvm.Sdk.KernelTests.dll`: the host is dotnet, so pass the assembly; an apphost needs nothing more.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet")
            psi.ArgumentList.Add(typeof(ChildTouch).Assembly.Location);
        foreach (var a in new[] { Verb, $"{vmType}", $"{gmemFlags}", $"{gmemSize}", $"{mapLength}", $"{touchOffset}" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(60)))
        {
            p.Kill();
            Assert.Fail("the SIGBUS helper process did not finish within 60 s");
        }
        p.WaitForExit();
        return new Outcome(p.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>Child side. Exit 0 = the touch worked; 2 = setup failed; death by SIGBUS = the touch faulted.</summary>
    public static int RunChild(string[] args)
    {
        int vmType = int.Parse(args[1]);
        ulong flags = ulong.Parse(args[2]), size = ulong.Parse(args[3]), mapLength = ulong.Parse(args[4]), offset = ulong.Parse(args[5]);
        int kvm, vm, gmem;
        fixed (byte* path = "/dev/kvm\0"u8)
            kvm = open(path, O_RDWR | O_CLOEXEC, 0);
        if (kvm < 0) return Setup("open /dev/kvm");
        if ((vm = Sys.Ioctl(kvm, KvmIoctls.KVM_CREATE_VM, vmType)) < 0) return Setup("KVM_CREATE_VM");
        var g = new kvm_create_guest_memfd { size = size, flags = flags };
        if ((gmem = Sys.Ioctl(vm, KvmIoctls.KVM_CREATE_GUEST_MEMFD, ref g)) < 0) return Setup("KVM_CREATE_GUEST_MEMFD");
        byte* p = (byte*)mmap(null, (size_t)mapLength, PROT_READ | PROT_WRITE, MAP_SHARED, gmem, 0);
        if (p == MAP_FAILED) return Setup("mmap");
        Console.WriteLine($"child: mapped 0x{mapLength:x} bytes of a 0x{size:x}-byte guest_memfd (flags 0x{flags:x}, VM type {vmType}); touching offset 0x{offset:x}");
        Console.Out.Flush();
        Native.signal(Native.SIGBUS, Native.SIG_DFL);
        p[offset] = 0x5a;
        Console.WriteLine($"child: touch survived, read back 0x{p[offset]:x2}");
        return p[offset] == 0x5a ? 0 : 3;

        static int Setup(string what)
        {
            Console.WriteLine($"child: {what} failed: {ErrnoText.Name(Sys.LastErrno)}");
            return 2;
        }
    }
}
