using Kvm.Interop;

namespace Kvm.KernelTests.Support;

/// <summary>Facts about the running kernel and the lane the tests were started in.</summary>
public static class Kernel
{
    /// <summary>uname -r, e.g. "7.3.4+deb13-amd64".</summary>
    public static string Release { get; } = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    /// <summary>Major.minor.patch of <see cref="Release"/>.</summary>
    public static Version Version { get; } = ParseVersion(Release);

    /// <summary>The lane (newest, private, legacy, arm64-*, host) from KVM_TEST_LANE, set by tests/kvm-guest/lane.sh; null by hand.</summary>
    public static string? Lane { get; } = Environment.GetEnvironmentVariable("KVM_TEST_LANE") is { Length: > 0 } l ? l : null;

    /// <summary>True inside a tests/kvm-guest guest: the x86 runner puts guestcmd= on the kernel command line, the
    /// arm64 runner kvmsdk.guest=arm64.</summary>
    public static bool InGuest { get; } = File.Exists("/proc/cmdline") &&
        File.ReadAllText("/proc/cmdline") is var cmdline && (cmdline.Contains("guestcmd=") || cmdline.Contains("kvmsdk.guest="));

    /// <summary>The host lane: the tests run straight on this machine's /dev/kvm (tests/kvm-guest/lane.sh host). Its
    /// kernel is whatever the machine runs, so expectations come from what that kernel reports, never from a pin.</summary>
    public static bool IsHostLane { get; } = Lane == "host";

    /// <summary>Where the tests may open /dev/kvm: a throw-away guest, or a host that asked for it explicitly
    /// (KVM_TEST_LANE=host), so a stray run on a developer's machine never pokes its KVM by accident.</summary>
    public static bool CanUseKvm => InGuest || IsHostLane;

    /// <summary>An arm64 process (the arm64 lanes).</summary>
    public static bool IsArm64 { get; } =
        System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64;

    public static bool AtLeast(int major, int minor) => Version >= new Version(major, minor);

    private static Version ParseVersion(string release)
    {
        var parts = new string(release.TakeWhile(c => char.IsDigit(c) || c == '.').ToArray()).Split('.', StringSplitOptions.RemoveEmptyEntries);
        return new Version(int.Parse(parts[0]), parts.Length > 1 ? int.Parse(parts[1]) : 0, parts.Length > 2 ? int.Parse(parts[2]) : 0);
    }
}
